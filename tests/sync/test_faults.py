"""``fsdbt sync`` under faults, against real redis-server processes the tests own.

A sync is SIGKILLed mid-view, Redis is restarted mid-sync and is down when a sync starts; a
second sync of a view runs while the first holds its lock; a reader watches a full refresh.
After each fault, the previous state must still be readable and a rerun must converge: the
current generation holds exactly the warehouse's latest row per entity, key by key.
"""

from __future__ import annotations

import json
import random
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
import redis

from fsdbt.online import FieldStatus, ViewRead, codec
from fsdbt.online.redis_store import RedisOnlineStore
from fsdbt.store import FeatureStore
from fsdbt.sync.runner import SyncOptions, sync_view
from tests.sync.conftest import (
    RedisServer,
    SyncProject,
    Warehouse,
    events_view,
    fsdbt,
    fsdbt_background,
)

pytestmark = pytest.mark.redis

T0 = datetime(2025, 6, 1, tzinfo=timezone.utc)
N = 15_000  # entities: a full sync of them takes about a second here, so a kill lands mid-stream
VIEW = events_view()
WAIT = 60.0


def add_version(wh: Warehouse, version: int, first: int, count: int, table: str = "events") -> None:
    """Rows for entities ``first .. first+count-1``: event and created times grow with ``version``."""
    event = (T0 + timedelta(hours=version)).replace(tzinfo=None)
    created = event + timedelta(minutes=5)
    wh.execute(f"insert into raw.{table} select i::bigint, timestamp '{event}', timestamp '{created}', "
               f"{version}::bigint, (i * {version}) / 7.0, 'v{version}-' || i::varchar "
               f"from range({first}, {first + count}) t(i)")


def expected_rows(wh: Warehouse, table: str = "events") -> dict[str, dict[bytes, bytes]]:
    """The warehouse's latest row per entity (an independent query), as the Redis hashes must hold it."""
    latest = wh.sql(f"select * from raw.{table} qualify row_number() over (partition by entity_id "
                    f"order by event_ts desc, created_ts desc) = 1")
    keys, event, created, values = codec.encoded_columns(VIEW, latest.combine_chunks().to_batches()[0])
    out: dict[str, dict[bytes, bytes]] = {}
    columns = [v.to_pylist() for v in values]
    for i, (key, ev, cr) in enumerate(zip(keys.to_pylist(), event.to_pylist(), created.to_pylist())):
        row = {b"_event_ts": ev.encode(), b"_created_ts": cr.encode()}
        row.update({f.name.encode(): col[i].encode() for f, col in zip(VIEW.features, columns)
                    if col[i] is not None})
        out[key] = row
    return out


def online_rows(client: redis.Redis, prefix: str, view: str = "events") -> dict[str, dict[bytes, bytes]]:
    """Every entity hash of the view's current generation, read with plain Redis commands."""
    head = f"{prefix}:v1:{view}:"
    gen = int(client.hget(head + "_gen", "current") or 0)
    keys = list(client.scan_iter(match=f"{head}g{gen}:*", count=5000))
    pipe = client.pipeline(transaction=False)
    for key in keys:
        pipe.hgetall(key)
    start = len(f"{head}g{gen}:{{")
    return {key.decode()[start:-1]: row for key, row in zip(keys, pipe.execute())}


def assert_converged(client: redis.Redis, prefix: str, wh: Warehouse, table: str = "events") -> None:
    want, got = expected_rows(wh, table), online_rows(client, prefix, table)
    missing, extra = want.keys() - got.keys(), got.keys() - want.keys()
    wrong = [k for k in want.keys() & got.keys() if want[k] != got[k]]
    assert not (missing or extra or wrong), (f"{len(missing)} missing (e.g. {sorted(missing)[:3]}), "
                                             f"{len(extra)} extra (e.g. {sorted(extra)[:3]}), "
                                             f"{len(wrong)} differ (e.g. {[(k, want[k], got[k]) for k in wrong[:2]]})")


def wait_for(check: Callable[[], bool], proc: subprocess.Popen[str] | None, what: str) -> None:
    deadline = time.monotonic() + WAIT
    while not check():
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"the sync exited ({proc.returncode}) before {what}: {proc.stderr.read()}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"no {what} after {WAIT}s")
        time.sleep(0.01)


