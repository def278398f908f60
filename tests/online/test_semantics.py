"""Behaviour every online store must share: run against Redis, Redis Cluster and SQLite."""

from __future__ import annotations

import threading
import time
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pytest

from fsdbt.dtypes import DType
from fsdbt.errors import OnlineStoreError
from fsdbt.online import EntityKeyError, FieldStatus, OnlineStore, ViewRead

from .helpers import T0, make_view, rows

S = timedelta(seconds=1)


def read_one(store: OnlineStore, view: Any, key: dict[str, Any], now: datetime = T0) -> dict[str, Any]:
    res = store.read([ViewRead(view)], [key], now)
    return {name: (col[0], res.statuses[name][0]) for name, col in res.to_dict().items()
            if name in res.statuses}


def test_newer_wins_older_never_overwrites(store: OnlineStore) -> None:
    view = make_view()
    assert store.write_batch(view, rows(view, [{"driver_id": 1, "event_timestamp": T0, "trips": 2}])).written == 1
    stats = store.write_batch(view, rows(view, [{"driver_id": 1, "event_timestamp": T0 - S, "trips": 1}]))
    assert (stats.written, stats.skipped) == (0, 1)
    assert read_one(store, view, {"driver_id": 1})["trips"] == (2, FieldStatus.PRESENT)
    store.write_batch(view, rows(view, [{"driver_id": 1, "event_timestamp": T0 + S, "trips": 3}]))
    assert read_one(store, view, {"driver_id": 1}, T0 + S)["trips"] == (3, FieldStatus.PRESENT)


def test_out_of_order_rows_in_one_batch(store: OnlineStore) -> None:
    view = make_view()
    batch = rows(view, [{"driver_id": 7, "event_timestamp": T0 - 2 * S, "trips": 1},
                        {"driver_id": 7, "event_timestamp": T0, "trips": 3},
                        {"driver_id": 7, "event_timestamp": T0 - S, "trips": 2}])
    stats = store.write_batch(view, batch)
    assert (stats.written, stats.skipped) == (2, 1)
    assert read_one(store, view, {"driver_id": 7})["trips"] == (3, FieldStatus.PRESENT)


def test_correction_with_later_created_time_wins(store: OnlineStore) -> None:
    view = make_view()
    store.write_batch(view, rows(view, [{"driver_id": 1, "event_timestamp": T0, "created": T0, "trips": 1}]))
    # An earlier created time at the same event time is not a correction.
    assert store.write_batch(view, rows(view, [
        {"driver_id": 1, "event_timestamp": T0, "created": T0 - S, "trips": 0}])).written == 0
    assert store.write_batch(view, rows(view, [
        {"driver_id": 1, "event_timestamp": T0, "created": T0 + S, "trips": 5}])).written == 1
    assert read_one(store, view, {"driver_id": 1})["trips"] == (5, FieldStatus.PRESENT)


def test_identical_row_is_skipped_and_rerun_is_idempotent(store: OnlineStore) -> None:
    view = make_view()
    batch = rows(view, [{"driver_id": i, "event_timestamp": T0, "created": T0, "trips": i, "city": "x"}
                        for i in range(50)])
    assert store.write_batch(view, batch).written == 50
    stats = store.write_batch(view, batch)
    assert (stats.written, stats.skipped) == (0, 50)


def test_same_times_different_content_is_rewritten(store: OnlineStore) -> None:
    # Without a created time, the warehouse's current row is the truth: a rerun picks it up.
    view = make_view(created=False)
    store.write_batch(view, rows(view, [{"driver_id": 1, "event_timestamp": T0, "trips": 1}]))
    assert store.write_batch(view, rows(view, [{"driver_id": 1, "event_timestamp": T0, "trips": 2}])).written == 1
    assert read_one(store, view, {"driver_id": 1})["trips"] == (2, FieldStatus.PRESENT)


