"""TensorFlow Metadata: statistics as ``DatasetFeatureStatisticsList``, definitions as ``Schema``.

TFDV (``tfdv.load_stats_binary``, ``tfdv.visualize_statistics``) and Facets Overview read
these protos. Each feature view is one dataset, named after the view. Types follow TFDV's
conventions: integers and booleans are INT (booleans as 0/1, with a ``bool_domain`` in the
schema), floats and decimals FLOAT, strings STRING; timestamps and dates are INT numbers of
seconds since 1970-01-01 UTC (custom statistic ``unit``). When drift was computed, each
feature carries the custom statistics ``psi`` and ``psi_threshold``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from google.protobuf import json_format, text_format
from tensorflow_metadata.proto.v0 import schema_pb2, statistics_pb2

from fsdbt.definitions import Feature, FeatureView
from fsdbt.dtypes import DType
from fsdbt.stats.compute import FeatureStatistics, ViewStatistics
from fsdbt.stats.plan import Kind

_STATS_TYPE = {
    DType.INT: statistics_pb2.FeatureNameStatistics.INT,
    DType.BOOL: statistics_pb2.FeatureNameStatistics.INT,
    DType.TIMESTAMP: statistics_pb2.FeatureNameStatistics.INT,
    DType.DATE: statistics_pb2.FeatureNameStatistics.INT,
    DType.FLOAT: statistics_pb2.FeatureNameStatistics.FLOAT,
    DType.DECIMAL: statistics_pb2.FeatureNameStatistics.FLOAT,
}
_SCHEMA_TYPE = {
    DType.INT: schema_pb2.INT, DType.BOOL: schema_pb2.INT, DType.TIMESTAMP: schema_pb2.INT,
    DType.DATE: schema_pb2.INT, DType.FLOAT: schema_pb2.FLOAT, DType.DECIMAL: schema_pb2.FLOAT,
}


# -- statistics ----------------------------------------------------------------------------------

def to_statistics_list(views: Iterable[ViewStatistics]) -> statistics_pb2.DatasetFeatureStatisticsList:
    out = statistics_pb2.DatasetFeatureStatisticsList()
    for view in views:
        dataset = out.datasets.add(name=view.view, num_examples=view.num_rows)
        for feature in view.features:
            _feature(dataset.features.add(), feature, view.num_rows)
    return out


def _common(common: statistics_pb2.CommonStatistics, f: FeatureStatistics) -> None:
    common.num_non_missing = f.count
    common.num_missing = f.missing
    if f.count:
        common.min_num_values = 1
        common.max_num_values = 1
        common.avg_num_values = 1.0
        common.tot_num_values = f.count


def _feature(out: statistics_pb2.FeatureNameStatistics, f: FeatureStatistics, num_rows: int) -> None:
    out.path.step.append(f.name)
    out.type = _STATS_TYPE.get(f.dtype, statistics_pb2.FeatureNameStatistics.STRING)
    if f.numeric is not None:
        n = f.numeric
        num = out.num_stats
        _common(num.common_stats, f)
        if n.mean is not None:
            num.mean = n.mean
        if n.std_dev is not None:
            num.std_dev = n.std_dev
        num.num_zeros = n.zeros
        if n.min is not None:
            num.min = n.min
        if n.max is not None:
            num.max = n.max
        if len(n.quantiles) >= 3:
            num.median = n.quantiles[len(n.quantiles) // 2]
        if n.histogram:
            standard = num.histograms.add(type=statistics_pb2.Histogram.STANDARD)
            for b in n.histogram:
                standard.buckets.add(low_value=b.low, high_value=b.high, sample_count=b.count)
        if len(n.quantiles) >= 2:
            quantiles = num.histograms.add(type=statistics_pb2.Histogram.QUANTILES)
            share = f.count / (len(n.quantiles) - 1)
            for low, high in zip(n.quantiles, n.quantiles[1:]):
                quantiles.buckets.add(low_value=low, high_value=high, sample_count=share)
        if f.kind is Kind.TEMPORAL:
            out.custom_stats.add(name="unit", str="seconds since 1970-01-01 UTC")
        if f.kind is Kind.BOOL:
            out.custom_stats.add(name="unit", str="boolean as 0/1")
            _rank_custom(out, f)
    else:
        s = out.string_stats
        _common(s.common_stats, f)
        if f.unique is not None:
            s.unique = f.unique
        if f.avg_length is not None:
            s.avg_length = f.avg_length
        for rank, (value, count) in enumerate(f.top_values):
            s.top_values.add(value=value, frequency=count)
            s.rank_histogram.buckets.add(low_rank=rank, high_rank=rank, label=value, sample_count=count)
    if f.drift is not None and f.drift.psi is not None:
        out.custom_stats.add(name="psi", num=f.drift.psi)
        out.custom_stats.add(name="psi_threshold", num=f.drift.threshold)


def _rank_custom(out: statistics_pb2.FeatureNameStatistics, f: FeatureStatistics) -> None:
    custom = out.custom_stats.add(name="top_values")
    for rank, (value, count) in enumerate(f.top_values):
        custom.rank_histogram.buckets.add(low_rank=rank, high_rank=rank, label=value, sample_count=count)


def write_statistics(stats: statistics_pb2.DatasetFeatureStatisticsList, out_dir: Path) -> dict[str, Path]:
    """``statistics.pb`` (binary), ``statistics.pbtxt`` (text format) and ``statistics.json``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {"binary": out_dir / "statistics.pb", "text": out_dir / "statistics.pbtxt",
             "json": out_dir / "statistics.json"}
    paths["binary"].write_bytes(stats.SerializeToString())
    paths["text"].write_text(text_format.MessageToString(stats), encoding="utf-8")
    paths["json"].write_text(json_format.MessageToJson(stats, indent=1), encoding="utf-8")
    return paths


