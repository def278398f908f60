"""The point-in-time join, planned (pure) and rendered as SQL for each warehouse.

Semantics (docs/point-in-time.md): for a spine row with keys K and time t, each view V
contributes the row r with r.K = K, r.ts <= t and, with a ttl, r.ts >= t - ttl (both
inclusive), choosing the greatest r.ts, then the greatest r.created (NULL lowest); the row
is taken whole; no row gives NULLs. ``available_at`` also requires r.created <= t.

Every engine gets its fastest correct form: an ASOF join on DuckDB (a composite
(event time, created time) inequality, so ties resolve without a pre-sort) and Snowflake
(deduplicated first: MATCH_CONDITION takes one comparison), a LATERAL top-1 on PostgreSQL,
and a portable window form elsewhere and for available-at mode.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlglot import exp

from fsdbt.definitions import Feature, FeatureView
from fsdbt.errors import ContractError, hint
from fsdbt.sqlnames import alias_ident, col, table

ROW_ID = "__fsdbt_row"


@dataclass(frozen=True)
class ViewJoin:
    index: int
    view: FeatureView
    features: tuple[str, ...]
    keys: tuple[tuple[str, str], ...]  # (view entity column, spine column)

    @property
    def alias(self) -> str:
        return f"v{self.index}"


@dataclass(frozen=True)
class Output:
    join: int
    feature: str
    name: str


@dataclass(frozen=True)
class PitPlan:
    spine_columns: tuple[str, ...]  # spine columns carried to the output, exact names
    spine_ts: str
    joins: tuple[ViewJoin, ...]
    outputs: tuple[Output, ...]
    available_at: bool = False
    order_by: str | None = None  # a spine column that orders the output rows


def plan_pit(features: Sequence[Feature], views: Mapping[str, FeatureView], spine_columns: Sequence[str],
             spine_ts: str, *, full_feature_names: bool = False, available_at: bool = False,
             carry: Sequence[str] | None = None, order_by: str | None = None) -> PitPlan:
    """Check the spine against the features and decide the joins; no I/O.

    ``spine_columns`` are the spine's columns (exact names); ``carry`` those to output
    (default: all). Entity keys match spine columns by name, case-insensitively.
    """
    by_lower = {c.lower(): c for c in spine_columns}
    if spine_ts.lower() not in by_lower:
        raise ContractError(f"the spine has no timestamp column '{spine_ts}'"
                            f"{hint(spine_ts, spine_columns, 'Spine columns')} "
                            f"(pass spine_timestamp=... to name it)")
    ts_column = by_lower[spine_ts.lower()]
    order: list[str] = []
    wanted: dict[str, list[str]] = {}
    for feature in features:
        if feature.view not in wanted:
            order.append(feature.view)
            wanted[feature.view] = []
        if feature.name not in wanted[feature.view]:
            wanted[feature.view].append(feature.name)
    joins = []
    for index, name in enumerate(order):
        view = views[name]
        keys = []
        for entity in view.entities:
            if entity.lower() not in by_lower:
                raise ContractError(f"the spine has no column '{entity}', the join key of feature view "
                                    f"'{name}'{hint(entity, spine_columns, 'Spine columns')}",
                                    model=name, file=view.file)
            keys.append((entity, by_lower[entity.lower()]))
        joins.append(ViewJoin(index, view, tuple(wanted[name]), tuple(keys)))
    join_of = {j.view.name: j.index for j in joins}
    carried = tuple(carry if carry is not None else spine_columns)
    taken = {c.lower(): f"spine column '{c}'" for c in carried}
    outputs = []
    for feature in features:
        out = feature.full_name if full_feature_names else feature.name
        if out.lower() in taken:
            raise ContractError(f"output column '{out}' of {feature.ref} clashes with {taken[out.lower()]}; "
                                f"use full_feature_names=True (columns named view__feature) or rename it")
        taken[out.lower()] = f"feature {feature.ref}"
        outputs.append(Output(join_of[feature.view], feature.name, out))
    return PitPlan(carried, ts_column, tuple(joins), tuple(outputs), available_at, order_by)


# -- rendering -----------------------------------------------------------------------------------

def render_pit(plan: PitPlan, spine: exp.Expr, dialect: str) -> exp.Select:
    """The SQL for ``plan`` over ``spine`` (a table or subquery expression), for ``dialect``."""
    if plan.available_at or dialect not in _RENDERERS:
        return _window(plan, spine, dialect)
    return _RENDERERS[dialect](plan, spine, dialect)


def _spine_col(name: str, alias: str = "s") -> exp.Column:
    return exp.Column(this=alias_ident(name), table=exp.to_identifier(alias))


def _ttl_floor(plan: PitPlan, ttl: timedelta, dialect: str) -> exp.Expr:
    """``t - ttl`` at microsecond precision."""
    micros = round(ttl.total_seconds() * 1_000_000)
    if micros % 1_000_000 == 0:
        amount, unit = str(micros // 1_000_000), "SECOND"
    else:
        amount, unit = str(micros), "MICROSECOND"
    if dialect == "snowflake":
        return exp.func("DATEADD", exp.var(unit), exp.Literal.number(f"-{amount}"), _spine_col(plan.spine_ts))
    interval = exp.Interval(this=exp.Literal.string(amount), unit=exp.var(unit))
    return exp.Sub(this=_spine_col(plan.spine_ts), expression=interval)


def _outputs(plan: PitPlan, dialect: str, *, ttl_case: bool) -> list[exp.Expr]:
    columns: list[exp.Expr] = [_spine_col(c) for c in plan.spine_columns]
    for out in plan.outputs:
        join = plan.joins[out.join]
        value: exp.Expr = col(out.feature, join.alias, dialect)
        if ttl_case and join.view.ttl is not None:
            inside = exp.GTE(this=col(join.view.timestamp, join.alias, dialect),
                             expression=_ttl_floor(plan, join.view.ttl, dialect))
            value = exp.Case(ifs=[exp.If(this=inside, true=value)])
        columns.append(exp.alias_(value, alias_ident(out.name)))
    return columns


def _view_source(join: ViewJoin, dialect: str, *, dedupe: bool) -> exp.Subquery:
    """The view's rows a join can use: keys, times and wanted features (non-NULL event time)."""
    view = join.view
    names = [k for k, _ in join.keys] + [view.timestamp]
    if view.created_timestamp:
        names.append(view.created_timestamp)
    names += [f for f in join.features if f not in names]
    select = exp.select(*(col(n, None, dialect) for n in names)).from_(table(view.relation, dialect))
    select = select.where(exp.Not(this=exp.Is(this=col(view.timestamp, None, dialect), expression=exp.Null())))
    if dedupe and view.created_timestamp:
        # One row per (keys, event time): the latest created wins (NULL lowest).
        rank = exp.Window(
            this=exp.RowNumber(),
            partition_by=[col(n, None, dialect) for n in [k for k, _ in join.keys] + [view.timestamp]],
            order=exp.Order(expressions=[exp.Ordered(this=col(view.created_timestamp, None, dialect),
                                                     desc=True, nulls_first=False)]),
        )
        select = select.qualify(exp.EQ(this=rank, expression=exp.Literal.number(1)))
    return select.subquery(join.alias)


