"""``fsdbt stats`` and ``fsdbt schema``: statistics computed in the warehouse, checked against pandas.

The demo (``demo_project``) is built once per session into a private DuckDB file; ``fsdbt
stats`` writes a ``DatasetFeatureStatisticsList`` that must agree with pandas on the same
tables: counts, missing counts, means, min/max, population standard deviations, quantiles
(linear interpolation), unique counts and top values. The same code runs on PostgreSQL
against the same rows, and on hostile column names.
"""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from google.protobuf import json_format, text_format
from tensorflow_metadata.proto.v0 import schema_pb2, statistics_pb2

from fsdbt.definitions import Column, Feature, FeatureView, Relation
from fsdbt.dtypes import DType
from fsdbt.stats import Windows, compute_view, psi
from fsdbt.stats.plan import StatsPlan
from fsdbt.stats.tfmd import build_schema, to_statistics_list
from tests.validation.helpers import PG, drop_schema, postgres_available


def _by_name(dataset: statistics_pb2.DatasetFeatureStatistics) -> dict[str, statistics_pb2.FeatureNameStatistics]:
    return {f.path.step[0]: f for f in dataset.features}


def _epoch(series: pd.Series) -> pd.Series:
    values = pd.to_datetime(series)
    return (values - pd.Timestamp("1970-01-01")).dt.total_seconds()


def test_statistics_equal_pandas(demo_stats: dict[str, Any]) -> None:
    stats = statistics_pb2.DatasetFeatureStatisticsList()
    stats.ParseFromString((demo_stats["out"] / "statistics.pb").read_bytes())
    assert [d.name for d in stats.datasets] == sorted(demo_stats["frames"])
    checked = 0
    for dataset in stats.datasets:
        df = demo_stats["frames"][dataset.name]
        assert dataset.num_examples == len(df)
        for name, fs in _by_name(dataset).items():
            series = df[name]
            common = fs.num_stats.common_stats if fs.HasField("num_stats") else fs.string_stats.common_stats
            assert common.num_non_missing == series.count(), (dataset.name, name)
            assert common.num_missing == series.isna().sum(), (dataset.name, name)
            if fs.HasField("num_stats"):
                if pd.api.types.is_bool_dtype(series) or series.dropna().map(type).eq(bool).all():
                    values = series.dropna().astype(float)
                elif pd.api.types.is_datetime64_any_dtype(series) or name == "activity_day":
                    values = _epoch(series.dropna())
                else:
                    values = series.dropna().astype(float)
                n = fs.num_stats
                assert math.isclose(n.mean, values.mean(), rel_tol=1e-9, abs_tol=1e-9), (dataset.name, name)
                assert math.isclose(n.min, values.min()) and math.isclose(n.max, values.max())
                assert math.isclose(n.std_dev, values.std(ddof=0), rel_tol=1e-6, abs_tol=1e-9), (dataset.name, name)
                assert n.num_zeros == int((values == 0).sum())
                assert math.isclose(n.median, float(np.quantile(values, 0.5)), rel_tol=1e-9, abs_tol=1e-9)
                standard = next(h for h in n.histograms if h.type == statistics_pb2.Histogram.STANDARD)
                assert sum(b.sample_count for b in standard.buckets) == series.count()
                quantiles = next(h for h in n.histograms if h.type == statistics_pb2.Histogram.QUANTILES)
                expected = np.quantile(values, [k / 10 for k in range(11)])
                bounds = [quantiles.buckets[0].low_value] + [b.high_value for b in quantiles.buckets]
                assert np.allclose(bounds, expected, rtol=1e-9, atol=1e-9), (dataset.name, name)
            else:
                s = fs.string_stats
                assert s.unique == series.nunique()
                counts = series.value_counts()
                assert s.top_values[0].frequency == counts.iloc[0]
                assert {t.value: t.frequency for t in s.top_values} == {
                    str(k): int(v) for k, v in counts.items() if int(v) >= s.top_values[-1].frequency
                    and str(k) in {t.value for t in s.top_values}}
                assert math.isclose(s.avg_length, series.dropna().str.len().mean(), rel_tol=1e-6)  # a float32 field
            checked += 1
    assert checked == 37


def test_text_and_json_forms_match_the_binary(demo_stats: dict[str, Any]) -> None:
    out = demo_stats["out"]
    binary = statistics_pb2.DatasetFeatureStatisticsList.FromString((out / "statistics.pb").read_bytes())
    text = text_format.Parse((out / "statistics.pbtxt").read_text(), statistics_pb2.DatasetFeatureStatisticsList())
    from_json = json_format.Parse((out / "statistics.json").read_text(), statistics_pb2.DatasetFeatureStatisticsList())
    assert binary == text == from_json