def test_null_feature_in_newer_row_removes_old_value(store: OnlineStore) -> None:
    view = make_view()
    store.write_batch(view, rows(view, [{"driver_id": 1, "event_timestamp": T0 - S, "trips": 4, "city": "a"}]))
    store.write_batch(view, rows(view, [{"driver_id": 1, "event_timestamp": T0, "trips": None, "city": "b"}]))
    got = read_one(store, view, {"driver_id": 1})
    assert got["trips"] == (None, FieldStatus.NULL_VALUE)
    assert got["city"] == ("b", FieldStatus.PRESENT)


def test_ttl_edge_inclusive_and_just_outside(store: OnlineStore) -> None:
    view = make_view(ttl=timedelta(hours=2))
    store.write_batch(view, rows(view, [{"driver_id": 1, "event_timestamp": T0, "trips": 9}]))
    inside = store.read([ViewRead(view)], [{"driver_id": 1}], T0 + timedelta(hours=2))
    assert inside.statuses["trips"] == [FieldStatus.PRESENT] and inside.to_dict()["trips"] == [9]
    outside = store.read([ViewRead(view)], [{"driver_id": 1}], T0 + timedelta(hours=2, microseconds=1))
    assert outside.statuses["trips"] == [FieldStatus.OUTSIDE_MAX_AGE]
    assert outside.to_dict()["trips"] == [None]  # never served as fresh
    assert outside.event_timestamps["trips"] == [T0]


def test_unknown_entity_and_null_key_are_not_found(store: OnlineStore) -> None:
    view = make_view()
    store.write_batch(view, rows(view, [{"driver_id": 1, "event_timestamp": T0, "trips": 1},
                                        {"driver_id": None, "event_timestamp": T0, "trips": 1}]))
    res = store.read([ViewRead(view)], [{"driver_id": 404}, {"driver_id": None}, {"driver_id": 1}], T0)
    assert res.statuses["trips"] == [FieldStatus.NOT_FOUND, FieldStatus.NOT_FOUND, FieldStatus.PRESENT]
    assert res.to_dict()["trips"] == [None, None, 1]
    assert res.event_timestamps["trips"] == [None, None, T0]


HOSTILE = ["a:b", "a", "b:c", "{x}", "}{", "%3A", "%", "", "x}y{z", "ü:\u2603", "a\\*?[", " "]


def test_composite_keys_with_hostile_values(store: OnlineStore) -> None:
    view = make_view("trips by:route", entities=(("city", DType.STRING), ("route", DType.STRING)),
                     features=(("n", DType.INT),))
    pairs = [(a, b) for a in HOSTILE for b in HOSTILE]
    batch = pa.record_batch({"city": [a for a, _ in pairs], "route": [b for _, b in pairs],
                             "event_timestamp": pa.array([T0] * len(pairs), pa.timestamp("us", tz="UTC")),
                             "created": pa.array([None] * len(pairs), pa.timestamp("us", tz="UTC")),
                             "n": list(range(len(pairs)))})
    assert store.write_batch(view, batch).written == len(pairs)  # no two pairs collide
    res = store.read([ViewRead(view)], [{"city": a, "route": b} for a, b in pairs], T0)
    assert res.to_dict()["n"] == list(range(len(pairs)))


def test_key_values_are_coerced_by_key_type(store: OnlineStore) -> None:
    view = make_view()
    store.write_batch(view, rows(view, [{"driver_id": 1001, "event_timestamp": T0, "trips": 1}]))
    res = store.read([ViewRead(view)], [{"driver_id": "1001"}, {"driver_id": 1001.0}], T0)
    assert res.to_dict() == {"driver_id": [1001, 1001], "conv_rate": [None, None], "trips": [1, 1],
                             "city": [None, None]}
    with pytest.raises(EntityKeyError, match="join key 'driver_id' must be an int64 value; got 'abc'"):
        store.read([ViewRead(view)], [{"driver_id": "abc"}], T0)
    with pytest.raises(EntityKeyError, match="missing join key 'driver_id'"):
        store.read([ViewRead(view)], [{"rider_id": 1}], T0)