def _key_match(join: ViewJoin, dialect: str, spine_alias: str = "s") -> list[exp.Expr]:
    return [exp.EQ(this=_spine_col(s, spine_alias), expression=col(v, join.alias, dialect)) for v, s in join.keys]


def _duckdb(plan: PitPlan, spine: exp.Expr, dialect: str) -> exp.Select:
    """One ASOF LEFT JOIN per view, each on its own, joined back on the spine row id.

    Chaining ASOF joins makes each later join re-sort a growing intermediate; separate
    joins keep every one a single sorted merge of the spine's keys with one view.
    """
    row = _row_key(plan)
    query = exp.select(*_outputs(plan, dialect, ttl_case=True)).from_(_aliased(spine))
    for join in plan.joins:
        view = join.view
        if view.created_timestamp:
            # (t, +inf) >= (ts, created): the latest event time, then the latest created (NULL lowest).
            spine_key = exp.func("struct_pack", exp.PropertyEQ(this=exp.to_identifier("t"),
                                                               expression=_spine_col(plan.spine_ts, "m")),
                                 exp.PropertyEQ(this=exp.to_identifier("c"),
                                                expression=exp.cast(exp.Literal.string("infinity"), "TIMESTAMP")))
            created = exp.func("coalesce", exp.cast(col(view.created_timestamp, join.alias, dialect), "TIMESTAMP"),
                               exp.cast(exp.Literal.string("-infinity"), "TIMESTAMP"))
            view_key = exp.func("struct_pack", exp.PropertyEQ(this=exp.to_identifier("t"),
                                                              expression=col(view.timestamp, join.alias, dialect)),
                                exp.PropertyEQ(this=exp.to_identifier("c"), expression=created))
            inequality: exp.Expr = exp.GTE(this=spine_key, expression=view_key)
        else:
            inequality = exp.GTE(this=_spine_col(plan.spine_ts, "m"),
                                 expression=col(view.timestamp, join.alias, dialect))
        match = (exp.select(_spine_col(row, "m"), *(col(c, join.alias, dialect)
                                                    for c in (view.timestamp, *join.features)))
                 .from_(_aliased(spine, "m"))
                 .join(_view_source(join, dialect, dedupe=False),
                       on=exp.and_(*_key_match(join, dialect, "m"), inequality), join_type="ASOF LEFT")
                 # A struct with a NULL time still compares: spine rows without a time match nothing.
                 .where(exp.Not(this=exp.Is(this=_spine_col(plan.spine_ts, "m"), expression=exp.Null()))))
        query = query.join(match.subquery(join.alias), join_type="LEFT",
                           on=exp.EQ(this=_spine_col(row, join.alias), expression=_spine_col(row)))
    return _ordered(query, plan)


