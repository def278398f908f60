"""Online reads equal the point-in-time join, for every entity of every demo view, on every store.

The demo is built by dbt (``tests/conftest.py``), synced through ``FeatureStore.sync`` at a
fixed ``now``, then read at several ``now``s chosen around the demo's fixed anchor: every
value fresh; the daily view outside its 36h ttl; the hourly view exactly at its 2-day edge
(inclusive) and one microsecond past it. For each, ``get_online_features`` must give what
``get_historical_features`` gives for a spine row per entity at the same time.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pyarrow as pa
import pytest

from fsdbt.online import FieldStatus
from fsdbt.store import FeatureStore
from tests.conftest import DEMO_ANCHOR, REPO
from tests.sync.conftest import _cleanup_redis

# Every demo trip has ended by then; the hourly view's latest rows are at DEMO_ANCHOR - 1h (2-day
# ttl) and the daily view's at DEMO_ANCHOR (36h ttl).
SYNC_NOW = DEMO_ANCHOR + timedelta(hours=3)
READ_NOWS = {
    "fresh": SYNC_NOW,
    "hourly-at-ttl-edge": DEMO_ANCHOR + timedelta(hours=47),
    "hourly-past-ttl-edge": DEMO_ANCHOR + timedelta(hours=47, microseconds=1),
}
VIEWS = ("customer_profile", "driver_customer_stats", "driver_daily_activity", "driver_hourly_stats")
UNKNOWN = {"driver_id": 999_999, "customer_id": 999_999}

PRESENT, NULL, MISSING, STALE = (FieldStatus.PRESENT, FieldStatus.NULL_VALUE, FieldStatus.NOT_FOUND,
                                 FieldStatus.OUTSIDE_MAX_AGE)


@pytest.fixture(scope="module", params=[pytest.param("redis", marks=pytest.mark.redis),
                                        pytest.param("cluster", marks=pytest.mark.redis), "sqlite"])
def synced_store(request: pytest.FixtureRequest, demo_project: dict[str, Any],
                 tmp_path_factory: pytest.TempPathFactory) -> Iterator[FeatureStore]:
    """The demo synced at SYNC_NOW into one kind of online store (cleaned up afterwards)."""
    kind = request.param
    url = ""
    prefix = f"fsdbt-test-{uuid.uuid4().hex[:10]}"
    with pytest.MonkeyPatch.context() as env:
        for key, value in demo_project["env"].items():
            env.setenv(key, value)
        if kind == "sqlite":
            env.setenv("FSDBT_TARGET", "dev")
            env.setenv("FSDBT_SQLITE_PATH", str(tmp_path_factory.mktemp("online") / "online.sqlite"))
        else:
            url = (request.getfixturevalue("redis_cluster")[0].url if kind == "cluster"
                   else request.getfixturevalue("shared_redis_url"))
            env.setenv("FSDBT_TARGET", "redis")
            env.setenv("FSDBT_REDIS_URL", url)
            env.setenv("FSDBT_REDIS_CLUSTER", "true" if kind == "cluster" else "false")
            env.setenv("FSDBT_REDIS_KEY_PREFIX", prefix)
        store = FeatureStore(REPO)
        try:
            results = store.sync(now=SYNC_NOW)
            assert [(r.view, r.status, r.mode) for r in results] == [(v, "ok", "full") for v in VIEWS], results
            assert all(r.written == r.rows_read > 0 for r in results)
            again = store.sync(now=SYNC_NOW)  # idempotent: nothing changed, nothing is written
            assert [(r.status, r.mode, r.written) for r in again] == [("ok", "incremental", 0)] * len(VIEWS)
            yield store
        finally:
            store.close()
            if url:
                _cleanup_redis(url, kind == "cluster", prefix)


_CACHE: dict[tuple[str, datetime | None], Any] = {}


def _entities(store: FeatureStore, view: str) -> pa.Table:
    """Every entity of the view in the warehouse, in a fixed order, plus an unknown one."""
    if (view, None) not in _CACHE:
        fv = store.get_feature_view(view)
        keys = ", ".join(f'"{k}"' for k in fv.entities)
        known = store.warehouse.query_arrow(f"select distinct {keys} from {fv.relation} order by {keys}")
        unknown = pa.table({k: pa.array([UNKNOWN[k]], known.schema.field(k).type) for k in known.column_names})
        _CACHE[view, None] = pa.concat_tables([known, unknown])
    return _CACHE[view, None]  # type: ignore[no-any-return]


def _point_in_time(store: FeatureStore, view: str,
                   now: datetime) -> tuple[pa.Table, dict[tuple[Any, ...], datetime]]:
    """The point-in-time join for a spine row per entity at ``now``; and each entity's latest event time.

    Both come from the warehouse only, so they are computed once for every kind of store.
    """
    if (view, now) not in _CACHE:
        entities = _entities(store, view)
        spine = entities.append_column("spine_ts", pa.array([now] * entities.num_rows,
                                                            pa.timestamp("us", "UTC")))
        table = store.get_historical_features(spine, [f"{view}.*"], spine_timestamp="spine_ts").to_arrow()
        fv = store.get_feature_view(view)
        keys = ", ".join(f'"{k}"' for k in fv.entities)
        naive = now.replace(tzinfo=None).isoformat(sep=" ")
        latest = store.warehouse.query_arrow(
            f'select {keys}, max("{fv.timestamp}") as ts from {fv.relation} '
            f"where \"{fv.timestamp}\" <= timestamp '{naive}' group by {keys}").to_pylist()
        _CACHE[view, now] = table, {tuple(r[k] for k in fv.entities): r["ts"] for r in latest}
    return _CACHE[view, now]  # type: ignore[no-any-return]


@pytest.mark.parametrize("case", list(READ_NOWS))
def test_online_read_equals_point_in_time_join_for_every_entity(synced_store: FeatureStore, case: str) -> None:
    now = READ_NOWS[case]
    seen: dict[str, Counter[FieldStatus]] = {}
    for view in VIEWS:
        fv = synced_store.get_feature_view(view)
        entities = _entities(synced_store, view)
        expected, latest_events = _point_in_time(synced_store, view, now)
        rows = entities.to_pylist()
        online = synced_store.get_online_features([f"{view}.*"], rows, now=now)
        assert online.entity_columns == {k: entities.column(k).to_pylist() for k in fv.entities}
        assert online.feature_names == list(fv.feature_names)
        statuses = online.statuses
        events = online.event_timestamps
        values = online.to_dict()
        counts: Counter[FieldStatus] = Counter()
        wrong = []
        for name in fv.feature_names:
            want = expected.column(name).to_pylist()
            for i, row in enumerate(rows):
                status, got = statuses[name][i], values[name][i]
                counts[status] += 1
                latest = latest_events.get(tuple(row[k] for k in fv.entities))
                if latest is None:
                    right = status == MISSING and got is None and want[i] is None
                else:
                    event = events[name][i]
                    fresh = fv.ttl is None or latest >= (now - fv.ttl).replace(tzinfo=None)
                    right = (got == want[i] and event is not None and event.replace(tzinfo=None) == latest
                             and status == (STALE if not fresh else PRESENT if want[i] is not None else NULL))
                if not right:
                    wrong.append(f"{view}.{name} for {row}: online {got!r} ({status}, event time "
                                 f"{events[name][i]}), point in time {want[i]!r} (latest event {latest})")
        assert not wrong, f"{len(wrong)} values differ at {now} ({case}), e.g.:\n" + "\n".join(wrong[:10])
        seen[view] = counts
        assert counts[MISSING] == len(fv.feature_names), f"{view}: only the unknown entity is not found"
    # The cases exercise what they are named for.
    hourly, daily = seen["driver_hourly_stats"], seen["driver_daily_activity"]
    assert (hourly[STALE] > 0) == (hourly[NULL] == 0) == (case == "hourly-past-ttl-edge")
    assert (daily[STALE] > 0) == (case != "fresh")
    assert seen["customer_profile"][PRESENT] > 0 and seen["driver_customer_stats"][PRESENT] > 0
    assert seen["customer_profile"][STALE] == seen["driver_customer_stats"][STALE] == 0