def test_drift_is_reported_per_feature(demo_stats: dict[str, Any]) -> None:
    doc = demo_stats["doc"]
    hourly = next(v for v in doc["views"] if v["view"] == "driver_hourly_stats")
    conv = next(f for f in hourly["features"] if f["name"] == "conv_rate")
    assert conv["drift"]["psi"] is not None and conv["drift"]["psi"] < 0.1 and not conv["drift"]["flagged"]
    assert conv["drift"]["current_rows"] > 0 and conv["drift"]["reference_rows"] > 0
    profile = next(v for v in doc["views"] if v["view"] == "customer_profile")
    tier = next(f for f in profile["features"] if f["name"] == "membership_tier")
    assert tier["drift"]["bins"] and tier["drift"]["psi"] is not None


def test_schema_from_definitions(demo_stats: dict[str, Any], demo_project: dict[str, Any]) -> None:
    schema = text_format.Parse((demo_stats["out"] / "schema.pbtxt").read_text(), schema_pb2.Schema())
    assert [f.name for f in schema.feature] == sorted(demo_stats["frames"])
    assert all(f.type == schema_pb2.STRUCT for f in schema.feature)
    flat = text_format.Parse(demo_stats["schema_stdout"], schema_pb2.Schema())
    by_name = {f.name: f for f in flat.feature}
    assert by_name["lifetime_trips"].type == schema_pb2.INT
    assert by_name["avg_spend"].type == schema_pb2.FLOAT
    assert by_name["home_city"].type == schema_pb2.BYTES
    assert by_name["promo_user"].HasField("bool_domain")

    # Tests become presence and domains.
    from fsdbt.registry import load_registry

    manifest = json.loads(json.dumps(demo_project["manifest"]))
    registry = load_registry(manifest)
    view = registry.views["customer_profile"]
    uid = view.unique_id

    def test_node(name: str, column: str, kwargs: dict[str, Any], namespace: str | None) -> dict[str, Any]:
        return {"resource_type": "test", "attached_node": uid, "column_name": column,
                "test_metadata": {"name": name, "namespace": namespace, "kwargs": kwargs}}

    manifest["nodes"].update({
        "t1": test_node("not_null", "lifetime_trips", {}, None),
        "t2": test_node("accepted_range", "lifetime_trips", {"min_value": 0, "max_value": 5000}, "fsdbt"),
        "t3": test_node("accepted_range", "avg_spend", {"min_value": 0.5}, "dbt_utils"),
        "t4": test_node("accepted_values", "membership_tier", {"values": ["basic", "plus", "gold"]}, None),
        "t5": test_node("null_rate", "avg_tip_share", {"max_rate": 0.05}, "fsdbt"),
    })
    features = {f.name: f for f in build_schema([view], manifest).feature}
    assert features["lifetime_trips"].presence.min_fraction == 1.0
    assert (features["lifetime_trips"].int_domain.min, features["lifetime_trips"].int_domain.max) == (0, 5000)
    assert features["avg_spend"].float_domain.min == 0.5 and not features["avg_spend"].float_domain.HasField("max")
    assert list(features["membership_tier"].string_domain.value) == ["basic", "plus", "gold"]
    assert math.isclose(features["avg_tip_share"].presence.min_fraction, 0.95)
    assert not features["home_city"].HasField("presence")


# -- the same statistics on PostgreSQL, and with hostile names ----------------------------------

def _events(n: int = 2000, shift_recent: bool = False) -> pa.Table:
    base = datetime(2024, 1, 1)
    rows: dict[str, list[Any]] = {"user_id": [], "event_ts": [], 'a"b': [], "Mixed_Case": [], "o'brien": [],
                                  "flag": []}
    for i in range(n):
        amount = ((i * 7919) % 1000) / 10.0
        if shift_recent and i >= n - 240:
            amount += 60
        rows["user_id"].append(i % 50)
        rows["event_ts"].append(base + timedelta(seconds=720 * i))
        rows['a"b'].append(None if i % 20 == 0 else amount)
        rows["Mixed_Case"].append(i % 7)
        rows["o'brien"].append(None if i % 11 == 0 else ["x", "y'z", 'q"r'][(i * 31) % 3])
        rows["flag"].append(i % 3 == 0)
    return pa.table(rows)


def _view(relation: Relation) -> FeatureView:
    types = {'a"b': DType.FLOAT, "Mixed_Case": DType.INT, "o'brien": DType.STRING, "flag": DType.BOOL}
    features = tuple(Feature(name, "events", dtype) for name, dtype in types.items())
    columns = (Column("user_id", DType.INT), Column("event_ts", DType.TIMESTAMP),
               *(Column(f.name, f.dtype) for f in features))
    return FeatureView(name="events", unique_id="model.x.events", relation=relation, entities=("user_id",),
                       timestamp="event_ts", features=features, columns=columns)


