"""Concurrency: a second sync of a view is refused while the first runs (the other views go on),
and readers during a full refresh never see a mix of generations."""

from __future__ import annotations

import json
import random
import signal
import threading
from datetime import timedelta
from typing import Any

import pytest

from fsdbt.online import FieldStatus, ViewRead
from fsdbt.online.redis_store import RedisOnlineStore
from fsdbt.sync.runner import SyncOptions, sync_view
from tests.faults import report
from tests.faults.helpers import T0, VIEW, WAIT, N, add_version, assert_converged, wait_for
from tests.sync.conftest import Warehouse, fsdbt, fsdbt_background

pytestmark = pytest.mark.redis


@pytest.mark.slow
def test_a_second_sync_of_a_view_is_refused_while_the_first_runs(synced: Any) -> None:
    project, server, client, prefix = synced
    env = project.env(server.url, prefix)
    add_version(project.warehouse, 1, 0, 10, table="others")
    first = fsdbt_background("sync", "--select", "events", "--full-refresh", env=env, cwd=project.root)
    try:
        wait_for(lambda: int(client.dbsize()) >= N + 1000, first, "progress")
        first.send_signal(signal.SIGSTOP)  # hold it mid-view, with its lock, for as long as needed
        report.fault()
        holder = client.get(f"{prefix}:v1:events:_lock")
        assert holder is not None and f":{first.pid}:" in holder.decode()
        alone = fsdbt("sync", "--select", "events", env=env, cwd=project.root)
        assert alone.returncode == 1, alone.stderr  # every view refused
        assert f"events: locked: another sync of 'events' is running ({holder.decode()})" in alone.stderr
        both = fsdbt("sync", "--json", env=env, cwd=project.root)
        assert both.returncode == 3, both.stderr  # partial: the other view went on
        views = {v["view"]: v for v in json.loads(both.stdout)["views"]}
        assert views["events"]["status"] == "locked" and "another sync of 'events'" in views["events"]["message"]
        assert views["others"]["status"] == "ok" and views["others"]["written"] == 10
        first.send_signal(signal.SIGCONT)
        _, err = first.communicate(timeout=WAIT)
        assert first.returncode == 0, err
    finally:
        if first.poll() is None:
            first.send_signal(signal.SIGCONT)
            first.kill()
            first.wait(timeout=WAIT)
    assert client.get(f"{prefix}:v1:events:_lock") is None
    assert_converged(client, prefix, project.warehouse)
    report.count("reruns converged")


@pytest.mark.parametrize("store_kind", [pytest.param("redis"), pytest.param("cluster")], indirect=True)
def test_reader_storm_during_a_full_refresh_never_sees_a_mix(make_store: Any, warehouse: Warehouse) -> None:
    """Readers see every entity at the old version or every one at the new, never both."""
    n = 5_000
    sync_store, reader = make_store(), make_store()
    assert isinstance(sync_store, RedisOnlineStore)
    warehouse.execute("create table raw.events (entity_id bigint, event_ts timestamp, created_ts timestamp, "
                      "version bigint, score double, label varchar)")
    add_version(warehouse, 1, 0, n)
    now = T0 + timedelta(days=1)

    def sync(full_refresh: bool) -> None:
        with warehouse.open() as wh:
            result = sync_view(VIEW, wh, sync_store, SyncOptions(full_refresh=full_refresh, now=now,
                                                                 batch_rows=100))
        assert result.status == "ok", result.message

    sync(False)
    add_version(warehouse, 2, 0, n)
    problems: list[str] = []
    seen: set[Any] = set()
    done = threading.Event()
    reads = 0

    def refresh() -> None:
        try:
            sync(True)
        finally:
            done.set()

    thread = threading.Thread(target=refresh)
    thread.start()
    report.fault()
    rng = random.Random()
    try:
        while not done.is_set():
            rows = [{"entity_id": e} for e in rng.sample(range(n), 200)]
            res = reader.read([ViewRead(VIEW, ("version",))], rows, now)
            reads += 1
            versions = set(res.to_dict()["version"])
            if len(versions) != 1 or res.statuses["version"][0] != FieldStatus.PRESENT:
                problems.append(f"a read saw versions {sorted(map(str, versions))}")
                break
            seen |= versions
    finally:
        thread.join(timeout=WAIT)
    report.count("keys checked", reads * 200)
    assert not problems, problems[0]
    assert reader.read([ViewRead(VIEW, ("version",))], [{"entity_id": 0}], now).to_dict()["version"] == [2]
    assert 1 in seen  # the reader did look while the new generation was being built
