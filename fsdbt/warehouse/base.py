"""What fsdbt needs from a warehouse: run SQL, stream Arrow, read its catalog, load a table.

Capabilities are plain data; each engine lives in its own module, which alone imports
its driver. SQL is built by callers as sqlglot trees and rendered for ``DIALECT``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from typing import Any, ClassVar

import pyarrow as pa

from fsdbt.definitions import Column, Relation


class Warehouse(ABC):
    DIALECT: ClassVar[str]
    SUPPORTS_ASOF: ClassVar[bool] = False
    # How the engine folds unquoted identifiers (Snowflake: upper; Postgres/DuckDB: lower).
    FOLDS_TO_UPPER: ClassVar[bool] = False

    @abstractmethod
    def query_arrow(self, sql: str) -> pa.Table:
        """Run a query and return the whole result."""

    @abstractmethod
    def stream_arrow(self, sql: str, batch_size: int = 65_536) -> Iterator[pa.RecordBatch]:
        """Run a query and yield its result in batches, holding at most about one batch in memory."""

    @abstractmethod
    def execute(self, sql: str) -> None:
        """Run a statement that returns nothing."""

    @abstractmethod
    def columns(self, relations: Sequence[Relation]) -> dict[str, list[Column]]:
        """The columns of each relation that exists, keyed by ``catalog_key(relation)``."""

    @abstractmethod
    def load_arrow(self, table: pa.Table | pa.RecordBatchReader, relation: Relation, *,
                   temporary: bool = False) -> None:
        """Create (or replace) ``relation`` with the rows of ``table``."""

    @abstractmethod
    def column_type(self, dtype: pa.DataType) -> str:
        """The engine's column type for an Arrow type, as ``load_arrow`` creates it."""

    def register_arrow(self, name: str, table: Any) -> Relation:
        """Make an in-memory table visible to SQL; engines without zero-copy upload it."""
        relation = Relation(None, None, name)
        self.load_arrow(table if isinstance(table, (pa.Table, pa.RecordBatchReader))
                        else pa.Table.from_pandas(table, preserve_index=False), relation, temporary=True)
        return relation

    def close(self) -> None:  # noqa: B027 - optional for engines that hold nothing
        """Release the connection."""

    def __enter__(self) -> Warehouse:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
