"""Snowflake: results stream as Arrow batches from the connector; uploads go through write_pandas."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import pyarrow as pa
import snowflake.connector
from snowflake.connector.errors import Error as SnowflakeError
from sqlglot import exp

from fsdbt.definitions import Column, Relation
from fsdbt.dtypes import normalize
from fsdbt.errors import WarehouseError
from fsdbt.registry import catalog_key
from fsdbt.sqlnames import ident
from fsdbt.sqlnames import normalize as normalize_name
from fsdbt.sqlnames import table as table_name
from fsdbt.warehouse.base import Warehouse

# Profile keys (dbt-snowflake names) passed to the connector as they are.
_CONNECT_KEYS = ("account", "user", "password", "role", "database", "warehouse", "schema", "host", "port",
                 "protocol", "authenticator", "private_key_path", "token", "login_timeout")


_INSERT_ROWS = 16_384  # above this, a staged COPY is faster than bound INSERTs


def _sf_type(dtype: pa.DataType) -> str:
    if pa.types.is_boolean(dtype):
        return "boolean"
    if pa.types.is_integer(dtype):
        return "number(38, 0)"
    if pa.types.is_floating(dtype):
        return "float"
    if pa.types.is_decimal(dtype):
        return f"number({dtype.precision}, {dtype.scale})"
    if pa.types.is_timestamp(dtype):
        return "timestamp_tz" if dtype.tz else "timestamp_ntz"
    if pa.types.is_date(dtype):
        return "date"
    return "varchar"


class SnowflakeWarehouse(Warehouse):
    DIALECT = "snowflake"
    SUPPORTS_ASOF = True
    FOLDS_TO_UPPER = True

    def __init__(self, settings: Mapping[str, Any]) -> None:
        self.where = f"account {settings.get('account')}, database {settings.get('database')}"
        kwargs = {k: settings[k] for k in _CONNECT_KEYS if settings.get(k) not in (None, "")}
        kwargs.setdefault("login_timeout", 30)
        # Sessions compare and render times in UTC (docs/types-and-time.md).
        kwargs["session_parameters"] = {"TIMEZONE": "UTC"}
        self._secret = str(settings.get("password") or "")
        try:
            self.con = snowflake.connector.connect(**kwargs)
        except SnowflakeError as exc:
            raise WarehouseError(f"cannot connect to Snowflake ({self.where}): {self._scrub(exc)}") from None

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> SnowflakeWarehouse:
        return cls(settings)

    def _scrub(self, exc: Exception) -> str:
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return text.replace(self._secret, "***") if self._secret else text

    def execute(self, sql: str) -> None:
        try:
            self.con.cursor().execute(sql)
        except SnowflakeError as exc:
            raise WarehouseError(f"Snowflake ({self.where}) refused a query: {self._scrub(exc)}") from None

    def query_arrow(self, sql: str) -> pa.Table:
        batches = list(self.stream_arrow(sql))
        if not batches:
            return pa.table({})
        return pa.Table.from_batches(batches)

    def stream_arrow(self, sql: str, batch_size: int = 65_536) -> Iterator[pa.RecordBatch]:
        try:
            cur = self.con.cursor()
            cur.execute(sql)
            empty = True
            for table in cur.fetch_arrow_batches():
                for batch in table.to_batches(max_chunksize=batch_size):
                    empty = False
                    yield batch
            if empty:
                names = [d.name for d in cur.description or []]
                yield pa.RecordBatch.from_pylist([], schema=pa.schema([(n, pa.null()) for n in names]))
        except SnowflakeError as exc:
            raise WarehouseError(f"Snowflake ({self.where}) refused a query: {self._scrub(exc)}") from None

    def columns(self, relations: Sequence[Relation]) -> dict[str, list[Column]]:
        found: dict[str, list[Column]] = {}
        cur = self.con.cursor()
        for relation in relations:
            database = normalize_name(relation.database, "snowflake") if relation.database else None
            schema = normalize_name(relation.schema or "", "snowflake")
            name = normalize_name(relation.identifier, "snowflake")
            prefix = f"{ident(database, 'snowflake').sql('snowflake')}." if database else ""
            try:
                cur.execute(f"select column_name, data_type from {prefix}information_schema.columns "
                            f"where table_schema = %s and table_name = %s order by ordinal_position", (schema, name))
                rows = cur.fetchall()
            except SnowflakeError:
                continue
            if rows:
                found[catalog_key(relation)] = [Column(str(n).lower() if str(n).isupper() else str(n),
                                                       normalize(str(t)), str(t)) for n, t in rows]
        return found

    def column_type(self, dtype: pa.DataType) -> str:
        return _sf_type(dtype)

    def load_arrow(self, table: pa.Table | pa.RecordBatchReader, relation: Relation, *,
                   temporary: bool = False) -> None:
        """Create the table from the Arrow schema, then load it: bound INSERTs for small
        tables, ``write_pandas`` (a staged COPY) for large ones."""
        if isinstance(table, pa.RecordBatchReader):
            table = table.read_all()
        name = table_name(relation, "snowflake")  # folded like the tables dbt creates
        columns = ", ".join(f"{exp.to_identifier(f.name, quoted=True).sql('snowflake')} {_sf_type(f.type)}"
                            for f in table.schema)
        kind = "temporary table" if temporary else "table"
        try:
            cur = self.con.cursor()
            cur.execute(f"create or replace {kind} {name.sql('snowflake')} ({columns})")
            if table.num_rows > _INSERT_ROWS:
                from snowflake.connector.pandas_tools import write_pandas

                write_pandas(self.con, table.to_pandas(), name.name, schema=name.db or None,
                             database=name.catalog or None, quote_identifiers=True, use_logical_type=True)
            elif table.num_rows:
                marks = ", ".join("%s" for _ in table.schema)
                rows = [tuple(r.values()) for r in table.to_pylist()]
                cur.executemany(f"insert into {name.sql('snowflake')} values ({marks})", rows)
        except SnowflakeError as exc:
            raise WarehouseError(f"Snowflake ({self.where}) refused to load {relation}: {self._scrub(exc)}") from None

    def close(self) -> None:
        self.con.close()
