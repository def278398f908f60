"""Run the statistics queries of ``fsdbt.stats.plan`` and assemble the results.

Everything heavy runs in the warehouse; Python receives a handful of one-row results and
the top values, and computes only the population stability index from bin counts.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any

import pyarrow as pa

from fsdbt.definitions import FeatureView
from fsdbt.dtypes import DType
from fsdbt.stats.plan import CURRENT, REFERENCE, Kind, PlannedFeature, StatsPlan, Windows
from fsdbt.warehouse.base import Warehouse

PSI_FLOOR = 0.0001  # the same floor as the psi_drift dbt test, so an empty bin is not infinite
DEFAULT_PSI_THRESHOLD = 0.2
MAX_CATEGORIES = 1000  # a feature with more distinct values is not compared value by value


@dataclass(frozen=True)
class Bucket:
    low: float
    high: float
    count: float


@dataclass(frozen=True)
class NumericSummary:
    """Numbers as they are; booleans as 0/1; timestamps and dates in seconds since 1970 (UTC)."""

    min: float | None
    max: float | None
    mean: float | None
    std_dev: float | None
    zeros: int
    quantiles: list[float]  # min, the inner quantiles, max (num_quantiles + 1 boundaries)
    histogram: list[Bucket]  # equal width


@dataclass(frozen=True)
class Drift:
    psi: float | None
    threshold: float
    bins: list[tuple[str, int, int]]  # (label, reference count, current count)
    reference_rows: int
    current_rows: int

    @property
    def flagged(self) -> bool:
        return self.psi is not None and self.psi > self.threshold


@dataclass(frozen=True)
class FeatureStatistics:
    name: str
    dtype: DType
    kind: Kind
    count: int  # non-NULL values
    missing: int
    description: str = ""
    numeric: NumericSummary | None = None
    unique: int | None = None
    top_values: list[tuple[str, int]] = field(default_factory=list)
    avg_length: float | None = None
    min_length: int | None = None
    max_length: int | None = None
    drift: Drift | None = None


@dataclass(frozen=True)
class ViewStatistics:
    view: str
    relation: str
    num_rows: int
    first_timestamp: Any
    last_timestamp: Any
    features: list[FeatureStatistics]
    windows: dict[str, Any] | None = None  # the drift windows, when a reference window was asked for

    def feature(self, name: str) -> FeatureStatistics:
        return next(f for f in self.features if f.name == name)

    def as_dict(self) -> dict[str, Any]:
        doc = asdict(self)
        for f in doc["features"]:
            f["dtype"] = str(f["dtype"])
            f["kind"] = str(f["kind"])
            if f["drift"] is not None:
                f["drift"]["flagged"] = bool(f["drift"]["psi"] is not None
                                             and f["drift"]["psi"] > f["drift"]["threshold"])
        return doc


def psi(reference: Sequence[int], current: Sequence[int]) -> float | None:
    """Population stability index of two count vectors over the same bins (None if one is empty)."""
    ref_total, cur_total = sum(reference), sum(current)
    if ref_total == 0 or cur_total == 0:
        return None
    total = 0.0
    for r, c in zip(reference, current):
        rs, cs = max(r / ref_total, PSI_FLOOR), max(c / cur_total, PSI_FLOOR)
        total += (cs - rs) * math.log(cs / rs)
    return total


def _row(table: pa.Table) -> dict[str, Any]:
    rows = table.to_pylist()
    return rows[0] if rows else {}


def _float(value: Any) -> float | None:
    if value is None:
        return None
    out = float(value)
    return None if math.isnan(out) else out


def compute_view(warehouse: Warehouse, view: FeatureView, *, num_quantiles: int = 10, num_buckets: int = 10,
                 top_k: int = 20, windows: Windows | None = None,
                 psi_threshold: float = DEFAULT_PSI_THRESHOLD, bins: int = 10) -> ViewStatistics:
    plan = StatsPlan(view, warehouse.DIALECT, num_quantiles=num_quantiles, num_buckets=num_buckets, top_k=top_k)
    agg = _row(warehouse.query_arrow(plan.sql(plan.aggregates())))
    n_rows = int(agg.get("n_rows") or 0)

    ranges = {}
    for pf in plan.features:
        if pf.has_numbers:
            low, high = _float(agg.get(f"{pf.key}__min")), _float(agg.get(f"{pf.key}__max"))
            if low is not None and high is not None and high > low:
                ranges[pf.index] = (low, high)
    hist_query = plan.histograms(ranges)
    hist = _row(warehouse.query_arrow(plan.sql(hist_query))) if hist_query is not None else {}

    tops: dict[int, list[tuple[str, int]]] = {}
    top_query = plan.top_values()
    if top_query is not None:
        for r in warehouse.query_arrow(plan.sql(top_query)).to_pylist():
            tops.setdefault(int(r["f"]), []).append((str(r["v"]), int(r["n"])))
    for values in tops.values():  # ties in a fixed order, whatever the warehouse's collation
        values.sort(key=lambda item: (-item[1], item[0]))

    drifts: dict[int, Drift] = {}
    if windows is not None and n_rows:
        drifts = _drift(warehouse, plan, agg, windows, psi_threshold, bins)

    features = []
    for pf in plan.features:
        k = pf.key
        count = int(agg.get(f"{k}__count") or 0)
        numeric = None
        if pf.has_numbers:
            numeric = _numeric(plan, pf, agg, hist, ranges, count)
        features.append(FeatureStatistics(
            name=pf.feature.name, dtype=pf.feature.dtype, kind=pf.kind, count=count, missing=n_rows - count,
            description=pf.feature.description, numeric=numeric,
            unique=int(agg[f"{k}__unique"]) if agg.get(f"{k}__unique") is not None else (
                len(tops.get(pf.index, [])) if pf.kind is Kind.BOOL else None),
            top_values=tops.get(pf.index, []),
            avg_length=_float(agg.get(f"{k}__avg_len")),
            min_length=int(agg[f"{k}__min_len"]) if agg.get(f"{k}__min_len") is not None else None,
            max_length=int(agg[f"{k}__max_len"]) if agg.get(f"{k}__max_len") is not None else None,
            drift=drifts.get(pf.index),
        ))
    window_doc = None
    if windows is not None:
        window_doc = _window_doc(agg.get("ts_max"), windows)
    return ViewStatistics(view=view.name, relation=str(view.relation), num_rows=n_rows,
                          first_timestamp=agg.get("ts_min"), last_timestamp=agg.get("ts_max"),
                          features=features, windows=window_doc)


def _numeric(plan: StatsPlan, pf: PlannedFeature, agg: dict[str, Any], hist: dict[str, Any],
             ranges: dict[int, tuple[float, float]], count: int) -> NumericSummary:
    k = pf.key
    low, high = _float(agg.get(f"{k}__min")), _float(agg.get(f"{k}__max"))
    inner = [_float(agg.get(f"{k}__q{i}")) for i in range(1, plan.num_quantiles)]
    quantiles = [q for q in [low, *inner, high] if q is not None] if count else []
    if pf.index in ranges:
        edges = plan.bucket_edges(*ranges[pf.index])
        histogram = [Bucket(edges[b], edges[b + 1], float(hist.get(f"{k}__h{b}") or 0))
                     for b in range(plan.num_buckets)]
    elif count and low is not None:
        histogram = [Bucket(low, low, float(count))]  # a single value
    else:
        histogram = []
    return NumericSummary(min=low, max=high, mean=_float(agg.get(f"{k}__mean")),
                          std_dev=_float(agg.get(f"{k}__std")), zeros=int(agg.get(f"{k}__zeros") or 0),
                          quantiles=quantiles, histogram=histogram)


def _drift(warehouse: Warehouse, plan: StatsPlan, agg: dict[str, Any], windows: Windows, threshold: float,
           bins: int) -> dict[int, Drift]:
    # Times are left out: a time feature moves forward by nature, so its "drift" says nothing.
    numeric = [pf for pf in plan.features if pf.kind is Kind.NUMERIC]
    categorical = [pf for pf in plan.features
                   if pf.kind is Kind.BOOL
                   or (pf.kind is Kind.STRING and int(agg.get(f"{pf.key}__unique") or 0) <= MAX_CATEGORIES)]
    out: dict[int, Drift] = {}

    edges_query = plan.drift_edges(windows, numeric, bins)
    if edges_query is not None:
        edge_row = _row(warehouse.query_arrow(plan.sql(edges_query)))
        edges: dict[int, list[float]] = {}
        for pf in numeric:
            found = [_float(edge_row.get(f"{pf.key}__e{i}")) for i in range(1, bins)]
            if all(c is not None for c in found):
                edges[pf.index] = [c for c in found if c is not None]
        bins_query = plan.drift_bins(windows, edges)
        counts: dict[str, dict[str, Any]] = {}
        if bins_query is not None:
            counts = {r["w"]: r for r in warehouse.query_arrow(plan.sql(bins_query)).to_pylist()}
        for pf in numeric:
            if pf.index not in edges:  # no reference value: drift undefined
                out[pf.index] = Drift(None, threshold, [], 0, _window_total(counts, CURRENT, pf))
                continue
            cuts = edges[pf.index]
            labels = ["NULL"] + [_bin_label(pf, cuts, b) for b in range(len(cuts) + 1)]
            keys = [f"{pf.key}__null"] + [f"{pf.key}__b{b}" for b in range(len(cuts) + 1)]
            ref = [int((counts.get(REFERENCE) or {}).get(key) or 0) for key in keys]
            cur = [int((counts.get(CURRENT) or {}).get(key) or 0) for key in keys]
            out[pf.index] = Drift(psi(ref, cur), threshold, list(zip(labels, ref, cur)), sum(ref), sum(cur))

    cat_query = plan.drift_categories(windows, categorical)
    if cat_query is not None:
        per: dict[int, dict[str, list[int]]] = {pf.index: {} for pf in categorical}
        for r in warehouse.query_arrow(plan.sql(cat_query)).to_pylist():
            label = "NULL" if r["v"] is None else str(r["v"])
            slot = per[int(r["f"])].setdefault(label, [0, 0])
            slot[0 if r["w"] == REFERENCE else 1] += int(r["n"])
        for pf in categorical:
            labels = sorted(per[pf.index], key=lambda lbl: (-sum(per[pf.index][lbl]), lbl))
            ref = [per[pf.index][lbl][0] for lbl in labels]
            cur = [per[pf.index][lbl][1] for lbl in labels]
            out[pf.index] = Drift(psi(ref, cur), threshold, list(zip(labels, ref, cur)), sum(ref), sum(cur))
    return out


def _window_total(counts: dict[str, dict[str, Any]], window: str, pf: PlannedFeature) -> int:
    row = counts.get(window) or {}
    return sum(int(v or 0) for k, v in row.items() if k.startswith(f"{pf.key}__"))


def _bin_label(pf: PlannedFeature, cuts: list[float], b: int) -> str:
    fmt = _format_time if pf.kind is Kind.TEMPORAL else _format_number
    if b == 0:
        return f"< {fmt(cuts[0])}"
    if b == len(cuts):
        return f">= {fmt(cuts[-1])}"
    return f"[{fmt(cuts[b - 1])}, {fmt(cuts[b])})"


def _format_number(value: float) -> str:
    return f"{value:.4g}"


def _format_time(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, tz=timezone.utc).strftime("%Y-%m-%d %H:%M")


def _window_doc(newest: Any, windows: Windows) -> dict[str, Any]:
    doc: dict[str, Any] = {"current_seconds": windows.current_seconds,
                           "reference_seconds": windows.reference_seconds, "newest_timestamp": newest}
    if isinstance(newest, datetime):
        cur_start = newest - timedelta(seconds=windows.current_seconds)
        doc["current"] = [cur_start, newest]
        doc["reference"] = [cur_start - timedelta(seconds=windows.reference_seconds), cur_start]
    elif isinstance(newest, date):
        pass
    return doc


def compute_statistics(warehouse: Warehouse, views: Iterable[FeatureView], **options: Any) -> list[ViewStatistics]:
    """Statistics of each view, computed in the warehouse (see ``compute_view`` for options)."""
    return [compute_view(warehouse, v, **options) for v in views]