def _row_key(plan: PitPlan) -> str:
    if plan.order_by is None:
        raise ValueError("this form of the join needs a spine row-id column (PitPlan.order_by)")
    return plan.order_by


def _snowflake(plan: PitPlan, spine: exp.Expr, dialect: str) -> exp.Select:
    row = _row_key(plan)
    query = exp.select(*_outputs(plan, dialect, ttl_case=True)).from_(_aliased(spine))
    for join in plan.joins:
        view = join.view
        match = exp.select(_spine_col(row, "m"), *(col(c, join.alias, dialect)
                                                  for c in (view.timestamp, *join.features)))
        asof = exp.Join(this=_view_source(join, dialect, dedupe=True), method="ASOF",
                        match_condition=exp.GTE(this=_spine_col(plan.spine_ts, "m"),
                                                expression=col(view.timestamp, join.alias, dialect)),
                        on=exp.and_(*_key_match(join, dialect, "m")))
        match = match.from_(_aliased(spine, "m"))
        match.append("joins", asof)
        query = query.join(match.subquery(join.alias), join_type="LEFT",
                           on=exp.EQ(this=_spine_col(row, join.alias), expression=_spine_col(row)))
    return _ordered(query, plan)


def _postgres(plan: PitPlan, spine: exp.Expr, dialect: str) -> exp.Select:
    query = exp.select(*_outputs(plan, dialect, ttl_case=False)).from_(_aliased(spine))
    for join in plan.joins:
        view = join.view
        conditions: list[exp.Expr] = [exp.EQ(this=col(v, "r", dialect), expression=_spine_col(s))
                                      for v, s in join.keys]
        conditions.append(exp.LTE(this=col(view.timestamp, "r", dialect), expression=_spine_col(plan.spine_ts)))
        if view.ttl is not None:
            conditions.append(exp.GTE(this=col(view.timestamp, "r", dialect),
                                      expression=_ttl_floor(plan, view.ttl, dialect)))
        order = [exp.Ordered(this=col(view.timestamp, "r", dialect), desc=True)]
        if view.created_timestamp:
            order.append(exp.Ordered(this=col(view.created_timestamp, "r", dialect), desc=True, nulls_first=False))
        lateral_select = (exp.select(*(col(f, "r", dialect) for f in join.features))
                          .from_(table(view.relation, dialect, alias="r"))
                          .where(exp.and_(*conditions)).order_by(*order).limit(1))
        lateral = exp.Lateral(this=lateral_select.subquery(), alias=exp.TableAlias(this=exp.to_identifier(join.alias)))
        query = query.join(lateral, join_type="LEFT", on=exp.true())
    return _ordered(query, plan)


