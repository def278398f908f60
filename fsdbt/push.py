"""Push ingestion: rows validated against a feature view, written online and to the offline log.

A push carries whole rows of one feature view: its entity keys, its event timestamp, every
feature (NULL where unknown) and optionally its created timestamp (filled with the push time
when absent). The online write is the store's conditional upsert, so an older row never
replaces a newer one. The offline side keeps every pushed row durably where the warehouse
reads it (``docs/decisions/0005-push-log.md``):

- DuckDB: append-only Parquet files under ``<push log dir>/<view>/``, one per push, written to
  a temporary name, fsynced and renamed, so a reader sees whole files or none. No process
  holds the DuckDB file, which allows one writer only.
- PostgreSQL, Snowflake: rows appended to the table ``fsdbt_push_<view>`` beside the view.

The dbt macro ``fsdbt.pushed_rows('view')`` reads either back, so a feature view model that
``union all``s it sees the pushed rows on its next ``dbt build``.

>>> from fsdbt import FeatureStore                                  # doctest: +SKIP
>>> FeatureStore(".").push("driver_hourly_stats", rows, to="online_and_offline")  # doctest: +SKIP
PushResult(view='driver_hourly_stats', rows=1, to='online_and_offline', written=1, skipped=0, ...)
"""

from __future__ import annotations

import contextlib
import math
import os
import threading
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from decimal import Decimal, InvalidOperation
from numbers import Integral, Real
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from fsdbt.definitions import FeatureView, Relation
from fsdbt.dtypes import DType
from fsdbt.errors import ConfigError, WarehouseError, a_or_an, did_you_mean, hint, one_of

if TYPE_CHECKING:
    from fsdbt.online.base import OnlineStore
    from fsdbt.project import DbtProject
    from fsdbt.registry import Registry
    from fsdbt.warehouse.base import Warehouse

PUSH_TARGETS = ("online", "offline", "online_and_offline")
PUSH_LOG_ENV = "FSDBT_PUSH_LOG_DIR"
PUSH_LOG_VAR = "fsdbt_push_log_dir"
PUSH_TABLE_PREFIX = "fsdbt_push_"
# Suffixes Feast users give push sources; ``<view>_push_source`` names the view ``<view>``.
PUSH_ALIASES = ("_push_source", "_push")

_ARROW: dict[DType, pa.DataType] = {
    DType.INT: pa.int64(),
    DType.FLOAT: pa.float64(),
    DType.STRING: pa.string(),
    DType.BOOL: pa.bool_(),
    DType.TIMESTAMP: pa.timestamp("us"),  # naive UTC, as everywhere in fsdbt
    DType.DATE: pa.date32(),
    DType.DECIMAL: pa.string(),  # exact text; the reading side casts to the column's type
    DType.UNKNOWN: pa.string(),
}


class PushError(ConfigError):
    """A pushed row breaks the view's schema; ``row`` and ``column`` say where (None: not one)."""

    exit_code = 2

    def __init__(self, message: str, *, column: str | None = None, row: int | None = None) -> None:
        super().__init__(message)
        self.column = column
        self.row = row

    @property
    def field(self) -> str:
        if self.column is None:
            return "df"
        return f"df.{self.column}" + (f"[{self.row}]" if self.row is not None else "")


@dataclass(frozen=True)
class PushResult:
    """What a push did: rows accepted, online rows written/skipped (older or identical), offline location."""

    view: str
    rows: int
    to: str
    written: int = 0
    skipped: int = 0
    offline: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"view": self.view, "rows": self.rows, "to": self.to, "online_written": self.written,
                "online_skipped": self.skipped, "offline": self.offline}


# -- naming --------------------------------------------------------------------------------------

def resolve_view(registry: Registry, name: str) -> FeatureView:
    """The view a push names: the view itself, or a Feast-style ``<view>_push_source`` / ``<view>_push``."""
    if name in registry.views:
        return registry.views[name]
    for suffix in PUSH_ALIASES:
        if name.endswith(suffix) and name[: -len(suffix)] in registry.views:
            return registry.views[name[: -len(suffix)]]
    raise PushError(f"unknown feature view or push source '{name}'"
                    f"{hint(name, registry.views, 'Known views')} (a push source may also be named "
                    f"'<view>_push_source')")


