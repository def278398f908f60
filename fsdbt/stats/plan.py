"""The SQL of ``fsdbt stats``, as sqlglot trees (pure: no I/O).

A view's statistics take a few queries, each one scan of the view, whatever its number of
features:

1. ``aggregates``: one row with, per feature, the non-NULL count, min, max, mean, standard
   deviation, zeros and quantiles (numbers, booleans as 0/1, timestamps as epoch seconds),
   distinct count and average length (strings), plus the view's row count and time range.
2. ``histograms``: one row of equal-width bucket counts per numeric feature, between the
   min and max that query 1 found.
3. ``top_values``: the most frequent values of string and boolean features.
4. With a reference window, for drift: ``drift_edges`` (the reference window's quantiles of
   each numeric feature), ``drift_bins`` (per window, the count in each quantile bin) and
   ``drift_categories`` (per window, the count of each value of low-cardinality features).

Every name is an identifier (``fsdbt.sqlnames``); only numbers become literals. Output
columns are quoted aliases (``f3__mean``) so every engine returns them as written.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum

from sqlglot import exp

from fsdbt.definitions import Feature, FeatureView
from fsdbt.dtypes import DType
from fsdbt.sqlnames import alias_ident, col, table

CURRENT, REFERENCE = "current", "reference"
_T = "t"  # alias of the view in every query


class Kind(str, Enum):
    NUMERIC = "numeric"
    STRING = "string"
    BOOL = "bool"
    TEMPORAL = "temporal"

    def __str__(self) -> str:
        return self.value


def kind_of(dtype: DType) -> Kind:
    if dtype in (DType.INT, DType.FLOAT, DType.DECIMAL):
        return Kind.NUMERIC
    if dtype is DType.BOOL:
        return Kind.BOOL
    if dtype in (DType.TIMESTAMP, DType.DATE):
        return Kind.TEMPORAL
    return Kind.STRING  # strings, and anything unknown (compared as text)


@dataclass(frozen=True)
class PlannedFeature:
    index: int
    feature: Feature
    kind: Kind

    @property
    def key(self) -> str:
        return f"f{self.index}"

    @property
    def has_numbers(self) -> bool:
        """Numeric statistics apply: numbers, booleans (0/1) and times (epoch seconds)."""
        return self.kind is not Kind.STRING

    @property
    def has_values(self) -> bool:
        """Top values apply: strings and booleans."""
        return self.kind in (Kind.STRING, Kind.BOOL)


@dataclass(frozen=True)
class Windows:
    """The current window (newest timestamp T minus ``current_seconds``, T] and the reference
    window just before it, ``reference_seconds`` long."""

    current_seconds: int
    reference_seconds: int


def _a(name: str) -> exp.Identifier:
    return alias_ident(name)


def _count_if(condition: exp.Expr) -> exp.Expr:
    return exp.Sum(this=exp.Case(ifs=[exp.If(this=condition, true=exp.Literal.number(1))],
                                 default=exp.Literal.number(0)))


def _num(value: float | int) -> exp.Expr:
    """A number literal that round-trips a Python float exactly."""
    text = repr(float(value)) if isinstance(value, float) else str(value)
    if text.startswith("-"):
        return exp.Neg(this=exp.Literal.number(text[1:]))
    return exp.Literal.number(text)


@dataclass(frozen=True)
class StatsPlan:
    view: FeatureView
    dialect: str
    num_quantiles: int = 10
    num_buckets: int = 10
    top_k: int = 20

    @property
    def features(self) -> tuple[PlannedFeature, ...]:
        return tuple(PlannedFeature(i, f, kind_of(f.dtype)) for i, f in enumerate(self.view.features))

    # -- expressions ---------------------------------------------------------------------------
    def column(self, name: str) -> exp.Column:
        return col(name, _T, self.dialect)

    def source(self) -> exp.Table:
        return table(self.view.relation, self.dialect, alias=_T)

    def value(self, pf: PlannedFeature) -> exp.Expr:
        """The feature as a double: numbers as they are, booleans 0/1, times in epoch seconds."""
        c = self.column(pf.feature.name)
        if pf.kind is Kind.TEMPORAL:
            return exp.cast(exp.TimeToUnix(this=c), "DOUBLE")
        if pf.kind is Kind.BOOL:
            return exp.Case(ifs=[exp.If(this=c, true=exp.Literal.number("1.0")),
                                 exp.If(this=exp.Not(this=c.copy()), true=exp.Literal.number("0.0"))])
        return exp.cast(c, "DOUBLE")

    def text(self, pf: PlannedFeature) -> exp.Expr:
        c = self.column(pf.feature.name)
        return c if pf.feature.dtype is DType.STRING else exp.cast(c, "VARCHAR")

    def quantile(self, value: exp.Expr, q: float) -> exp.Expr:
        if self.dialect == "duckdb":
            return exp.Anonymous(this="quantile_cont", expressions=[value, _num(q)])
        return exp.WithinGroup(this=exp.PercentileCont(this=_num(q)),
                               expression=exp.Order(expressions=[exp.Ordered(this=value)]))

    def quantile_points(self) -> list[float]:
        return [round(k / self.num_quantiles, 10) for k in range(1, self.num_quantiles)]

    # -- 1. aggregates -------------------------------------------------------------------------
    def aggregates(self) -> exp.Select:
        ts = self.column(self.view.timestamp)
        cols: list[exp.Expr] = [
            exp.alias_(exp.Count(this=exp.Star()), _a("n_rows")),
            exp.alias_(exp.Min(this=ts), _a("ts_min")),
            exp.alias_(exp.Max(this=ts.copy()), _a("ts_max")),
        ]
        for pf in self.features:
            k = pf.key
            cols.append(exp.alias_(exp.Count(this=self.column(pf.feature.name)), _a(f"{k}__count")))
            if pf.has_numbers:
                v = self.value(pf)
                cols += [
                    exp.alias_(exp.Min(this=v.copy()), _a(f"{k}__min")),
                    exp.alias_(exp.Max(this=v.copy()), _a(f"{k}__max")),
                    exp.alias_(exp.Avg(this=v.copy()), _a(f"{k}__mean")),
                    exp.alias_(exp.StddevPop(this=v.copy()), _a(f"{k}__std")),
                    exp.alias_(_count_if(exp.EQ(this=v.copy(), expression=exp.Literal.number(0))), _a(f"{k}__zeros")),
                ]
                for i, q in enumerate(self.quantile_points(), start=1):
                    cols.append(exp.alias_(self.quantile(v.copy(), q), _a(f"{k}__q{i}")))
            if pf.kind is Kind.STRING:
                t = self.text(pf)
                cols += [
                    exp.alias_(exp.Count(this=exp.Distinct(expressions=[t.copy()])), _a(f"{k}__unique")),
                    exp.alias_(exp.Avg(this=exp.cast(exp.Length(this=t.copy()), "DOUBLE")), _a(f"{k}__avg_len")),
                    exp.alias_(exp.Min(this=exp.Length(this=t.copy())), _a(f"{k}__min_len")),
                    exp.alias_(exp.Max(this=exp.Length(this=t.copy())), _a(f"{k}__max_len")),
                ]
        return exp.select(*cols).from_(self.source())

    # -- 2. histograms -------------------------------------------------------------------------
    def histograms(self, ranges: dict[int, tuple[float, float]]) -> exp.Select | None:
        """Equal-width bucket counts; ``ranges`` maps a feature index to its (min, max), min < max."""
        cols: list[exp.Expr] = []
        for pf in self.features:
            if pf.index not in ranges:
                continue
            for b, cond in enumerate(self._bucket_conditions(self.value(pf), *ranges[pf.index])):
                cols.append(exp.alias_(_count_if(cond), _a(f"{pf.key}__h{b}")))
        if not cols:
            return None
        return exp.select(*cols).from_(self.source())

    def bucket_edges(self, low: float, high: float) -> list[float]:
        width = (high - low) / self.num_buckets
        return [low + width * b for b in range(self.num_buckets)] + [high]

    def _bucket_conditions(self, v: exp.Expr, low: float, high: float) -> list[exp.Expr]:
        # Bucket b holds [edge_b, edge_b+1); the first is open below, the last is closed above,
        # so the buckets count every non-NULL value exactly once.
        edges = self.bucket_edges(low, high)
        conds: list[exp.Expr] = []
        for b in range(self.num_buckets):
            parts: list[exp.Expr] = []
            if b > 0:
                parts.append(exp.GTE(this=v.copy(), expression=_num(edges[b])))
            if b < self.num_buckets - 1:
                parts.append(exp.LT(this=v.copy(), expression=_num(edges[b + 1])))
            conds.append(exp.and_(*parts) if len(parts) > 1 else parts[0])
        return conds

    # -- 3. top values -------------------------------------------------------------------------
    def top_values(self) -> exp.Select | None:
        """Rows (feature index, value as text, count), the ``top_k`` most frequent per feature."""
        parts = []
        for pf in self.features:
            if not pf.has_values:
                continue
            c = self.column(pf.feature.name)
            parts.append(
                exp.select(exp.alias_(exp.Literal.number(pf.index), _a("f")),
                           exp.alias_(self.text(pf), _a("v")),
                           exp.alias_(exp.Count(this=exp.Star()), _a("n")))
                .from_(self.source())
                .where(exp.Not(this=exp.Is(this=c.copy(), expression=exp.Null())))
                .group_by(c.copy()))
        if not parts:
            return None
        union: exp.Query = parts[0]
        for p in parts[1:]:
            union = exp.union(union, p, distinct=False)
        rank = exp.Window(this=exp.RowNumber(), partition_by=[exp.column("f", quoted=True)],
                          order=exp.Order(expressions=[exp.Ordered(this=exp.column("n", quoted=True), desc=True),
                                                       exp.Ordered(this=exp.column("v", quoted=True))]))
        ranked = (exp.select(exp.column("f", quoted=True), exp.column("v", quoted=True),
                             exp.column("n", quoted=True), exp.alias_(rank, _a("r")))
                  .from_(exp.Subquery(this=union, alias=exp.TableAlias(this=exp.to_identifier("u")))))
        return (exp.select(exp.column("f", quoted=True), exp.column("v", quoted=True), exp.column("n", quoted=True))
                .from_(exp.Subquery(this=ranked, alias=exp.TableAlias(this=exp.to_identifier("ranked"))))
                .where(exp.LTE(this=exp.column("r", quoted=True), expression=exp.Literal.number(self.top_k)))
                .order_by(exp.column("f", quoted=True), exp.Ordered(this=exp.column("n", quoted=True), desc=True),
                          exp.column("v", quoted=True)))

    # -- 4. drift ------------------------------------------------------------------------------
    def window_label(self, windows: Windows) -> exp.Expr:
        """'current', 'reference' or NULL for each row, relative to the view's newest timestamp."""
        ts = self.column(self.view.timestamp)
        newest = exp.column("fsdbt_newest", table="b", quoted=True)

        def back(seconds: int) -> exp.Expr:
            return exp.DateAdd(this=newest.copy(), expression=exp.Literal.number(-seconds), unit=exp.var("SECOND"))

        return exp.Case(ifs=[
            exp.If(this=exp.GT(this=ts.copy(), expression=back(windows.current_seconds)),
                   true=exp.Literal.string(CURRENT)),
            exp.If(this=exp.GT(this=ts.copy(), expression=back(windows.current_seconds + windows.reference_seconds)),
                   true=exp.Literal.string(REFERENCE)),
        ])

    def _windowed(self, windows: Windows, projections: Sequence[exp.Expr]) -> exp.Select:
        bounds = exp.Subquery(
            this=exp.select(exp.alias_(exp.Max(this=col(self.view.timestamp, None, self.dialect)), _a("fsdbt_newest")))
            .from_(table(self.view.relation, self.dialect)),
            alias=exp.TableAlias(this=exp.to_identifier("b")))
        inner = (exp.select(exp.alias_(self.window_label(windows), _a("w")), *projections)
                 .from_(self.source()).join(bounds, join_type="cross"))
        return inner

    def drift_edges(self, windows: Windows, features: Sequence[PlannedFeature], bins: int) -> exp.Select | None:
        """One row: the reference window's quantiles 1/bins .. (bins-1)/bins of each feature."""
        if not features:
            return None
        values = [exp.alias_(self.value(pf), _a(pf.key)) for pf in features]
        inner = exp.Subquery(this=self._windowed(windows, values), alias=exp.TableAlias(this=exp.to_identifier("x")))
        cols = []
        for pf in features:
            for i in range(1, bins):
                cols.append(exp.alias_(self.quantile(exp.column(pf.key, quoted=True), round(i / bins, 10)),
                                       _a(f"{pf.key}__e{i}")))
        return (exp.select(*cols).from_(inner)
                .where(exp.EQ(this=exp.column("w", quoted=True), expression=exp.Literal.string(REFERENCE))))

    def drift_bins(self, windows: Windows, edges: dict[int, list[float]]) -> exp.Select | None:
        """Per window: the count of NULLs and of each quantile bin, for the features in ``edges``."""
        chosen = [pf for pf in self.features if pf.index in edges]
        if not chosen:
            return None
        values = [exp.alias_(self.value(pf), _a(pf.key)) for pf in chosen]
        inner = exp.Subquery(this=self._windowed(windows, values), alias=exp.TableAlias(this=exp.to_identifier("x")))
        w = exp.column("w", quoted=True)
        cols: list[exp.Expr] = [w]
        for pf in chosen:
            v = exp.column(pf.key, quoted=True)
            cols.append(exp.alias_(_count_if(exp.Is(this=v.copy(), expression=exp.Null())), _a(f"{pf.key}__null")))
            cuts = edges[pf.index]
            for b in range(len(cuts) + 1):
                parts: list[exp.Expr] = []
                if b > 0:
                    parts.append(exp.GTE(this=v.copy(), expression=_num(cuts[b - 1])))
                if b < len(cuts):
                    parts.append(exp.LT(this=v.copy(), expression=_num(cuts[b])))
                cond = exp.and_(*parts) if len(parts) > 1 else parts[0]
                cols.append(exp.alias_(_count_if(cond), _a(f"{pf.key}__b{b}")))
        return (exp.select(*cols).from_(inner).where(exp.Not(this=exp.Is(this=w.copy(), expression=exp.Null())))
                .group_by(w.copy()))

    def drift_categories(self, windows: Windows, features: Sequence[PlannedFeature]) -> exp.Select | None:
        """Rows (window, feature index, value as text or NULL, count) for categorical features."""
        if not features:
            return None
        parts = []
        for pf in features:
            inner = exp.Subquery(this=self._windowed(windows, [exp.alias_(self.text(pf), _a("v"))]),
                                 alias=exp.TableAlias(this=exp.to_identifier("x")))
            w = exp.column("w", quoted=True)
            parts.append(
                exp.select(w, exp.alias_(exp.Literal.number(pf.index), _a("f")), exp.column("v", quoted=True),
                           exp.alias_(exp.Count(this=exp.Star()), _a("n")))
                .from_(inner).where(exp.Not(this=exp.Is(this=w.copy(), expression=exp.Null())))
                .group_by(w.copy(), exp.column("v", quoted=True)))
        union: exp.Query = parts[0]
        for p in parts[1:]:
            union = exp.union(union, p, distinct=False)
        return union  # type: ignore[return-value]

    def sql(self, query: exp.Expr) -> str:
        return query.sql(self.dialect)
