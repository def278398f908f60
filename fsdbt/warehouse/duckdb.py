"""DuckDB, the embedded default warehouse."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import duckdb
import pyarrow as pa
from sqlglot import exp

from fsdbt.definitions import Column, Relation
from fsdbt.dtypes import normalize
from fsdbt.errors import WarehouseError
from fsdbt.registry import catalog_key
from fsdbt.warehouse.base import Warehouse


class DuckDBWarehouse(Warehouse):
    DIALECT = "duckdb"
    SUPPORTS_ASOF = True

    def __init__(self, path: str, *, read_only: bool = True, settings: Mapping[str, Any] | None = None) -> None:
        self.path = path
        self.read_only = read_only and path != ":memory:"
        if self.read_only and not os.path.exists(path):
            raise WarehouseError(f"no DuckDB file at {path}: build the project first (`dbt build`)")
        try:
            try:
                self.con = duckdb.connect(path, read_only=self.read_only)
            except duckdb.ConnectionException:
                # This process already holds the file read-write (dbt-duckdb run in-process):
                # DuckDB then allows only the same configuration.
                self.con = duckdb.connect(path, read_only=False)
                self.read_only = False
        except duckdb.IOException as exc:
            if "lock" in str(exc).lower():
                raise WarehouseError(
                    f"the DuckDB file {path} is in use by another process (a running `dbt build`?); "
                    f"DuckDB allows one writer at a time: wait for it to finish and run again") from None
            raise WarehouseError(f"cannot open the DuckDB file {path}: {exc}") from None
        self.con.execute("SET TimeZone = 'UTC'")
        threads = (settings or {}).get("threads")
        if threads:
            self.con.execute(f"SET threads = {int(threads)}")

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any], *, read_only: bool = True) -> DuckDBWarehouse:
        return cls(str(settings.get("path", ":memory:")), read_only=read_only, settings=settings)

    def _run(self, sql: str) -> duckdb.DuckDBPyConnection:
        try:
            return self.con.execute(sql)
        except duckdb.Error as exc:
            raise WarehouseError(f"DuckDB ({self.path}) refused a query: {exc}") from None

    def query_arrow(self, sql: str) -> pa.Table:
        try:
            return self.con.sql(sql).to_arrow_table()
        except duckdb.Error as exc:
            raise WarehouseError(f"DuckDB ({self.path}) refused a query: {exc}") from None

    def stream_arrow(self, sql: str, batch_size: int = 65_536) -> Iterator[pa.RecordBatch]:
        try:
            reader = self.con.sql(sql).to_arrow_reader(batch_size)
        except duckdb.Error as exc:
            raise WarehouseError(f"DuckDB ({self.path}) refused a query: {exc}") from None
        try:
            yield from reader
        except (duckdb.Error, pa.ArrowException) as exc:  # an error while the result streams
            raise WarehouseError(f"DuckDB ({self.path}) failed while streaming a result: {exc}") from None

    def execute(self, sql: str) -> None:
        self._run(sql)

    def columns(self, relations: Sequence[Relation]) -> dict[str, list[Column]]:
        found: dict[str, list[Column]] = {}
        for relation in relations:
            query = (
                "select column_name, data_type from information_schema.columns "
                "where table_name = ? and (? is null or table_schema = ?) "
                "and (? is null or table_catalog = ?) order by ordinal_position"
            )
            rows = self.con.execute(query, [relation.identifier, relation.schema, relation.schema,
                                            relation.database, relation.database]).fetchall()
            if rows:
                found[catalog_key(relation)] = [Column(name, normalize(dtype), dtype) for name, dtype in rows]
        return found

    def column_type(self, dtype: pa.DataType) -> str:
        # DuckDB's own reading of an empty Arrow column: the type load_arrow creates.
        return str(self.con.from_arrow(pa.table({"c": pa.array([], dtype)})).types[0])

    def load_arrow(self, table: pa.Table | pa.RecordBatchReader, relation: Relation, *,
                   temporary: bool = False) -> None:
        if temporary and not relation.schema:
            # Zero copy: DuckDB scans the Arrow data in place.
            self.con.register(relation.identifier, table)
            return
        name = exp.table_(relation.identifier, db=relation.schema, catalog=relation.database, quoted=True)
        view = "__fsdbt_load"
        self.con.register(view, table)
        try:
            if relation.schema:
                schema = exp.table_(relation.schema, db=relation.database, quoted=True).sql("duckdb")
                self._run(f"create schema if not exists {schema}")
            self._run(f"create or replace table {name.sql('duckdb')} as select * from {view}")
        finally:
            self.con.unregister(view)

    def close(self) -> None:
        self.con.close()