def check_target(to: str) -> str:
    if to not in PUSH_TARGETS:
        raise PushError(f"'to' must be one of {one_of(PUSH_TARGETS)}; got {to!r}{did_you_mean(str(to), PUSH_TARGETS)}")
    return to


# -- input shapes --------------------------------------------------------------------------------

def as_columns(rows: Any) -> dict[str, list[Any]]:
    """Rows as ``{column: values}`` from a DataFrame, Arrow table/batch, list of dicts or a columnar dict."""
    if isinstance(rows, (pa.Table, pa.RecordBatch)):
        return {name: rows.column(name).to_pylist() for name in rows.schema.names}
    if type(rows).__module__.startswith("pandas") and hasattr(rows, "columns"):
        return as_columns(pa.Table.from_pandas(rows, preserve_index=False))
    if isinstance(rows, Mapping):
        columns: dict[str, list[Any]] = {}
        for name, values in rows.items():
            if not isinstance(name, str):
                raise PushError(f"column names must be strings; got {name!r}")
            if isinstance(values, (str, bytes)) or not isinstance(values, Sequence):
                raise PushError(f"column '{name}' must be a list of values (one per row); got "
                                f"{type(values).__name__}", column=name)
            columns[name] = list(values)
        lengths = {len(v) for v in columns.values()}
        if len(lengths) > 1:
            raise PushError("the columns have different lengths: "
                            + ", ".join(f"{k}={len(v)}" for k, v in columns.items()))
        return columns
    if isinstance(rows, Sequence) and not isinstance(rows, (str, bytes)):
        names: dict[str, None] = {}
        for i, row in enumerate(rows):
            if not isinstance(row, Mapping):
                raise PushError(f"row {i} must be an object of column: value; got {type(row).__name__}", row=i)
            for key in row:
                names.setdefault(key, None)
        return {name: [row.get(name) for row in rows] for name in names}
    raise PushError(f"rows must be a pandas DataFrame, an Arrow table, a list of dicts or a dict of "
                    f"columns; got {type(rows).__name__}")


# -- validation ----------------------------------------------------------------------------------

def _int(value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError("a bool is not an integer")
    if isinstance(value, Integral):
        return int(value)
    if isinstance(value, float):
        if not math.isfinite(value) or not value.is_integer():
            raise ValueError("not a whole number")
        return int(value)
    if isinstance(value, Decimal):
        if not value.is_finite() or value != value.to_integral_value():
            raise ValueError("not a whole number")
        return int(value)
    if isinstance(value, str):
        return int(value.strip())
    raise ValueError(f"expected an integer, got {type(value).__name__}")


def _float(value: Any) -> float:
    if isinstance(value, bool):
        raise ValueError("a bool is not a number")
    if isinstance(value, (Real, Decimal)):
        return float(value)
    if isinstance(value, str):
        return float(value.strip())
    raise ValueError(f"expected a number, got {type(value).__name__}")


def _string(value: Any) -> str:
    if isinstance(value, str):
        return value
    raise ValueError(f"expected a string, got {type(value).__name__}")


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if type(value).__name__ == "bool_":  # numpy
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise ValueError(f"expected true or false, got {value!r}")


def _timestamp(value: Any) -> datetime:
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str):
        text = value.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        parsed = datetime.fromisoformat(text)
    elif isinstance(value, date):
        parsed = datetime(value.year, value.month, value.day)
    else:
        raise ValueError(f"expected an ISO 8601 timestamp string, got {type(value).__name__}")
    # Naive means UTC; an offset is converted to UTC. Stored naive, like every fsdbt timestamp.
    return parsed.astimezone(timezone.utc).replace(tzinfo=None) if parsed.tzinfo else parsed


def _date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        return date.fromisoformat(value.strip())
    raise ValueError(f"expected an ISO 8601 date string, got {type(value).__name__}")


def _decimal(value: Any) -> str:
    if isinstance(value, bool):
        raise ValueError("a bool is not a number")
    try:
        number = Decimal(str(value).strip()) if isinstance(value, (Real, Decimal, str)) else None
    except InvalidOperation:
        raise ValueError(f"not a decimal number: {value!r}") from None
    if number is None or not number.is_finite():
        raise ValueError(f"expected a finite decimal number, got {value!r}")
    return format(number, "f")


def _unknown(value: Any) -> str:
    if isinstance(value, (dict, list, tuple, set, bytes)):
        raise ValueError(f"expected a scalar, got {type(value).__name__}")
    return value if isinstance(value, str) else str(value)