def test_request_spanning_views_with_different_keys(store: OnlineStore) -> None:
    drivers = make_view("drivers")
    riders = make_view("riders", entities=(("rider_id", DType.STRING),), features=(("score", DType.FLOAT),))
    store.write_batch(drivers, rows(drivers, [{"driver_id": 1, "event_timestamp": T0, "trips": 3}]))
    store.write_batch(riders, rows(riders, [{"rider_id": "r1", "event_timestamp": T0, "score": 0.5}]))
    res = store.read([ViewRead(drivers, ("trips",)), ViewRead(riders)],
                     [{"driver_id": 1, "rider_id": "r1"}, {"driver_id": 2, "rider_id": "r1"}], T0)
    assert res.to_dict() == {"driver_id": [1, 2], "rider_id": ["r1", "r1"], "trips": [3, None],
                             "score": [0.5, 0.5]}
    full = store.read([ViewRead(drivers, ("trips",))], [{"driver_id": 1}], T0, full_feature_names=True)
    assert full.feature_names == ["drivers__trips"]
    with pytest.raises(EntityKeyError, match="missing join key 'rider_id'"):
        store.read([ViewRead(drivers), ViewRead(riders)], [{"driver_id": 1}], T0)
    with pytest.raises(OnlineStoreError, match="has no feature 'trip'; did you mean 'trips'"):
        store.read([ViewRead(drivers, ("trip",))], [{"driver_id": 1}], T0)


def test_values_decode_by_dtype_from_warehouse_arrow_types(store: OnlineStore) -> None:
    view = make_view("typed", features=(("i", DType.INT), ("f", DType.FLOAT), ("d", DType.DECIMAL),
                                        ("s", DType.STRING), ("b", DType.BOOL), ("t", DType.TIMESTAMP),
                                        ("dt", DType.DATE), ("f32", DType.FLOAT), ("e", DType.STRING)))
    ny = pa.array([T0.replace(tzinfo=None)], pa.timestamp("us")).cast(pa.timestamp("ns", tz="America/New_York"))
    batch = pa.record_batch({
        "driver_id": pa.array([5], pa.int8()),
        "event_timestamp": pa.array([T0.replace(tzinfo=None)], pa.timestamp("us")),  # naive means UTC
        "created": pa.array([None], pa.timestamp("us")),
        "i": pa.array([-(2**62)], pa.int64()), "f": pa.array([0.1]), "d": pa.array([Decimal("12.50")],
                                                                                  pa.decimal128(10, 2)),
        "s": pa.array(["héllo\r\n$3"], pa.large_string()), "b": pa.array([False]), "t": ny,
        "dt": pa.array([date(2024, 2, 29)], pa.date32()), "f32": pa.array([0.1], pa.float32()),
        "e": pa.array([""]),
    })
    store.write_batch(view, batch)
    res = store.read([ViewRead(view)], [{"driver_id": 5}], T0)
    assert res.to_dict() == {"driver_id": [5], "i": [-(2**62)], "f": [0.1], "d": [Decimal("12.50")],
                             "s": ["héllo\r\n$3"], "b": [False], "t": [T0], "dt": [date(2024, 2, 29)],
                             "f32": [0.1], "e": [""]}
    assert res.statuses["e"] == [FieldStatus.PRESENT]  # an empty string is a value, not NULL
    table = res.to_arrow()
    assert table.schema.field("t").type == pa.timestamp("us", tz="UTC")
    assert table.schema.field("i").type == pa.int64()
    frame = res.to_pandas()
    assert list(frame.columns) == ["driver_id", "i", "f", "d", "s", "b", "t", "dt", "f32", "e"]


