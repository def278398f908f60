"""PostgreSQL: a server-side cursor streams results in bounded memory."""

from __future__ import annotations

import io
import itertools
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import psycopg2
import psycopg2.extensions
import pyarrow as pa
import pyarrow.csv as pacsv
from sqlglot import exp

from fsdbt.definitions import Column, Relation
from fsdbt.dtypes import normalize
from fsdbt.errors import WarehouseError
from fsdbt.registry import catalog_key
from fsdbt.warehouse.base import Warehouse

# Postgres type OIDs -> Arrow types, for building batches from cursor rows.
_OID_TYPES: dict[int, pa.DataType] = {
    16: pa.bool_(), 20: pa.int64(), 21: pa.int16(), 23: pa.int32(), 700: pa.float32(),
    701: pa.float64(), 25: pa.string(), 1043: pa.string(), 1042: pa.string(), 1082: pa.date32(),
    1114: pa.timestamp("us"), 1184: pa.timestamp("us", tz="UTC"), 1700: pa.float64(), 2950: pa.string(),
}
_cursor_ids = itertools.count()


class PostgresWarehouse(Warehouse):
    DIALECT = "postgres"

    def __init__(self, settings: Mapping[str, Any]) -> None:
        self.where = f"{settings.get('host', 'localhost')}:{settings.get('port', 5432)}/{settings.get('dbname')}"
        try:
            self.con = psycopg2.connect(
                host=settings.get("host"), port=settings.get("port", 5432), user=settings.get("user"),
                password=settings.get("password") or None, dbname=settings.get("dbname"),
                connect_timeout=int(settings.get("connect_timeout", 10)),
                options="-c TimeZone=UTC",
            )
        except psycopg2.OperationalError as exc:
            # psycopg2's message can echo the connection string; keep only its first line.
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else "connection refused"
            raise WarehouseError(f"cannot connect to PostgreSQL at {self.where}: {_scrub(first, settings)}") from None
        self.con.autocommit = True

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> PostgresWarehouse:
        return cls(settings)

    def _fail(self, exc: Exception) -> WarehouseError:
        return WarehouseError(f"PostgreSQL ({self.where}) refused a query: {str(exc).strip()}")

    def execute(self, sql: str) -> None:
        try:
            with self.con.cursor() as cur:
                cur.execute(sql)
        except psycopg2.Error as exc:
            raise self._fail(exc) from None

    def query_arrow(self, sql: str) -> pa.Table:
        batches = list(self.stream_arrow(sql))
        if not batches:
            return pa.table({})
        return pa.Table.from_batches(batches)

    def stream_arrow(self, sql: str, batch_size: int = 65_536) -> Iterator[pa.RecordBatch]:
        # A named (server-side) cursor needs a transaction; run it on its own connection state.
        self.con.autocommit = False
        try:
            with self.con.cursor(name=f"fsdbt_{next(_cursor_ids)}") as cur:
                cur.itersize = batch_size
                cur.execute(sql)
                first = cur.fetchmany(batch_size)
                schema = pa.schema([(d.name, _arrow_type(d)) for d in cur.description or []])
                rows = first
                while rows:
                    yield _batch(rows, schema)
                    rows = cur.fetchmany(batch_size)
                if not first:
                    yield pa.RecordBatch.from_pylist([], schema=schema)
            self.con.commit()
        except psycopg2.Error as exc:
            self.con.rollback()
            raise self._fail(exc) from None
        finally:
            self.con.autocommit = True

    def columns(self, relations: Sequence[Relation]) -> dict[str, list[Column]]:
        found: dict[str, list[Column]] = {}
        query = ("select column_name, data_type from information_schema.columns "
                 "where table_name = %s and (%s is null or table_schema = %s) order by ordinal_position")
        with self.con.cursor() as cur:
            for relation in relations:
                cur.execute(query, (relation.identifier, relation.schema, relation.schema))
                rows = cur.fetchall()
                if rows:
                    found[catalog_key(relation)] = [Column(n, normalize(t), t) for n, t in rows]
        return found

    def column_type(self, dtype: pa.DataType) -> str:
        return _pg_type(dtype)

    def load_arrow(self, table: pa.Table | pa.RecordBatchReader, relation: Relation, *,
                   temporary: bool = False) -> None:
        if isinstance(table, pa.RecordBatchReader):
            table = table.read_all()
        name = exp.table_(relation.identifier, db=None if temporary else relation.schema, quoted=True)
        columns = ", ".join(
            f"{exp.to_identifier(f.name, quoted=True).sql('postgres')} {_pg_type(f.type)}" for f in table.schema
        )
        try:
            with self.con.cursor() as cur:
                if relation.schema and not temporary:
                    schema = exp.to_identifier(relation.schema, quoted=True).sql("postgres")
                    cur.execute(f"create schema if not exists {schema}")
                cur.execute(f"drop table if exists {name.sql('postgres')}")
                kind = "temporary table" if temporary else "table"
                cur.execute(f"create {kind} {name.sql('postgres')} ({columns})")
                buf = io.BytesIO()
                pacsv.write_csv(table, buf, pacsv.WriteOptions(include_header=False, quoting_style="needed"))
                buf.seek(0)
                cur.copy_expert(f"copy {name.sql('postgres')} from stdin with (format csv, null '')", buf)
        except psycopg2.Error as exc:
            raise self._fail(exc) from None

    def close(self) -> None:
        self.con.close()


def _arrow_type(column: Any) -> pa.DataType:
    """The Arrow type of a result column. ``numeric(p, s)`` is an exact decimal, as DuckDB and
    Snowflake return it; an unconstrained ``numeric`` (no precision to build a decimal type
    from) is read as float64 (see ``_batch``)."""
    if column.type_code == 1700 and column.precision is not None and 0 <= column.scale <= column.precision <= 76:
        return pa.decimal128(column.precision, column.scale) if column.precision <= 38 else \
            pa.decimal256(column.precision, column.scale)
    return _OID_TYPES.get(column.type_code, pa.string())


def _pg_type(dtype: pa.DataType) -> str:
    if pa.types.is_boolean(dtype):
        return "boolean"
    if pa.types.is_integer(dtype):
        return "bigint"
    if pa.types.is_floating(dtype):
        return "double precision"
    if pa.types.is_decimal(dtype):
        return f"numeric({dtype.precision}, {dtype.scale})"
    if pa.types.is_timestamp(dtype):
        return "timestamptz" if dtype.tz else "timestamp"
    if pa.types.is_date(dtype):
        return "date"
    return "text"


def _batch(rows: list[tuple[Any, ...]], schema: pa.Schema) -> pa.RecordBatch:
    columns: list[tuple[Any, ...]] = list(zip(*rows)) if rows else [() for _ in schema]
    arrays = []
    for values, field in zip(columns, schema):
        try:
            arrays.append(pa.array(values, type=field.type))
            continue
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            pass
        if pa.types.is_floating(field.type):
            # An unconstrained numeric (avg(), a bare `numeric` column) arrives as Decimal: read it
            # as a double, as DuckDB and Snowflake return such results, rather than as text.
            try:
                arrays.append(pa.array([None if v is None else float(v) for v in values], type=field.type))
                continue
            except (TypeError, ValueError, pa.ArrowInvalid):
                pass
        arrays.append(pa.array([None if v is None else str(v) for v in values], type=pa.string()))
    return pa.RecordBatch.from_arrays(arrays, names=schema.names)


def _scrub(text: str, settings: Mapping[str, Any]) -> str:
    password = settings.get("password")
    return text.replace(str(password), "***") if password else text