_CONVERT = {
    DType.INT: _int, DType.FLOAT: _float, DType.STRING: _string, DType.BOOL: _bool,
    DType.TIMESTAMP: _timestamp, DType.DATE: _date, DType.DECIMAL: _decimal, DType.UNKNOWN: _unknown,
}


def _is_null(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or \
        type(value).__name__ in ("NaTType", "NAType")


def validate(view: FeatureView, rows: Any, *, now: datetime | None = None,
             max_rows: int | None = None) -> pa.Table:
    """Check ``rows`` against the view and return them as a typed Arrow table in the view's column order.

    Raises :class:`PushError` naming the first bad row and column.
    """
    columns = as_columns(rows)
    count = len(next(iter(columns.values()), []))
    if max_rows is not None and count > max_rows:
        raise PushError(f"a push holds at most {max_rows:,} rows; got {count:,}: split it into smaller pushes")
    known = [c.name for c in view.columns]
    for name in columns:
        if name not in known:
            raise PushError(f"feature view '{view.name}' has no column '{name}'{did_you_mean(name, known)}; "
                            f"columns: {one_of(known, limit=40)}", column=name)
    required = [*view.entities, view.timestamp, *view.feature_names]
    for name in required:
        if name not in columns:
            what = ("join key" if name in view.entities else "event timestamp" if name == view.timestamp
                    else "feature")
            raise PushError(f"the push lacks the {what} column '{name}' of view '{view.name}'; a push carries "
                            f"whole rows (a row replaces the stored one whole): send every feature, null "
                            f"where unknown", column=name)
    stamp = (now or datetime.now(timezone.utc)).astimezone(timezone.utc).replace(tzinfo=None)
    not_null = {*view.entities, view.timestamp}
    arrays: dict[str, pa.Array] = {}
    for col in view.columns:
        name = col.name
        dtype = DType.TIMESTAMP if name in (view.timestamp, view.created_timestamp) and \
            col.dtype not in (DType.TIMESTAMP, DType.DATE) else col.dtype
        convert = _CONVERT[dtype]
        raw = columns.get(name)
        if raw is None:  # only the created timestamp may be absent: it is the push time
            values: list[Any] = [stamp] * count
        else:
            values = []
            for i, value in enumerate(raw):
                if _is_null(value):
                    if name in not_null:
                        raise PushError(f"row {i}: '{name}' is null; join keys and the event timestamp are "
                                        f"required", column=name, row=i)
                    values.append(stamp if name == view.created_timestamp else None)
                    continue
                try:
                    values.append(convert(value))
                except (ValueError, TypeError, ArithmeticError) as exc:  # decimal errors are ArithmeticErrors
                    raise PushError(f"row {i}: column '{name}' must be {a_or_an(str(dtype))} value "
                                    f"({col.data_type or dtype}): {exc}", column=name, row=i) from None
        try:
            arrays[name] = pa.array(values, _ARROW[dtype])
        except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError) as exc:
            raise PushError(f"column '{name}': {exc}", column=name) from None
    return pa.table(arrays)


# -- the offline log -----------------------------------------------------------------------------

def push_log_dir(project: DbtProject) -> Path:
    """Where pushed rows go on DuckDB: ``$FSDBT_PUSH_LOG_DIR``, the dbt var ``fsdbt_push_log_dir``
    in ``dbt_project.yml``, or ``<project>/push_log``; a relative path is under the project."""
    base = os.environ.get(PUSH_LOG_ENV) or _project_var(project) or "push_log"
    path = Path(base)
    return path if path.is_absolute() else project.root / path


def _project_var(project: DbtProject) -> str | None:
    import yaml

    try:
        with open(project.root / "dbt_project.yml", encoding="utf-8") as fh:
            raw = yaml.safe_load(fh) or {}
    except (OSError, yaml.YAMLError):
        return None
    value = (raw.get("vars") or {}).get(PUSH_LOG_VAR) if isinstance(raw, dict) else None
    return str(value) if value else None