def _pandas_check(stats: Any, table: pa.Table) -> None:
    df = table.to_pandas()
    assert stats.num_rows == len(df)
    for f in stats.features:
        series = df[f.name]
        assert f.count == series.count() and f.missing == series.isna().sum(), f.name
        if f.numeric is not None:
            values = series.dropna().astype(float)
            assert math.isclose(f.numeric.mean or 0, values.mean(), rel_tol=1e-9), f.name
            assert np.allclose(f.numeric.quantiles, np.quantile(values, [k / 10 for k in range(11)])), f.name
        else:
            assert f.unique == series.nunique()
            assert dict(f.top_values) == {k: int(v) for k, v in series.value_counts().items()}


def test_hostile_names_on_duckdb() -> None:
    from fsdbt.warehouse.duckdb import DuckDBWarehouse

    table = _events()
    with DuckDBWarehouse(":memory:", read_only=False) as warehouse:
        relation = Relation(None, "Odd Schema", "ev'ents")
        warehouse.load_arrow(table, relation)
        stats = compute_view(warehouse, _view(relation), windows=Windows(2 * 86400, 7 * 86400))
    _pandas_check(stats, table)
    sql = StatsPlan(_view(relation), "duckdb").sql(StatsPlan(_view(relation), "duckdb").aggregates())
    assert 'FROM "Odd Schema"."ev\'ents" AS t' in sql
    assert 'COUNT(t."a""b") AS "f0__count"' in sql
    assert 'QUANTILE_CONT(CAST(t."a""b" AS DOUBLE), 0.5) AS "f0__q5"' in sql
    snow = StatsPlan(_view(relation), "snowflake")
    snow_sql = snow.sql(snow.aggregates())
    assert 'COUNT(t."a""b")' in snow_sql
    assert 't."MIXED_CASE"' in snow_sql  # folded to upper case, as dbt created it unquoted
    assert 'PERCENTILE_CONT(0.5) WITHIN GROUP (ORDER BY CAST(t."a""b" AS DOUBLE))' in snow.sql(snow.aggregates())


def test_planted_drift_is_flagged_and_matches_the_formula() -> None:
    from fsdbt.warehouse.duckdb import DuckDBWarehouse

    table = _events(shift_recent=True)
    with DuckDBWarehouse(":memory:", read_only=False) as warehouse:
        relation = Relation(None, None, "events")
        warehouse.load_arrow(table, relation)
        stats = compute_view(warehouse, _view(relation), windows=Windows(2 * 86400, 7 * 86400), psi_threshold=0.2)
    amount = stats.feature('a"b')
    assert amount.drift is not None and amount.drift.flagged
    assert amount.drift.current_rows == 240 and amount.drift.reference_rows == 840
    _, ref, cur = zip(*amount.drift.bins)
    assert amount.drift.psi == psi(ref, cur)
    assert not stats.feature("Mixed_Case").drift.flagged  # type: ignore[union-attr]
    assert not stats.feature("o'brien").drift.flagged  # type: ignore[union-attr]


@pytest.fixture()
def pg_schema() -> Iterator[str]:
    why = postgres_available()
    if why:
        pytest.fail(f"no PostgreSQL server on 127.0.0.1: {why}")
    schema = f"fsdbt_stats_{uuid.uuid4().hex[:10]}"
    yield schema
    drop_schema(schema)


@pytest.mark.postgres
def test_statistics_on_postgres_equal_duckdb_and_pandas(pg_schema: str) -> None:
    from fsdbt.warehouse.duckdb import DuckDBWarehouse
    from fsdbt.warehouse.postgres import PostgresWarehouse

    table = _events(shift_recent=True)
    windows = Windows(2 * 86400, 7 * 86400)
    pg = PostgresWarehouse({**PG, "schema": pg_schema})
    try:
        relation = Relation(None, pg_schema, "ev'ents")
        pg.load_arrow(table, relation)
        on_pg = compute_view(pg, _view(relation), windows=windows)
    finally:
        pg.close()
    with DuckDBWarehouse(":memory:", read_only=False) as warehouse:
        local = Relation(None, None, "events")
        warehouse.load_arrow(table, local)
        on_duck = compute_view(warehouse, _view(local), windows=windows)
    _pandas_check(on_pg, table)
    for a, b in zip(on_pg.features, on_duck.features):
        assert (a.count, a.missing, a.unique, a.top_values) == (b.count, b.missing, b.unique, b.top_values)
        if a.numeric is not None and b.numeric is not None:
            assert np.allclose(a.numeric.quantiles, b.numeric.quantiles)
            assert [x.count for x in a.numeric.histogram] == [x.count for x in b.numeric.histogram]
        if a.drift is not None and b.drift is not None:
            assert a.drift.bins == b.drift.bins and a.drift.flagged == b.drift.flagged
    assert to_statistics_list([on_pg]).datasets[0].num_examples == 2000