def test_full_refresh_replaces_view_and_drops_entities_not_in_it(store: OnlineStore) -> None:
    view = make_view()
    store.write_batch(view, rows(view, [{"driver_id": i, "event_timestamp": T0, "trips": 1} for i in range(3)]))
    gen = store.begin_refresh(view)
    store.write_batch(view, rows(view, [{"driver_id": 1, "event_timestamp": T0 - S, "trips": 2}]), gen)
    # Until the commit, readers see the previous generation.
    assert read_one(store, view, {"driver_id": 0})["trips"] == (1, FieldStatus.PRESENT)
    store.commit_refresh(view, gen)
    res = store.read([ViewRead(view)], [{"driver_id": i} for i in range(3)], T0)
    assert res.to_dict()["trips"] == [None, 2, None]
    assert res.statuses["trips"][0] == FieldStatus.NOT_FOUND
    # Incremental writes go to the current generation.
    assert store.current_generation(view.name) == gen
    store.write_batch(view, rows(view, [{"driver_id": 0, "event_timestamp": T0, "trips": 7}]))
    assert read_one(store, view, {"driver_id": 0})["trips"] == (7, FieldStatus.PRESENT)


def test_refresh_is_atomic_for_concurrent_readers(make_store: Any) -> None:
    writer, reader = make_store(), make_store()
    view = make_view(features=(("version", DType.INT),))
    n = 200
    keys = [{"driver_id": i} for i in range(n)]

    def generation_rows(version: int) -> pa.RecordBatch:
        return rows(view, [{"driver_id": i, "event_timestamp": T0, "version": version} for i in range(n)])

    writer.write_batch(view, generation_rows(0))
    seen: set[int] = set()
    problems: list[str] = []
    stop = threading.Event()

    def read_loop() -> None:
        while not stop.is_set():
            res = reader.read([ViewRead(view)], keys, T0)
            versions = set(res.to_dict()["version"])
            if len(versions) != 1 or None in versions:
                problems.append(f"mixed or missing: {sorted(map(str, versions))}")
                return
            seen.update(versions)  # type: ignore[arg-type]

    thread = threading.Thread(target=read_loop)
    thread.start()
    try:
        for version in range(1, 6):
            gen = writer.begin_refresh(view)
            # Written in small slices so that a reader has time to look at a half-built generation.
            for start in range(0, n, 20):
                writer.write_batch(view, generation_rows(version).slice(start, 20), gen)
                time.sleep(0.002)
            writer.commit_refresh(view, gen)
            time.sleep(0.02)
    finally:
        stop.set()
        thread.join(timeout=30)
    assert not problems, problems[0]
    assert not thread.is_alive()
    assert len(seen) >= 2  # the reader did see a flip
    assert reader.read([ViewRead(view)], [{"driver_id": 0}], T0).to_dict()["version"] == [5]


def test_abandoned_refresh_leaves_previous_readable_and_is_cleaned(make_store: Any) -> None:
    store = make_store()
    view = make_view()
    store.write_batch(view, rows(view, [{"driver_id": 1, "event_timestamp": T0, "trips": 1}]))
    crashed = store.begin_refresh(view)
    store.write_batch(view, rows(view, [{"driver_id": 1, "event_timestamp": T0, "trips": 99},
                                        {"driver_id": 2, "event_timestamp": T0, "trips": 99}]), crashed)
    store.close()  # the sync dies before commit
    store = make_store()
    assert read_one(store, view, {"driver_id": 1})["trips"] == (1, FieldStatus.PRESENT)
    gen = store.begin_refresh(view)
    assert gen > crashed
    # The abandoned generation is gone: writing it again to a stale id fails loudly at commit.
    with pytest.raises(OnlineStoreError, match="is not being built"):
        store.commit_refresh(view, crashed)
    store.write_batch(view, rows(view, [{"driver_id": 3, "event_timestamp": T0, "trips": 3}]), gen)
    store.commit_refresh(view, gen)
    res = store.read([ViewRead(view)], [{"driver_id": 1}, {"driver_id": 2}, {"driver_id": 3}], T0)
    assert res.to_dict()["trips"] == [None, None, 3]
    # Only the committed generation's row and the view's metadata remain.
    assert store.teardown(view.name) <= 2