class PushLog:
    """Append-only Parquet files, one per push, under ``<root>/<view>/``; safe across processes."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    def view_dir(self, view_name: str) -> Path:
        if not view_name or "/" in view_name or "\\" in view_name or view_name.startswith("."):
            raise PushError(f"view name {view_name!r} cannot name a push-log directory")
        return self.root / view_name

    def append(self, view_name: str, table: pa.Table) -> Path:
        """Write ``table`` as a new file: temporary name, fsync, rename, fsync the directory."""
        import pyarrow.parquet as pq

        folder = self.view_dir(view_name)
        folder.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
        name = f"{stamp}-{os.getpid()}-{uuid.uuid4().hex[:12]}.parquet"
        final = folder / name
        tmp = folder / f".{name}.tmp"  # not matched by *.parquet: readers never see it
        try:
            with open(tmp, "wb") as fh:
                pq.write_table(table, fh, compression="zstd")
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, final)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        _fsync_dir(folder)
        return final

    def files(self, view_name: str) -> list[Path]:
        folder = self.view_dir(view_name)
        return sorted(folder.glob("*.parquet")) if folder.is_dir() else []

    def views(self) -> list[str]:
        """The views with a push-log directory."""
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir() if p.is_dir() and not p.name.startswith("."))

    def compact(self, view_name: str) -> CompactResult:
        """Merge a view's files into one, so that reads open one file instead of one per push.

        The merged file is written under a temporary name, fsynced and renamed in; then the files
        it holds are removed. ``fsdbt.pushed_rows`` globs the directory when the model runs: in
        between it may see a row twice, and it reads distinct rows. Pushes that land meanwhile
        are new files, left for the next compaction. Columns are unified across files (a column
        a file lacks is NULL there); a file that cannot be read stops it before anything changes.
        """
        import fcntl

        import pyarrow.parquet as pq

        folder = self.view_dir(view_name)
        files = self.files(view_name)
        if len(files) < 2:
            return CompactResult(view_name, len(files), len(files), None)
        with open(folder / ".compact.lock", "w") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                raise PushError(f"another compaction of the push log of '{view_name}' ({folder}) is "
                                f"running; run again when it has finished") from None
            files = [f for f in self.files(view_name) if f.exists()]  # as they are now we hold the lock
            if len(files) < 2:
                return CompactResult(view_name, len(files), len(files), None)
            schemas = []
            for path in files:
                try:
                    schemas.append(pq.read_schema(path))
                except (OSError, pa.ArrowException) as exc:
                    raise PushError(f"push log file {path} cannot be read ({exc}); move it out of {folder} "
                                    f"and compact again (nothing was changed)") from None
            try:
                schema = pa.unify_schemas(schemas, promote_options="permissive")
            except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
                raise PushError(f"the push log files of '{view_name}' in {folder} disagree on a column's "
                                f"type ({exc}); nothing was changed") from None
            stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
            final = folder / f"{stamp}-compacted-{uuid.uuid4().hex[:12]}.parquet"
            tmp = folder / f".{final.name}.tmp"
            rows = 0
            try:
                with open(tmp, "wb") as fh:
                    with pq.ParquetWriter(fh, schema, compression="zstd") as writer:
                        for path in files:
                            for batch in pq.ParquetFile(path).iter_batches(batch_size=65_536):
                                writer.write_table(_conform(pa.Table.from_batches([batch]), schema))
                                rows += batch.num_rows
                    fh.flush()
                    os.fsync(fh.fileno())
                os.replace(tmp, final)
            except BaseException:
                tmp.unlink(missing_ok=True)
                raise
            _fsync_dir(folder)
            for path in files:
                path.unlink(missing_ok=True)
            _fsync_dir(folder)
        return CompactResult(view_name, len(files), 1, str(final), rows)


@dataclass(frozen=True)
class CompactResult:
    """A compaction of one view's push log: files before and after, the merged file, rows in it."""

    view: str
    files_before: int
    files_after: int
    merged: str | None
    rows: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {"view": self.view, "files_before": self.files_before, "files_after": self.files_after,
                "merged": self.merged, "rows": self.rows}


