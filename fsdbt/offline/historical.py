"""``get_historical_features``: the point-in-time join run in the warehouse, results as Arrow or pandas.

The spine (an entity DataFrame, an Arrow table, a SQL query or a relation name) goes to the
warehouse once: DuckDB scans the Arrow data in place; other engines get a temporary table.
Only keys, the spine time and a row id travel; the features come back in spine order and
are appended to the caller's own rows, which are returned unchanged.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc
import sqlglot
from sqlglot import exp

from fsdbt.definitions import Feature, FeatureView, Relation
from fsdbt.dtypes import DType
from fsdbt.errors import ConfigError, ContractError
from fsdbt.offline.pit import ROW_ID, PitPlan, plan_pit, render_pit
from fsdbt.sqlnames import table
from fsdbt.warehouse.base import Warehouse

if TYPE_CHECKING:
    import pandas as pd

_RELATION = re.compile(r'^\s*[\w$]+(\s*\.\s*[\w$]+){0,2}\s*$')
_spine_ids = itertools.count()


class TrainingSet:
    """The result of a point-in-time join; runs once, on first use."""

    def __init__(self, warehouse: Warehouse, query: exp.Select, plan: PitPlan, features: Sequence[Feature],
                 spine: pa.Table | None, spine_frame: pd.DataFrame | None,
                 cleanup: Callable[[], None] | None = None) -> None:
        self._warehouse = warehouse
        self._query = query
        self.plan = plan
        self.features = tuple(features)
        self._spine = spine
        self._spine_frame = spine_frame
        self._cleanup = cleanup
        self._features_table: pa.Table | None = None

    @property
    def sql(self) -> str:
        """The SQL the warehouse runs, for inspection."""
        dialect = self._warehouse.DIALECT
        return self._query.sql(dialect, pretty=True)

    def _fetch(self) -> pa.Table:
        if self._features_table is None:
            table = self._warehouse.query_arrow(self._query.sql(self._warehouse.DIALECT))
            if self._cleanup is not None:
                self._cleanup()
                self._cleanup = None
            self._features_table = table
        return self._features_table

    @property
    def output_names(self) -> list[str]:
        return [o.name for o in self.plan.outputs]

    def to_arrow(self) -> pa.Table:
        """Spine columns, then one column per feature; feature timestamps are UTC."""
        fetched = _utc(self._fetch(), self.output_names)
        if self._spine is None:
            return fetched.drop_columns([ROW_ID]) if ROW_ID in fetched.column_names else fetched
        table = self._spine
        for name in self.output_names:
            table = table.append_column(name, fetched.column(name))
        return table

    def to_pandas(self) -> pd.DataFrame:
        """A DataFrame in spine order; integer and boolean features keep nullable types."""
        fetched = _utc(self._fetch(), self.output_names)
        if self._spine_frame is None:
            table = fetched.drop_columns([ROW_ID]) if ROW_ID in fetched.column_names else fetched
            return table.to_pandas(types_mapper=_nullable)
        frame = self._spine_frame.copy()
        features = fetched.select(self.output_names).to_pandas(types_mapper=_nullable)
        for name in self.output_names:
            frame[name] = features[name].array  # positional: the caller's index is kept as it was
        return frame

    def to_table(self, name: str, warehouse: Warehouse | None = None) -> Relation:
        """Persist the training set in the warehouse as table ``name`` (``schema.table`` allowed)."""
        parts = [p.strip() for p in name.split(".")]
        relation = Relation(None, parts[-2] if len(parts) > 1 else None, parts[-1])
        (warehouse or self._warehouse).load_arrow(self.to_arrow(), relation)
        return relation


def _nullable(dtype: pa.DataType) -> Any:
    import pandas as pd

    if pa.types.is_integer(dtype):
        return pd.Int64Dtype()
    if pa.types.is_boolean(dtype):
        return pd.BooleanDtype()
    return None


def _utc(table: pa.Table, names: Sequence[str]) -> pa.Table:
    """Feature timestamps without a zone are UTC: say so in the type."""
    for name in names:
        column = table.column(name)
        if pa.types.is_timestamp(column.type) and column.type.tz is None:
            index = table.schema.get_field_index(name)
            table = table.set_column(index, name, pc.assume_timezone(column, "UTC"))
    return table


def build_training_set(warehouse: Warehouse, views: dict[str, FeatureView], features: Sequence[Feature],
                       entity_df: Any, *, spine_timestamp: str = "event_timestamp",
                       full_feature_names: bool = False, available_at: bool = False) -> TrainingSet:
    dialect = warehouse.DIALECT
    if isinstance(entity_df, str):
        return _from_sql(warehouse, views, features, entity_df, spine_timestamp, full_feature_names, available_at)
    frame = None
    if _is_pandas(entity_df):
        frame = entity_df
        spine = pa.Table.from_pandas(entity_df, preserve_index=False)
    elif isinstance(entity_df, pa.Table):
        spine = entity_df
    elif isinstance(entity_df, pa.RecordBatch):
        spine = pa.Table.from_batches([entity_df])
    else:
        raise ConfigError(f"entity_df must be a pandas DataFrame, an Arrow table, a SQL query or a relation name; "
                          f"got {type(entity_df).__name__}")
    plan = plan_pit(features, views, spine.column_names, spine_timestamp, full_feature_names=full_feature_names,
                    available_at=available_at, carry=[ROW_ID], order_by=ROW_ID)
    # Only what the join needs travels to the warehouse: keys, the spine time (as UTC), a row id.
    needed = list(dict.fromkeys([s for j in plan.joins for _, s in j.keys] + [plan.spine_ts]))
    upload = _coerce_keys(spine.select(needed), plan)
    ts_index = upload.schema.get_field_index(plan.spine_ts)
    upload = upload.set_column(ts_index, plan.spine_ts, _as_utc_naive(upload.column(plan.spine_ts), plan.spine_ts))
    upload = upload.append_column(ROW_ID, pa.array(range(upload.num_rows), type=pa.int64()))
    name = f"__fsdbt_spine_{next(_spine_ids)}"
    relation = warehouse.register_arrow(name, upload)
    query = render_pit(plan, table(relation, dialect), dialect)
    return TrainingSet(warehouse, query, plan, features, spine, frame)


def _from_sql(warehouse: Warehouse, views: dict[str, FeatureView], features: Sequence[Feature], text: str,
              spine_timestamp: str, full_feature_names: bool, available_at: bool) -> TrainingSet:
    dialect = warehouse.DIALECT
    try:
        if _RELATION.match(text):
            source: exp.Expr = exp.select(exp.Star()).from_(exp.to_table(text.strip(), dialect=dialect))
        else:
            source = sqlglot.parse_one(text, read=dialect)
    except sqlglot.errors.ParseError as exc:
        raise ConfigError(f"the spine is neither a relation name nor a query fsdbt can read: {exc}") from None
    if not isinstance(source, exp.Query):
        raise ConfigError("the spine SQL must be a query (SELECT ...) or a relation name")
    # Number the rows once, in a temporary table, so the output order is stable.
    name = f"__fsdbt_spine_{next(_spine_ids)}"
    numbered = exp.select(exp.Star(), exp.alias_(exp.Window(this=exp.RowNumber()),
                                                 exp.to_identifier(ROW_ID, quoted=True)))
    numbered = numbered.from_(source.subquery("q"))
    warehouse.execute(f"create temporary table {exp.to_identifier(name, quoted=True).sql(dialect)} as "
                      f"{numbered.sql(dialect)}")
    table_expr = exp.Table(this=exp.to_identifier(name, quoted=True))
    columns = warehouse.query_arrow(exp.select(exp.Star()).from_(table_expr.copy()).limit(0).sql(dialect)).column_names
    carry = [c for c in columns if c != ROW_ID] + [ROW_ID]
    plan = plan_pit(features, views, columns, spine_timestamp, full_feature_names=full_feature_names,
                    available_at=available_at, carry=carry, order_by=ROW_ID)
    query = render_pit(plan, table_expr, dialect)
    return TrainingSet(warehouse, query, plan, features, None, None)


def _is_pandas(value: Any) -> bool:
    return type(value).__module__.startswith("pandas") and type(value).__name__ == "DataFrame"


def _as_utc_naive(column: pa.ChunkedArray, name: str) -> pa.ChunkedArray:
    if pa.types.is_timestamp(column.type):
        return column.cast(pa.timestamp("us"), safe=False) if column.type.tz is None \
            else column.cast(pa.timestamp("us", tz="UTC"), safe=False).cast(pa.timestamp("us"))
    if pa.types.is_date(column.type):
        return column.cast(pa.timestamp("us"))
    raise ContractError(f"spine column '{name}' must hold timestamps; got {column.type}. Convert it first "
                        f"(pandas: pd.to_datetime(df['{name}'], utc=True))")


_KEY_TYPES = {DType.INT: pa.types.is_integer, DType.STRING: lambda t: pa.types.is_string(t) or
              pa.types.is_large_string(t)}


def _coerce_keys(spine: pa.Table, plan: PitPlan) -> pa.Table:
    """Check key types against the views'; integral floats (pandas' ints with NULLs) become ints."""
    for join in plan.joins:
        for entity, spine_column in join.keys:
            known = [c.dtype for c in join.view.columns if c.name == entity]
            check = _KEY_TYPES.get(known[0]) if known else None
            index = spine.schema.get_field_index(spine_column)
            column = spine.column(index)
            if check is None or check(column.type) or pa.types.is_null(column.type):
                continue
            if known[0] is DType.INT and pa.types.is_floating(column.type):
                as_int = column.cast(pa.int64(), safe=False)
                if pc.all(pc.equal(as_int.cast(column.type), column)).as_py() in (True, None):
                    spine = spine.set_column(index, spine_column, as_int)
                    continue
            raise ContractError(f"spine column '{spine_column}' is {column.type}, but '{entity}' of feature "
                                f"view '{join.view.name}' is {known[0]}; convert the spine column",
                                model=join.view.name)
    return spine