def read_statistics(path: Path) -> statistics_pb2.DatasetFeatureStatisticsList:
    out = statistics_pb2.DatasetFeatureStatisticsList()
    out.ParseFromString(path.read_bytes())
    return out


# -- schema ----------------------------------------------------------------------------------------

def build_schema(views: Sequence[FeatureView], manifest: Mapping[str, Any]) -> schema_pb2.Schema:
    """A TFMD ``Schema`` from the feature definitions and their dbt tests.

    Types come from the features' types; a ``not_null`` test (or ``fsdbt.null_rate``) sets
    the presence; ``accepted_range`` (fsdbt's or dbt_utils') sets an int or float domain,
    ``accepted_values`` a string domain, and booleans get a ``bool_domain``. One view gives
    a flat schema that matches its statistics dataset; several views give one STRUCT
    feature per view, holding that view's features.
    """
    tests = _tests_by_column(manifest)
    schema = schema_pb2.Schema()
    if len(views) == 1:
        for feature in views[0].features:
            _schema_feature(schema.feature.add(), feature, tests.get((views[0].unique_id, feature.name), []))
        return schema
    for view in views:
        outer = schema.feature.add(name=view.name, type=schema_pb2.STRUCT)
        outer.presence.min_fraction = 1.0
        for feature in view.features:
            _schema_feature(outer.struct_domain.feature.add(), feature, tests.get((view.unique_id, feature.name), []))
    return schema


def _tests_by_column(manifest: Mapping[str, Any]) -> dict[tuple[str, str], list[dict[str, Any]]]:
    found: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for node in manifest.get("nodes", {}).values():
        if node.get("resource_type") != "test" or not node.get("test_metadata"):
            continue
        attached, column = node.get("attached_node"), node.get("column_name")
        if attached and column:
            found.setdefault((attached, column), []).append(node["test_metadata"])
    return found


def _schema_feature(out: schema_pb2.Feature, feature: Feature, tests: Sequence[Mapping[str, Any]]) -> None:
    out.name = feature.name
    out.type = _SCHEMA_TYPE.get(feature.dtype, schema_pb2.BYTES)
    out.value_count.min = 1
    out.value_count.max = 1
    if feature.description:
        out.annotation.comment.append(feature.description)
    presence = 0.0
    for test in tests:
        name, kwargs = test.get("name"), test.get("kwargs") or {}
        if name == "not_null":
            presence = 1.0
        elif name == "null_rate" and isinstance(kwargs.get("max_rate"), (int, float)):
            presence = max(presence, 1.0 - float(kwargs["max_rate"]))
        elif name == "accepted_range":
            low, high = kwargs.get("min_value"), kwargs.get("max_value")
            if out.type == schema_pb2.INT and feature.dtype is DType.INT:
                if isinstance(low, (int, float)):
                    out.int_domain.min = int(low)
                if isinstance(high, (int, float)):
                    out.int_domain.max = int(high)
            elif out.type == schema_pb2.FLOAT:
                if isinstance(low, (int, float)):
                    out.float_domain.min = float(low)
                if isinstance(high, (int, float)):
                    out.float_domain.max = float(high)
        elif name == "accepted_values" and out.type == schema_pb2.BYTES:
            values = kwargs.get("values")
            if isinstance(values, list):
                out.string_domain.name = feature.name
                out.string_domain.value.extend(str(v) for v in values)
    if feature.dtype is DType.BOOL:
        out.bool_domain.SetInParent()
    if presence:
        out.presence.min_fraction = presence
        out.presence.min_count = 1
    if feature.dtype in (DType.TIMESTAMP, DType.DATE):
        out.annotation.tag.append(f"{feature.dtype}: seconds since 1970-01-01 UTC")


def schema_text(schema: schema_pb2.Schema) -> str:
    return str(text_format.MessageToString(schema))