def _conform(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """``table`` with ``schema``'s columns, in its order and types (NULL where it has none)."""
    columns = []
    for f in schema:
        if f.name in table.column_names:
            column = table.column(f.name)
            columns.append(column if column.type == f.type else column.cast(f.type))
        else:
            columns.append(pa.nulls(len(table), f.type))
    return pa.Table.from_arrays(columns, schema=schema)


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def push_table_relation(view: FeatureView) -> Relation:
    """The warehouse table pushed rows are appended to on engines with many writers."""
    return Relation(view.relation.database, view.relation.schema, f"{PUSH_TABLE_PREFIX}{view.name}")


def append_to_warehouse(warehouse: Warehouse, view: FeatureView, table: pa.Table) -> Relation:
    """Append rows to ``fsdbt_push_<view>`` (created on first use) through a temporary table.

    Names are written as dbt writes the view's own (``fsdbt.sqlnames``): on Snowflake a plain
    name is folded to upper case, so the table is ``FSDBT_PUSH_<VIEW>`` with ``DRIVER_ID``-style
    columns, which ``adapter.get_relation`` in ``fsdbt.pushed_rows`` and unquoted column names
    in the view's model find; a quoted lower-case name would be another object there.
    """
    from sqlglot import exp

    from fsdbt.sqlnames import ident, normalize
    from fsdbt.sqlnames import table as table_name

    target = push_table_relation(view)
    staging = Relation(None, None, f"fsdbt_push_stage_{uuid.uuid4().hex[:12]}")
    dialect = warehouse.DIALECT
    names = [normalize(c, dialect) for c in table.schema.names]
    name = table_name(target, dialect).sql(dialect)
    stage = table_name(staging, dialect).sql(dialect)
    cols = ", ".join(ident(c, dialect).sql(dialect) for c in names)
    if target.schema:
        # PostgreSQL's CREATE SCHEMA takes no database part (a connection is one database).
        database = ident(target.database, dialect) if target.database and dialect != "postgres" else None
        schema = exp.Table(this=ident(target.schema, dialect), db=database).sql(dialect)
        warehouse.execute(f"create schema if not exists {schema}")
    try:
        warehouse.load_arrow(table.rename_columns(names), staging, temporary=True)
        existing = _push_table_columns(warehouse, target)
        if not existing:
            try:
                warehouse.execute(f"create table if not exists {name} as select {cols} from {stage} where 1 = 0")
            except WarehouseError:
                if not _push_table_columns(warehouse, target):  # not a race with another first push
                    raise
        # The view gained a column since the table was made: add it (older rows read NULL).
        for column, dtype in zip(names, table.schema.types):
            if existing and column.lower() not in existing:
                warehouse.execute(f"alter table {name} add column if not exists "
                                  f"{ident(column, dialect).sql(dialect)} {warehouse.column_type(dtype)}")
        # One statement: the rows are appended all together or not at all.
        warehouse.execute(f"insert into {name} ({cols}) select {cols} from {stage}")
    finally:
        with contextlib.suppress(WarehouseError):  # temporary: it goes with the session anyway
            warehouse.execute(f"drop table if exists {stage}")
    return target


def _push_table_columns(warehouse: Warehouse, target: Relation) -> set[str]:
    from fsdbt.registry import catalog_key

    return {c.name.lower() for c in warehouse.columns([target]).get(catalog_key(target), [])}


# -- the whole push ------------------------------------------------------------------------------

@dataclass
class Pusher:
    """Validates and writes pushes for one project; shared by ``FeatureStore.push`` and the server.

    ``warehouse`` is a callable opening the warehouse (used only off DuckDB, and only for
    offline pushes); the DuckDB file is never opened.
    """

    registry: Registry
    online: Any  # a callable returning the OnlineStore (opened lazily)
    warehouse_type: str
    push_log: PushLog
    warehouse: Any = None
    max_rows: int | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def push(self, view: str | FeatureView, rows: Any, to: str = "online", *,
             now: datetime | None = None) -> PushResult:
        check_target(to)
        fv = view if isinstance(view, FeatureView) else resolve_view(self.registry, view)
        table = validate(fv, rows, now=now, max_rows=self.max_rows)
        written = skipped = 0
        offline = None
        if to in ("online", "online_and_offline") and len(table):
            # Online first: the conditional write is idempotent, so a retried push after an
            # offline failure does not duplicate anything online.
            online: OnlineStore = self.online()
            stats = online.write_batch(fv, table)
            written, skipped = stats.written, stats.skipped
        if to in ("offline", "online_and_offline") and len(table):
            if self.warehouse_type == "duckdb":
                offline = str(self.push_log.append(fv.name, table))
            else:
                if self.warehouse is None:
                    raise ConfigError(f"offline pushes on {self.warehouse_type} need a warehouse connection")
                with self._lock:  # one connection, one statement sequence at a time
                    offline = str(append_to_warehouse(self.warehouse(), fv, table))
        return PushResult(fv.name, len(table), to, written, skipped, offline)