def test_lock_refuses_second_holder_and_expires(store: OnlineStore) -> None:
    assert store.acquire_lock("v", "sync-a", 0.5)
    assert not store.acquire_lock("v", "sync-b", 10)
    assert store.acquire_lock("v", "sync-a", 0.5)  # the holder may extend
    assert not store.release_lock("v", "sync-b")
    time.sleep(0.7)
    assert store.acquire_lock("v", "sync-b", 10)  # expired on its own
    assert store.release_lock("v", "sync-b")
    assert store.acquire_lock("v", "sync-a", 10)


def test_state_round_trip(store: OnlineStore) -> None:
    assert store.get_state("v") is None
    store.set_state("v", {"watermark": "2024-05-01T12:00:00Z", "rows": 3})
    assert store.get_state("v") == {"watermark": "2024-05-01T12:00:00Z", "rows": 3}


def test_teardown_deletes_only_that_view(store: OnlineStore) -> None:
    views = [make_view(name) for name in ("v", "v_2", "v:2", "w")]
    for v in views:
        store.write_batch(v, rows(v, [{"driver_id": i, "event_timestamp": T0, "trips": i} for i in range(3)]))
        store.set_state(v.name, {"n": 1})
        store.acquire_lock(v.name, "me", 60)
    assert store.teardown("v") > 0
    assert store.get_state("v") is None
    assert store.acquire_lock("v", "other", 60)  # the lock went too
    assert store.read([ViewRead(views[0])], [{"driver_id": 1}], T0).statuses["trips"] == [FieldStatus.NOT_FOUND]
    for v in views[1:]:
        assert store.read([ViewRead(v)], [{"driver_id": 1}], T0).to_dict()["trips"] == [1]
        assert store.get_state(v.name) == {"n": 1}
        assert not store.acquire_lock(v.name, "other", 60)


def test_large_batch_in_chunks(store: OnlineStore) -> None:
    view = make_view()
    n = 5_000
    batch = pa.record_batch({
        "driver_id": pa.array(range(n), pa.int64()),
        "event_timestamp": pa.array([T0 - timedelta(seconds=i % 7) for i in range(n)], pa.timestamp("us", tz="UTC")),
        "created": pa.array([None] * n, pa.timestamp("us", tz="UTC")),
        "conv_rate": pa.array([i / 3 for i in range(n)]),
        "trips": pa.array([i if i % 5 else None for i in range(n)], pa.int64()),
        "city": pa.array([f"c{i}" for i in range(n)]),
    })
    assert store.write_batch(view, pa.Table.from_batches([batch])).written == n
    res = store.read([ViewRead(view)], [{"driver_id": i} for i in range(0, n, 37)], T0)
    assert res.to_dict()["trips"] == [i if i % 5 else None for i in range(0, n, 37)]
    assert res.to_dict()["conv_rate"] == [i / 3 for i in range(0, n, 37)]


def test_event_time_null_rows_are_skipped(store: OnlineStore) -> None:
    view = make_view()
    stats = store.write_batch(view, rows(view, [{"driver_id": 1, "event_timestamp": None, "trips": 1},
                                                {"driver_id": 2, "event_timestamp": T0, "trips": 2}]))
    assert (stats.written, stats.skipped) == (1, 1)
    assert read_one(store, view, {"driver_id": 1})["trips"] == (None, FieldStatus.NOT_FOUND)


def test_now_defaults_to_current_time_and_naive_now_is_utc(store: OnlineStore) -> None:
    view = make_view(ttl=timedelta(days=1))
    recent = datetime.now(timezone.utc) - timedelta(hours=1)
    store.write_batch(view, rows(view, [{"driver_id": 1, "event_timestamp": recent, "trips": 1}]))
    assert store.read([ViewRead(view)], [{"driver_id": 1}]).statuses["trips"] == [FieldStatus.PRESENT]
    naive = (recent + timedelta(days=1)).replace(tzinfo=None)
    assert store.read([ViewRead(view)], [{"driver_id": 1}], naive).statuses["trips"] == [FieldStatus.PRESENT]