def rerun(project: SyncProject, *select: str, full_refresh: bool = False) -> list[tuple[str, str, str, int]]:
    """A sync in this process (the environment points at the test's Redis): view, status, mode, written."""
    with FeatureStore(project.root) as store:
        return [(r.view, r.status, r.mode, r.written) for r in store.sync(list(select), full_refresh=full_refresh)]


def kill_mid_stream(project: SyncProject, server: RedisServer, client: redis.Redis, prefix: str, rng: random.Random,
                    new_keys: int, *args: str) -> None:
    """Start ``fsdbt sync ARGS``, SIGKILL it once a random share of its ``new_keys`` keys exist."""
    gen_key = f"{prefix}:v1:events:_gen"
    building = client.hget(gen_key, "building")
    base = int(client.dbsize())
    share = rng.uniform(0.05, 0.6)
    proc = fsdbt_background("sync", "--select", "events", *args, env=project.env(server.url, prefix),
                            cwd=project.root)
    try:
        if "--full-refresh" in args:
            # A full refresh first deletes what an abandoned one left: count from its new generation.
            wait_for(lambda: client.hget(gen_key, "building") not in (None, building), proc, "a new generation")
            base = int(client.dbsize())
        wait_for(lambda: int(client.dbsize()) >= base + share * new_keys, proc,
                 f"{share:.0%} of {new_keys} new keys")
        proc.send_signal(signal.SIGKILL)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=WAIT)
        proc.stdout.close()  # type: ignore[union-attr]
        proc.stderr.close()  # type: ignore[union-attr]
    assert proc.returncode == -signal.SIGKILL, f"the sync ended on its own ({proc.returncode}) before the kill"


@pytest.fixture
def setup(sync_project: SyncProject, private_redis: Callable[..., RedisServer], key_prefix: str,
          monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[SyncProject, RedisServer, redis.Redis, str]]:
    """A private Redis, N entities at version 1 in the warehouse, synced once (in this process)."""
    server = private_redis()
    wh = sync_project.warehouse
    wh.execute("delete from raw.events", "delete from raw.others")
    add_version(wh, 1, 0, N)
    for key, value in sync_project.env(server.url, key_prefix).items():
        monkeypatch.setenv(key, value)
    with FeatureStore(sync_project.root) as store:
        assert [(r.status, r.written) for r in store.sync(["events"])] == [("ok", N)]
    client = redis.Redis(port=server.port, socket_timeout=10)
    assert_converged(client, key_prefix, wh)
    yield sync_project, server, client, key_prefix
    client.close()