def _window(plan: PitPlan, spine: exp.Expr, dialect: str) -> exp.Select:
    """Portable: candidates inside the window, ranked per spine row, rank 1 kept."""
    row = _row_key(plan)
    query = exp.select(*_outputs(plan, dialect, ttl_case=False)).from_(_aliased(spine))
    for join in plan.joins:
        view = join.view
        conditions: list[exp.Expr] = [exp.EQ(this=col(v, "r", dialect), expression=_spine_col(s, "m"))
                                      for v, s in join.keys]
        conditions.append(exp.LTE(this=col(view.timestamp, "r", dialect), expression=_spine_col(plan.spine_ts, "m")))
        if view.ttl is not None:
            floor = _ttl_floor(PitPlan(plan.spine_columns, plan.spine_ts, (), ()), view.ttl, dialect)
            floor = floor.transform(lambda n: _spine_col(plan.spine_ts, "m") if isinstance(n, exp.Column)
                                    and n.table == "s" else n)
            conditions.append(exp.GTE(this=col(view.timestamp, "r", dialect), expression=floor))
        if plan.available_at and view.created_timestamp:
            conditions.append(exp.LTE(this=col(view.created_timestamp, "r", dialect),
                                      expression=_spine_col(plan.spine_ts, "m")))
        order = [exp.Ordered(this=col(view.timestamp, "r", dialect), desc=True)]
        if view.created_timestamp:
            order.append(exp.Ordered(this=col(view.created_timestamp, "r", dialect), desc=True, nulls_first=False))
        rank = exp.Window(this=exp.RowNumber(), partition_by=[_spine_col(row, "m")],
                          order=exp.Order(expressions=order))
        ranked = (exp.select(_spine_col(row, "m"), *(col(f, "r", dialect) for f in join.features),
                             exp.alias_(rank, alias_ident("__fsdbt_rank")))
                  .from_(_aliased(spine, "m"))
                  .join(table(view.relation, dialect, alias="r"), on=exp.and_(*conditions), join_type="INNER"))
        on = exp.and_(exp.EQ(this=_spine_col(row, join.alias), expression=_spine_col(row)),
                      exp.EQ(this=_spine_col("__fsdbt_rank", join.alias), expression=exp.Literal.number(1)))
        query = query.join(ranked.subquery(join.alias), join_type="LEFT", on=on)
    return _ordered(query, plan)


def _aliased(spine: exp.Expr, alias: str = "s") -> exp.Expr:
    """The spine (a table or a query) under ``alias``."""
    if isinstance(spine, exp.Table):
        return exp.Table(this=spine.this, db=spine.args.get("db"), catalog=spine.args.get("catalog"),
                         alias=exp.TableAlias(this=exp.to_identifier(alias)))
    if isinstance(spine, exp.Query):
        return spine.subquery(alias)
    raise TypeError(f"a spine is a table or a query; got {type(spine).__name__}")


def _ordered(query: exp.Select, plan: PitPlan) -> exp.Select:
    return query.order_by(_spine_col(plan.order_by)) if plan.order_by else query


_RENDERERS = {"duckdb": _duckdb, "snowflake": _snowflake, "postgres": _postgres}