def test_rows_with_different_null_patterns_in_one_read(store: OnlineStore) -> None:
    """Stores lay fields out by which values are NULL: every pattern reads back right, in any mix."""
    view = make_view()
    patterns = [{"conv_rate": 0.5, "trips": 3, "city": "a"}, {"trips": 4, "city": "b"},
                {"conv_rate": 0.25}, {}, {"conv_rate": 0.75, "city": "c"}, {"conv_rate": 1.5, "trips": 9, "city": "d"}]
    records = [{"driver_id": i, "event_timestamp": T0, **p} for i, p in enumerate(patterns)]
    store.write_batch(view, rows(view, records))
    order = [5, 0, 3, 1, 9, 2, 4, 0, 1]  # repeats, a missing entity, layouts alternating
    for _ in range(2):  # the second read meets the layouts it has seen
        res = store.read([ViewRead(view)], [{"driver_id": i} for i in order], T0)
        got = res.to_dict()
        for feature in ("conv_rate", "trips", "city"):
            assert got[feature] == [patterns[i].get(feature) if i < len(patterns) else None for i in order]
            assert res.statuses[feature] == [
                FieldStatus.NOT_FOUND if i >= len(patterns) else
                FieldStatus.PRESENT if feature in patterns[i] else FieldStatus.NULL_VALUE for i in order]
        assert res.event_timestamps["trips"] == [None if i >= len(patterns) else T0 for i in order]


def test_live_writes_during_a_full_refresh_survive_the_flip(make_store: Any) -> None:
    """A push while a full refresh is being built is kept at the flip, where it is the newest row."""
    syncer, pusher = make_store(), make_store()
    view = make_view(features=(("trips", DType.INT),))

    def batch(records: list[tuple[int, datetime, int]]) -> pa.RecordBatch:
        return rows(view, [{"driver_id": k, "event_timestamp": t, "trips": v} for k, t, v in records])

    syncer.write_batch(view, batch([(1, T0, 10), (2, T0, 20), (3, T0, 30), (9, T0, 90)]))
    gen = syncer.begin_refresh(view)
    # Pushed before the build writes these entities: the build's older warehouse rows must not win.
    pusher.write_batch(view, batch([(1, T0 + 2 * S, 11), (4, T0 + 2 * S, 41)]))
    syncer.write_batch(view, batch([(1, T0 + S, 12), (2, T0 + S, 22), (3, T0 + S, 32)]), gen)
    # Pushed after the build wrote them: one newer than the build's row, one older.
    pusher.write_batch(view, batch([(2, T0 + 3 * S, 23), (3, T0, 33)]))
    # Readers still see the previous generation, with the pushes.
    assert read_one(syncer, view, {"driver_id": 1})["trips"] == (11, FieldStatus.PRESENT)
    syncer.commit_refresh(view, gen)
    got = pusher.read([ViewRead(view)], [{"driver_id": k} for k in (1, 2, 3, 4, 9)], T0 + 3 * S).to_dict()
    # 9 was in neither the warehouse nor a push during the build: the refresh drops it.
    assert got["trips"] == [11, 23, 32, 41, None]
    # After the flip, pushes go to the new generation only, and the next refresh starts clean.
    pusher.write_batch(view, batch([(4, T0 + 4 * S, 42)]))
    assert read_one(syncer, view, {"driver_id": 4}, T0 + 4 * S)["trips"] == (42, FieldStatus.PRESENT)
    again = syncer.begin_refresh(view)
    syncer.write_batch(view, batch([(1, T0 + S, 13)]), again)
    syncer.commit_refresh(view, again)
    got = pusher.read([ViewRead(view)], [{"driver_id": k} for k in (1, 4)], T0 + 4 * S).to_dict()
    assert got["trips"] == [13, None]
