"""The Python path (``get_historical_features``) against the brute-force oracle, on real warehouses.

The same generated cases as the macro's tests (``tests/test_pit_macro.py``) are written to
DuckDB and to the PostgreSQL server; the feature views point at the raw tables, and every
training spec is run with the spine given as an Arrow table, a pandas DataFrame and SQL.
The output must equal the oracle's row for row, in spine order.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fsdbt.definitions import Column, Feature, FeatureView, Relation
from fsdbt.dtypes import DType
from fsdbt.errors import ContractError
from fsdbt.offline.historical import build_training_set
from fsdbt.warehouse.base import Warehouse
from tests.test_pit_macro import (
    FEW,
    TABLES,
    TRAINING,
    VIEWS,
    Data,
    DuckDBWarehouse,
    PostgresWarehouse,
    assemble,
    edge_case,
    expected_output,
    generated_case,
)

KIND_DTYPE = {"int": DType.INT, "text": DType.STRING, "ts": DType.TIMESTAMP, "float": DType.FLOAT,
              "bool": DType.BOOL}
KIND_ARROW = {"int": pa.int64(), "text": pa.string(), "ts": pa.timestamp("us"), "float": pa.float64(),
              "bool": pa.bool_()}


def feature_views(schema: str | None) -> dict[str, FeatureView]:
    """The test's views as fsdbt definitions, reading the raw tables directly."""
    views = {}
    for name, spec in VIEWS.items():
        columns = tuple(Column(c, KIND_DTYPE[k]) for c, k in TABLES[spec["table"]])
        keys = {*spec["entities"], spec["timestamp"], spec["created_timestamp"]}
        views[name] = FeatureView(
            name=name, unique_id=f"model.pit.{name}", relation=Relation(None, schema, spec["table"]),
            entities=tuple(spec["entities"]), timestamp=spec["timestamp"],
            created_timestamp=spec["created_timestamp"], ttl=spec["ttl"], columns=columns,
            features=tuple(Feature(c.name, name, c.dtype) for c in columns if c.name not in keys))
    return views


def spine_table(data: Data, spine_ts: str) -> pa.Table:
    fields = [(spine_ts if c == "event_timestamp" else c, KIND_ARROW[k]) for c, k in TABLES["raw_spine"]]
    rows = [{(spine_ts if k == "event_timestamp" else k): v for k, v in row.items()} for row in data["raw_spine"]]
    return pa.Table.from_pylist(rows, schema=pa.schema(fields))


