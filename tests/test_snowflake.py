"""fsdbt's Snowflake code against a fakesnow server: the real connector, Arrow batches, uploads.

fakesnow runs DuckDB underneath and cannot run ``MATCH_CONDITION``; the server started by
``tests/test_pit_macro.py::fakesnow_port`` rewrites that join for DuckDB inside the test
harness only. The SQL fsdbt sends is Snowflake's own (checked as text in ``test_pit_sql.py``).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pyarrow as pa
import pytest

from fsdbt.definitions import Relation
from fsdbt.errors import WarehouseError
from fsdbt.offline.historical import build_training_set
from tests.test_pit_macro import TRAINING, SnowflakeWarehouse, assemble, edge_case, expected_output, fakesnow_port
from tests.test_pit_python import _normal, feature_views, spine_table

pytestmark = pytest.mark.snowflake
__all__ = ["fakesnow_port"]  # the fixture, imported for pytest
EPOCH = datetime(1970, 1, 1)


@pytest.fixture(scope="module")
def schema(fakesnow_port: int) -> str:
    return f"fsdbt_sf_{uuid.uuid4().hex[:8]}"


@pytest.fixture()
def warehouse(fakesnow_port: int, schema: str) -> Iterator[Any]:
    from fsdbt.warehouse.snowflake import SnowflakeWarehouse as Engine

    settings = {"host": "127.0.0.1", "port": fakesnow_port, "protocol": "http", "account": "fakesnow",
                "user": "fake", "password": "snow", "database": "fsdbt_pit", "schema": schema,
                "warehouse": "fakesnow", "role": "fakesnow"}
    with Engine(settings) as engine:
        yield engine


def _fakesnow_nulls(value: Any) -> Any:
    # fakesnow returns a NULL TIMESTAMP_NTZ as 1970-01-01; no test time is in 1970.
    return None if isinstance(value, datetime) and value.replace(tzinfo=None) == EPOCH else _normal(value)


def test_warehouse_round_trip(warehouse: Any, schema: str) -> None:
    table = pa.table({"driver_id": [1, 2, 3], "conv_rate": [0.5, None, 0.25],
                      "event_timestamp": pa.array([datetime(2026, 1, 1), datetime(2026, 1, 2), None],
                                                  pa.timestamp("us"))})
    relation = Relation(None, None, "round_trip")
    warehouse.load_arrow(table, relation)
    back = warehouse.query_arrow('select * from round_trip order by "driver_id"')
    assert [c.lower() for c in back.column_names] == ["driver_id", "conv_rate", "event_timestamp"]
    assert back.column(0).to_pylist() == [1, 2, 3]
    assert back.column(1).to_pylist() == [0.5, None, 0.25]
    batches = list(warehouse.stream_arrow('select * from round_trip', batch_size=2))
    assert sum(b.num_rows for b in batches) == 3 and all(b.num_rows <= 2 for b in batches)
    columns = warehouse.columns([Relation("fsdbt_pit", schema, "round_trip")])
    assert [c.name for c in next(iter(columns.values()))] == ["driver_id", "conv_rate", "event_timestamp"]
    with pytest.raises(WarehouseError, match=r"Snowflake .* refused a query"):
        warehouse.query_arrow("select * from no_such_table")


def test_python_pit_on_snowflake_matches_oracle(fakesnow_port: int, schema: str, warehouse: Any) -> None:
    data = assemble([edge_case()])
    SnowflakeWarehouse(fakesnow_port, schema).load(data)
    views = feature_views(schema)
    views = {n: v.__class__(**{**v.__dict__, "relation": Relation("fsdbt_pit", schema, v.relation.identifier)})
             for n, v in views.items()}
    for model in ("training_full", "training_short"):
        spec = TRAINING[model]
        spine_ts = spec.get("spine_ts", "event_timestamp")
        features = [views[v].feature(f) for v, names in spec["features"] for f in names]
        result = build_training_set(warehouse, views, features, spine_table(data, spine_ts),
                                    spine_timestamp=spine_ts, full_feature_names=spec["full"])
        got = [{k.lower(): _fakesnow_nulls(v) for k, v in row.items()} for row in result.to_arrow().to_pylist()]
        want = [{k.lower(): _normal(v) for k, v in row.items()} for row in expected_output(model, data)]
        assert got == want, model


def test_sync_reads_latest_rows_from_snowflake(fakesnow_port: int, schema: str, warehouse: Any,
                                               tmp_path: Any) -> None:
    from fsdbt.online import open_online_store
    from fsdbt.online.base import ViewRead
    from fsdbt.sync.runner import SyncOptions, sync_view

    data = assemble([edge_case()])
    SnowflakeWarehouse(fakesnow_port, schema).load(data)
    view = feature_views(schema)["v_item"]
    view = view.__class__(**{**view.__dict__, "relation": Relation("fsdbt_pit", schema, view.relation.identifier)})
    now = datetime(2024, 3, 20, tzinfo=timezone.utc)
    with open_online_store({"type": "sqlite", "path": str(tmp_path / "online.db")}) as online:
        result = sync_view(view, warehouse, online, SyncOptions(now=now))
        assert result.status == "ok", result.message
        assert result.mode == "full" and result.written == 1  # one item key ('a') with a time
        read = online.read([ViewRead(view)], [{"case_id": 0, "k2": "a"}, {"case_id": 0, "k2": "zz"}], now=now)
        assert read.to_dict()["score"] == [2.0, None]
        assert [str(s) for s in read.statuses["score"]] == ["PRESENT", "NOT_FOUND"]
        assert read.event_timestamps["score"][0] == datetime(2024, 3, 9, 14, 0, tzinfo=timezone.utc)
        again = sync_view(view, warehouse, online, SyncOptions(now=now + timedelta(minutes=1)))
        assert again.mode == "incremental" and again.written == 0