@pytest.mark.slow
def test_sigkill_mid_view_keeps_previous_state_and_a_rerun_converges(setup: Any) -> None:
    project, server, client, prefix = setup
    wh = project.warehouse
    seed = random.randrange(1 << 32)
    print(f"kill points drawn with random.Random({seed})")  # shown with a failure, to replay it
    rng = random.Random(seed)
    state_key = f"{prefix}:v1:events:_state"
    add_version(wh, 2, 0, N)  # every entity gets a newer row, half as many new entities appear
    add_version(wh, 2, N, N // 2)
    before, state = online_rows(client, prefix), client.get(state_key)

    # A full refresh killed mid-stream was never switched in: readers see the previous generation.
    kill_mid_stream(project, server, client, prefix, rng, N + N // 2, "--full-refresh")
    assert online_rows(client, prefix) == before and client.get(state_key) == state

    # An incremental sync killed mid-stream: each entity holds its old row or its latest, whole.
    kill_mid_stream(project, server, client, prefix, rng, N // 2)
    latest, now = expected_rows(wh), online_rows(client, prefix)
    assert client.get(state_key) == state  # the high-water mark did not move
    assert now.keys() <= latest.keys() and before.keys() <= now.keys()
    moved = [k for k in now if now[k] != before.get(k)]
    assert all(now[k] == latest[k] for k in moved) and 0 < len(moved) < len(latest)

    # And a full refresh again, killed at another point.
    kill_mid_stream(project, server, client, prefix, rng, N + N // 2, "--full-refresh")
    assert online_rows(client, prefix) == now

    # The rerun takes over the dead sync's lock at once and converges; a second run writes nothing.
    assert [r[:3] for r in rerun(project, "events")] == [("events", "ok", "incremental")]
    assert_converged(client, prefix, wh)
    assert rerun(project, "events") == [("events", "ok", "incremental", 0)]
    # A later full refresh removes what the killed refreshes left behind.
    assert rerun(project, "events", full_refresh=True)[0][1:3] == ("ok", "full")
    assert_converged(client, prefix, wh)
    assert len(list(client.scan_iter(match=f"{prefix}:v1:events:g*", count=5000))) == N + N // 2


@pytest.mark.slow
def test_redis_restarted_mid_sync_or_down_at_start(setup: Any, private_redis: Callable[..., RedisServer]) -> None:
    project, server, client, prefix = setup
    wh = project.warehouse
    env = project.env(server.url, prefix)
    state_key = f"{prefix}:v1:events:_state"
    add_version(wh, 2, 0, N)
    add_version(wh, 2, N, N // 2)
    before, state = online_rows(client, prefix), client.get(state_key)

    proc = fsdbt_background("sync", "--select", "events", env=env, cwd=project.root)
    try:
        wait_for(lambda: int(client.dbsize()) >= N + N // 8, proc, "progress")
        client.close()
        server.stop()  # SIGTERM: Redis writes its append-only file and exits
        server = private_redis(port=server.port)
        _, err = proc.communicate(timeout=WAIT)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=WAIT)
    assert proc.returncode == 1, err
    assert f"events: failed: Redis at 127.0.0.1:{server.port}" in err and "is the server running" in err, err
    assert "Traceback" not in err
    client = redis.Redis(port=server.port, socket_timeout=10)
    try:
        # The data came back with the restart; the high-water mark did not move.
        assert client.get(state_key) == state
        now = online_rows(client, prefix)
        assert before.keys() <= now.keys()
        latest = expected_rows(wh)
        assert all(now[k] in (before.get(k), latest[k]) for k in now)
        assert rerun(project, "events")[0][1] == "ok"
        assert_converged(client, prefix, wh)

        # Redis down when a sync starts: one clear error, exit 1, nothing advanced.
        add_version(wh, 3, 0, 1000)
        state = client.get(state_key)
        client.close()
        server.stop()
        down = fsdbt("sync", env=env, cwd=project.root)
        assert down.returncode == 1 and down.stdout == ""
        assert down.stderr.startswith(f"fsdbt: error: Redis at 127.0.0.1:{server.port}: ping failed: "
                                      f"ConnectionError: "), down.stderr
        assert "is the server running" in down.stderr and "Traceback" not in down.stderr
        server = private_redis(port=server.port)
        client = redis.Redis(port=server.port, socket_timeout=10)
        assert client.get(state_key) == state
        assert rerun(project, "events")[0][1] == "ok"
        assert_converged(client, prefix, wh)
    finally:
        client.close()


@pytest.mark.slow
def test_a_second_sync_of_a_view_is_refused_while_the_first_runs(setup: Any) -> None:
    project, server, client, prefix = setup
    env = project.env(server.url, prefix)
    add_version(project.warehouse, 1, 0, 10, table="others")
    first = fsdbt_background("sync", "--select", "events", "--full-refresh", env=env, cwd=project.root)
    try:
        wait_for(lambda: int(client.dbsize()) >= N + 1000, first, "progress")
        first.send_signal(signal.SIGSTOP)  # hold it mid-view, with its lock, for as long as needed
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


@pytest.mark.parametrize("store_kind", [pytest.param("redis"), pytest.param("cluster")], indirect=True)
def test_reader_during_a_full_refresh_never_sees_a_mix(make_store: Any, warehouse: Warehouse) -> None:
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

    def refresh() -> None:
        try:
            sync(True)
        finally:
            done.set()

    thread = threading.Thread(target=refresh)
    thread.start()
    rng = random.Random()
    try:
        while not done.is_set():
            rows = [{"entity_id": e} for e in rng.sample(range(n), 200)]
            res = reader.read([ViewRead(VIEW, ("version",))], rows, now)
            versions = set(res.to_dict()["version"])
            if len(versions) != 1 or res.statuses["version"][0] != FieldStatus.PRESENT:
                problems.append(f"a read saw versions {sorted(map(str, versions))}")
                break
            seen |= versions
    finally:
        thread.join(timeout=WAIT)
    assert not problems, problems[0]
    assert reader.read([ViewRead(VIEW, ("version",))], [{"entity_id": 0}], now).to_dict()["version"] == [2]
    assert 1 in seen  # the reader did look while the new generation was being built