def _normal(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if hasattr(value, "tzinfo") and getattr(value, "tzinfo", None) is not None:
        return value.replace(tzinfo=None)
    return value


def check_all(warehouse: Warehouse, views: Mapping[str, FeatureView], data: Data, schema: str | None) -> int:
    checked = 0
    for model, spec in TRAINING.items():
        spine_ts = spec.get("spine_ts", "event_timestamp")
        features = [views[v].feature(f) for v, names in spec["features"] for f in names]
        expected = expected_output(model, data)
        spine = spine_table(data, spine_ts)
        result = build_training_set(warehouse, dict(views), features, spine, spine_timestamp=spine_ts,
                                    full_feature_names=spec["full"], available_at=spec["available_at"])
        got = [{k.lower(): _normal(v) for k, v in row.items()} for row in result.to_arrow().to_pylist()]
        want = [{k.lower(): _normal(v) for k, v in row.items()} for row in expected]
        assert [list(r) for r in got[:1]] == [list(r) for r in want[:1]], model
        for index, (g, w) in enumerate(zip(got, want, strict=True)):
            assert g == w, f"{model}: spine row {index} (case {w.get('case_id')}): {g} != {w}"
        checked += len(got)
    # The same spine as a pandas DataFrame keeps its index and dtypes; as SQL, its rows.
    spec = TRAINING["training_full"]
    features = [views[v].feature(f) for v, names in spec["features"] for f in names]
    frame = spine_table(data, "event_timestamp").to_pandas()
    frame.index = frame.index * 10 + 3
    out = build_training_set(warehouse, dict(views), features, frame, full_feature_names=True).to_pandas()
    assert list(out.index) == list(frame.index)
    assert out[frame.columns].equals(frame)
    table = f"{schema}.raw_spine" if schema else "raw_spine"
    by_sql = build_training_set(warehouse, dict(views), features, f"select * from {table}",
                                full_feature_names=True).to_arrow()
    assert by_sql.num_rows == len(data["raw_spine"])
    return checked


GENERATED = st.lists(generated_case(), min_size=10, max_size=10)


@pytest.fixture(scope="module")
def duckdb_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("pit_python") / "pit.duckdb"


@settings(FEW, max_examples=15)
@given(cases=GENERATED)
def test_python_pit_duckdb_matches_oracle(duckdb_path: Path, cases: list[Data]) -> None:
    from fsdbt.warehouse.duckdb import DuckDBWarehouse as Engine

    data = assemble([edge_case(), *cases])
    DuckDBWarehouse(duckdb_path).load(data)
    with Engine(str(duckdb_path), read_only=True) as warehouse:
        assert check_all(warehouse, feature_views(None), data, None) > 0


@pytest.fixture(scope="module")
def pg_schema() -> Iterator[str]:
    schema = f"fsdbt_pitpy_{uuid.uuid4().hex[:10]}"
    yield schema
    PostgresWarehouse(schema).drop()


@pytest.mark.postgres
@settings(FEW, max_examples=6)
@given(cases=GENERATED)
def test_python_pit_postgres_matches_oracle(pg_schema: str, cases: list[Data]) -> None:
    from fsdbt.warehouse.postgres import PostgresWarehouse as Engine

    data = assemble([edge_case(), *cases])
    PostgresWarehouse(pg_schema).load(data)
    settings_ = {"host": "127.0.0.1", "port": 5432, "user": "postgres", "dbname": "test"}
    with Engine(settings_) as warehouse:
        assert check_all(warehouse, feature_views(pg_schema), data, pg_schema) > 0


def test_spine_errors_name_the_column(duckdb_path: Path) -> None:
    from fsdbt.warehouse.duckdb import DuckDBWarehouse as Engine

    data = assemble([edge_case()])
    DuckDBWarehouse(duckdb_path).load(data)
    views = feature_views(None)
    with Engine(str(duckdb_path), read_only=True) as warehouse:
        spine = spine_table(data, "event_timestamp")
        with pytest.raises(ContractError, match="the spine has no column 'k2', the join key of feature view "
                                                "'v_item'"):
            build_training_set(warehouse, views, [views["v_item"].feature("score")], spine.drop_columns(["k2"]))
        with pytest.raises(ContractError, match="the spine has no timestamp column 'ts'"):
            build_training_set(warehouse, views, [views["v_item"].feature("score")], spine, spine_timestamp="ts")
        text_ts = spine.set_column(3, "event_timestamp", pa.array(["2024-01-01"] * spine.num_rows))
        with pytest.raises(ContractError, match="spine column 'event_timestamp' must hold timestamps"):
            build_training_set(warehouse, views, [views["v_item"].feature("score")], text_ts)
        wrong_key = spine.set_column(1, "k1", pa.array(["1"] * spine.num_rows))
        with pytest.raises(ContractError, match="spine column 'k1' is string, but 'k1' of feature view 'v_user'"):
            build_training_set(warehouse, views, [views["v_user"].feature("amount")], wrong_key)


def test_demo_macro_and_python_paths_agree(demo_env: dict[str, Any]) -> None:
    """The demo's training-set model (dbt macro) equals get_historical_features on the same spine."""
    import math

    from fsdbt import FeatureStore

    with FeatureStore() as store:
        macro = store.warehouse.query_arrow(
            "select * from main.trip_completion_training_set order by trip_id").to_pylist()
        trips = store.warehouse.query_arrow("select * from main.trips order by trip_id")
        python = store.get_historical_features(trips, feature_service="trip_completion_model",
                                               spine_timestamp="requested_at").to_arrow().to_pylist()
    assert len(macro) == len(python) == trips.num_rows > 0
    assert list(macro[0]) == list(python[0])

    def same(a: Any, b: Any) -> bool:
        return a == b or (isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b))

    differing = [(r1["trip_id"], k) for r1, r2 in zip(macro, python) for k in r1 if not same(r1[k], r2[k])]
    assert differing == []
    filled = sum(r["conv_rate"] is not None for r in python)
    assert filled > len(python) // 2  # the join found rows (not a join that matches nothing)


def test_relation_spine_and_to_table(demo_env: dict[str, Any]) -> None:
    """A relation name as the spine; the training set persisted in the warehouse with to_table."""
    from fsdbt import FeatureStore
    from fsdbt.warehouse.duckdb import DuckDBWarehouse as Engine

    with FeatureStore() as store:
        result = store.get_historical_features("main.trips", ["driver_hourly_stats.conv_rate"],
                                               spine_timestamp="requested_at")
        frame = result.to_pandas()
        assert len(frame) == 10_000 and list(frame.columns)[-1] == "conv_rate"
        assert "__fsdbt_row" not in frame.columns
        store.close()
        with Engine(demo_env["env"]["FSDBT_DUCKDB_PATH"], read_only=False) as writable:
            relation = result.to_table("main.conv_rate_training", warehouse=writable)
            assert str(relation) == "main.conv_rate_training"
            saved = writable.query_arrow("select count(*) as n, count(conv_rate) as c from main.conv_rate_training")
    assert saved.to_pylist() == [{"n": 10_000, "c": int(frame["conv_rate"].notna().sum())}]
