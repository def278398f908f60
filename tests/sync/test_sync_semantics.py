"""The sync's semantics on a warehouse table the tests control, on every kind of online store.

Late rows, corrections, out-of-order loads, idempotent reruns, ttl on read, deletions under
``--full-refresh`` and definition changes: each case appends rows to a DuckDB table, runs the
sync's runner (``sync_view``) and reads the online store back.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from fsdbt.definitions import FeatureView
from fsdbt.dtypes import DType
from fsdbt.errors import OnlineStoreError
from fsdbt.online import FieldStatus, OnlineStore, ViewRead
from fsdbt.sync.runner import SyncOptions, ViewSync, state_key, sync_view
from tests.sync.conftest import Warehouse, events_table, events_view

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=timezone.utc)
H = timedelta(hours=1)
NOW = T0 + 6 * H


def row(entity: int, event: datetime, created: datetime | None, version: int, **extra: Any) -> dict[str, Any]:
    return {"entity_id": entity, "event_ts": event.replace(tzinfo=None),
            "created_ts": created.replace(tzinfo=None) if created else None, "version": version,
            "score": version / 10, "label": f"v{version}", **extra}


def sync(view: FeatureView, warehouse: Warehouse, store: OnlineStore, **options: Any) -> ViewSync:
    options.setdefault("now", NOW)
    with warehouse.open() as wh:
        result = sync_view(view, wh, store, SyncOptions(**options))
    assert result.status == "ok", result.message
    return result


def versions(store: OnlineStore, view: FeatureView, entities: Sequence[int],
             now: datetime = NOW) -> list[tuple[Any, FieldStatus]]:
    res = store.read([ViewRead(view)], [{"entity_id": e} for e in entities], now)
    return list(zip(res.to_dict()["version"], res.statuses["version"]))


P, MISSING, STALE = FieldStatus.PRESENT, FieldStatus.NOT_FOUND, FieldStatus.OUTSIDE_MAX_AGE


def test_late_rows_reach_the_store_only_when_they_are_the_latest(store: OnlineStore, warehouse: Warehouse) -> None:
    view = events_view()
    warehouse.load(events_table([row(1, T0, T0, 1), row(2, T0, T0, 1), row(3, T0, T0, 1)]))
    first = sync(view, warehouse, store)
    assert (first.mode, first.rows_read, first.written) == ("full", 3, 3)
    # Loaded after the sync: entity 1 gets a row with an old event time that is still its latest;
    # entity 2 a row older than the one online; entity 3 nothing.
    warehouse.append(events_table([row(1, T0 + H, T0 + 5 * H, 2), row(2, T0 - H, T0 + 5 * H, 2)]))
    second = sync(view, warehouse, store)
    # Rows created at the high-water mark (entity 3's) are read again and skipped.
    assert (second.mode, second.rows_read, second.written, second.skipped) == ("incremental", 3, 1, 2)
    assert versions(store, view, [1, 2, 3]) == [(2, P), (1, P), (1, P)]


def test_out_of_order_loads_keep_the_latest_event(store: OnlineStore, warehouse: Warehouse) -> None:
    view = events_view()
    warehouse.load(events_table([row(1, T0 + 2 * H, T0 + 2 * H, 3)]))
    sync(view, warehouse, store)
    # Loaded later, in reverse order of event time, over two syncs: none is newer than version 3.
    warehouse.append(events_table([row(1, T0 + H, T0 + 3 * H, 2)]))
    assert sync(view, warehouse, store).written == 0
    warehouse.append(events_table([row(1, T0, T0 + 4 * H, 1), row(1, T0 + 3 * H, T0 + 4 * H, 4),
                                   row(1, T0 + H / 2, T0 + 4 * H, 0)]))
    result = sync(view, warehouse, store)
    assert (result.rows_read, result.written) == (1, 1)
    assert versions(store, view, [1]) == [(4, P)]


def test_correction_with_a_later_created_time_overwrites(store: OnlineStore, warehouse: Warehouse) -> None:
    view = events_view()
    warehouse.load(events_table([row(1, T0, T0, 1), row(2, T0, T0, 1)]))
    sync(view, warehouse, store)
    warehouse.append(events_table([row(1, T0, T0 + H, 7)]))
    assert sync(view, warehouse, store).written == 1
    assert versions(store, view, [1, 2]) == [(7, P), (1, P)]
    # A "correction" created earlier than the stored row does not win.
    warehouse.append(events_table([row(2, T0, T0 - H, 9)]))
    assert sync(view, warehouse, store, full_refresh=True).written == 2
    assert versions(store, view, [1, 2]) == [(7, P), (1, P)]


def test_rows_created_exactly_at_the_high_water_mark_are_not_missed(store: OnlineStore,
                                                                    warehouse: Warehouse) -> None:
    view = events_view()
    warehouse.load(events_table([row(1, T0, T0 + H, 1)]))
    sync(view, warehouse, store)
    assert store.get_state(view.name)["watermark"].startswith("2025-03-01T13:00:00")  # type: ignore[index]
    # Another row of the same load (same created time) lands after the sync read the table.
    warehouse.append(events_table([row(2, T0, T0 + H, 1)]))
    assert sync(view, warehouse, store).written == 1
    assert versions(store, view, [1, 2]) == [(1, P), (1, P)]


@pytest.mark.parametrize("created", [True, False], ids=["created-timestamp", "no-created-timestamp"])
def test_rerun_is_idempotent(store: OnlineStore, warehouse: Warehouse, created: bool) -> None:
    view = events_view(created=created)
    warehouse.load(events_table([row(i, T0 + (i % 3) * H, T0 + 4 * H, i) for i in range(50)], created=created))
    first = sync(view, warehouse, store)
    assert (first.mode, first.written) == ("full", 50)
    for _ in range(2):
        again = sync(view, warehouse, store)
        assert (again.mode, again.written, again.skipped) == ("incremental", 0, again.rows_read)
    # Without a created timestamp every sync reads every entity's latest row; with one, only the rows
    # created at or after the last sync's high-water mark.
    warehouse.append(events_table([row(0, T0 + 3 * H, T0 + 5 * H, 99)], created=created))
    assert sync(view, warehouse, store).written == 1
    again = sync(view, warehouse, store)
    assert (again.written, again.rows_read) == (0, 1 if created else 50)


def test_view_without_created_timestamp_takes_newer_rows_and_ignores_older(store: OnlineStore,
                                                                           warehouse: Warehouse) -> None:
    view = events_view(created=False)
    warehouse.load(events_table([row(1, T0, None, 1), row(2, T0, None, 1)], created=False))
    sync(view, warehouse, store)
    warehouse.append(events_table([row(1, T0 + H, None, 2), row(2, T0 - H, None, 2)], created=False))
    result = sync(view, warehouse, store)
    assert (result.mode, result.rows_read, result.written) == ("incremental", 2, 1)
    assert versions(store, view, [1, 2]) == [(2, P), (1, P)]


def test_ttl_is_enforced_on_read_at_the_edge(store: OnlineStore, warehouse: Warehouse) -> None:
    view = events_view(ttl=2 * H)
    warehouse.load(events_table([row(1, T0, T0, 1), row(2, T0 + H, T0, 1)]))
    sync(view, warehouse, store, now=T0 + H)
    edge = T0 + 2 * H
    assert versions(store, view, [1, 2], now=edge) == [(1, P), (1, P)]  # inclusive
    assert versions(store, view, [1, 2], now=edge + timedelta(microseconds=1)) == [(None, STALE), (1, P)]
    assert versions(store, view, [1, 2, 3], now=T0 + 4 * H) == [(None, STALE), (None, STALE), (None, MISSING)]
    # A sync at a later time leaves out rows already outside the ttl, so it writes nothing new.
    later = sync(view, warehouse, store, now=T0 + 10 * H, full_refresh=True)
    assert later.rows_read == 0
    assert versions(store, view, [1, 2], now=T0 + 10 * H) == [(None, MISSING), (None, MISSING)]


def test_full_refresh_removes_entities_deleted_from_the_warehouse(store: OnlineStore,
                                                                  warehouse: Warehouse) -> None:
    view = events_view()
    warehouse.load(events_table([row(i, T0, T0, 1) for i in range(1, 4)]))
    sync(view, warehouse, store)
    warehouse.execute("delete from raw.events where entity_id = 2")
    # An incremental sync only adds and replaces: the deleted entity stays online...
    assert sync(view, warehouse, store).written == 0
    assert versions(store, view, [1, 2, 3]) == [(1, P), (1, P), (1, P)]
    # ...until a full refresh, which rebuilds the view in a new generation.
    result = sync(view, warehouse, store, full_refresh=True)
    assert (result.mode, result.written) == ("full", 2)
    assert versions(store, view, [1, 2, 3]) == [(1, P), (None, MISSING), (1, P)]
    assert sync(view, warehouse, store).mode == "incremental"


def test_next_sync_removes_a_full_refresh_whose_sync_died(store: OnlineStore, warehouse: Warehouse) -> None:
    view = events_view()
    warehouse.load(events_table([row(i, T0, T0, 1) for i in range(1, 4)]))
    sync(view, warehouse, store)
    # A --full-refresh that dies after writing part of its generation (its lock expired since).
    dead = store.begin_refresh(view)
    store.write_batch(view, events_table([row(i, T0 + H, T0 + H, 9) for i in range(1, 3)]), dead)
    assert versions(store, view, [1, 2]) == [(1, P), (1, P)]
    result = sync(view, warehouse, store)
    assert result.mode == "incremental" and "removed 2 rows of an unfinished full refresh" in result.message
    assert store.discard_abandoned_refresh(view) == 0  # nothing left behind
    assert versions(store, view, [1, 2, 3]) == [(1, P), (1, P), (1, P)]
    # The next full refresh starts from a clean slate and commits as usual.
    assert sync(view, warehouse, store, full_refresh=True).written == 3
    assert sync(view, warehouse, store).message == ""


def test_sharded_full_refresh_is_one_generation_switched_in_by_the_last_shard(store: OnlineStore,
                                                                               warehouse: Warehouse) -> None:
    from fsdbt.sync.plan import Shard

    view = events_view()
    entities = list(range(1, 13))
    warehouse.load(events_table([row(i, T0, T0, 1) for i in entities]))

    def shard(i: int, **options: Any) -> ViewSync:
        return sync(view, warehouse, store, shard=Shard(i, 3), **options)

    # The first sharded sync: nothing is served until the last shard has written its part.
    assert shard(0).message.startswith("1 of 3 shards have rebuilt their part")
    assert shard(1).message.startswith("2 of 3 shards")
    assert versions(store, view, entities) == [(None, MISSING)] * 12
    assert shard(2).message == "the last of 3 shards: the rebuilt view is served now"
    assert versions(store, view, entities) == [(1, P)] * 12

    # Entity 2 deleted, every other one updated: a sharded full refresh, with shard 1 retried.
    warehouse.execute("delete from raw.events where entity_id = 2")
    warehouse.append(events_table([row(i, T0 + H, T0 + H, 2) for i in entities if i != 2]))
    shard(0, full_refresh=True)
    shard(1, full_refresh=True)
    assert shard(1, full_refresh=True).message.startswith("2 of 3 shards")  # a retry counts once
    # Nothing discards a sharded build as a dead sync's leftover (its shards hold their own locks).
    assert store.discard_abandoned_refresh(view) == 0
    assert versions(store, view, [2, 3]) == [(1, P), (1, P)]  # still the previous generation
    shard(2, full_refresh=True)
    assert versions(store, view, entities) == [(None, MISSING) if i == 2 else (2, P) for i in entities]
    assert store.discard_abandoned_refresh(view) == 0

    # A build left half done for longer than the stale limit is abandoned by the next run, not joined.
    first, _ = store.join_refresh(view, 0, 3, timedelta(hours=1))
    again, fresh = store.join_refresh(view, 1, 3, timedelta(0))
    assert again > first and fresh
    with pytest.raises(OnlineStoreError, match="is not being built"):
        store.finish_shard(view, first, 0)
    assert versions(store, view, [1]) == [(2, P)]


def test_changed_definition_triggers_a_full_refresh(store: OnlineStore, warehouse: Warehouse) -> None:
    view = events_view()
    warehouse.load(events_table([row(1, T0, T0, 1), row(2, T0, T0, 1)]))
    sync(view, warehouse, store)
    # A new feature column, and entity 2 gone: the next sync rebuilds the view from scratch.
    warehouse.execute("alter table raw.events add column city varchar", "update raw.events set city = 'Lyon'",
                      "delete from raw.events where entity_id = 2")
    wider = events_view(extra=(("city", DType.STRING),))
    result = sync(wider, warehouse, store)
    assert (result.mode, result.written) == ("full", 1)
    res = store.read([ViewRead(wider)], [{"entity_id": 1}, {"entity_id": 2}], NOW)
    assert res.to_dict()["city"] == ["Lyon", None]
    assert res.statuses["city"] == [P, MISSING]
    assert sync(wider, warehouse, store).mode == "incremental"
    # A longer ttl is a changed definition too: rows left out under the old ttl must be read.
    assert sync(events_view(extra=(("city", DType.STRING),), ttl=30 * H), warehouse, store).mode == "full"


def test_state_records_the_sync(store: OnlineStore, warehouse: Warehouse) -> None:
    view = events_view()
    warehouse.load(events_table([row(1, T0, T0 + H, 1), row(2, T0, T0 + 2 * H, 1)]))
    sync(view, warehouse, store)
    state = store.get_state(state_key(view, None))
    assert state is not None
    assert state["mode"] == "full" and state["rows"] == 2 and state["synced_at"] == NOW.isoformat()
    assert datetime.fromisoformat(state["watermark"]) == T0 + 2 * H
    # A dry run plans the same SQL and touches nothing.
    with warehouse.open() as wh:
        dry = sync_view(view, wh, store, SyncOptions(dry_run=True, now=NOW))
    assert dry.status == "dry-run" and dry.mode == "incremental" and "2025-03-01 14:00:00" in (dry.sql or "")
    assert store.get_state(view.name) == state


def test_a_lock_left_by_a_dead_sync_on_this_machine_is_taken_over(store: OnlineStore,
                                                                  warehouse: Warehouse) -> None:
    import os
    import socket
    import subprocess
    import sys

    view = events_view()
    warehouse.load(events_table([row(1, T0, T0, 1)]))
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True, timeout=60, check=True)
    host = socket.gethostname()
    assert store.acquire_lock(view.name, f"{host}:{dead.stdout.strip()}:abc", 60)
    assert sync(view, warehouse, store).written == 1
    # A live holder (this process), or one on another machine, keeps its lock.
    for holder in (f"{host}:{os.getpid()}:abc", f"elsewhere-{host}:{dead.stdout.strip()}:abc"):
        assert store.acquire_lock(view.name, holder, 60)
        with warehouse.open() as wh:
            refused = sync_view(view, wh, store, SyncOptions(now=NOW))
        assert refused.status == "locked" and holder in refused.message
        assert store.release_lock(view.name, holder)
