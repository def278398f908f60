"""``fsdbt sync`` under faults, against real processes the tests own (loopback only).

A sync is SIGKILLed at random points of full refreshes and incremental runs over several seeds;
Redis is restarted mid-sync and is down when a sync starts; a Redis Cluster node is killed
mid-sync; the warehouse refuses the view's query (its table dropped, a row that fails a cast
while the result streams); the DuckDB file is held by another process (as a running
``dbt build`` holds it); the sync runs under a memory limit. After each fault: a clear
message, a nonzero exit, the previous state readable, and a rerun that converges to exactly
the warehouse's latest state, key by key.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from fsdbt.online import open_online_store
from fsdbt.store import FeatureStore
from fsdbt.sync import runner
from fsdbt.sync.runner import MIN_BATCH_ROWS, SyncOptions, sync_view
from tests.faults import report
from tests.faults.helpers import (
    VIEW,
    WAIT,
    N,
    add_version,
    assert_converged,
    assert_rerun_converges,
    expected_rows,
    kill_mid_stream,
    online_rows,
    rerun,
    stop_process,
    wait_for,
)
from tests.online.conftest import REDIS_CLI, RedisServer, free_port, start_redis, wait_until
from tests.sync.conftest import SyncProject, fsdbt, fsdbt_background

pytestmark = pytest.mark.redis

# Each round kills a full refresh, an incremental run and a full refresh again, at random points.
KILL_ROUNDS = int(os.environ.get("FSDBT_FAULT_ROUNDS", "4"))
BASE_SEED = int(os.environ.get("FSDBT_FAULT_SEED") or random.randrange(1 << 32))


def assert_failed_cleanly(proc: subprocess.CompletedProcess[str], *needles: str) -> None:
    """Exit 1, nothing on stdout but the table, the message on stderr, no traceback."""
    assert proc.returncode == 1, (proc.returncode, proc.stdout, proc.stderr)
    for needle in needles:
        assert needle in proc.stderr, (needle, proc.stderr)
    assert "Traceback" not in proc.stderr


# -- SIGKILL ------------------------------------------------------------------------------------

@pytest.mark.slow
@pytest.mark.parametrize("round_", range(KILL_ROUNDS))
def test_sigkill_at_random_points_keeps_previous_state_and_a_rerun_converges(synced: Any, round_: int) -> None:
    project, server, client, prefix = synced
    wh = project.warehouse
    seed = BASE_SEED + round_
    report.seed(f"sigkill[{round_}]", seed)
    print(f"kill points drawn with random.Random({seed}); replay with FSDBT_FAULT_SEED={BASE_SEED}")
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
    # The kill may land after the last write but before the state is saved: all rows moved,
    # and the high-water mark (checked above) still did not.
    assert all(now[k] == latest[k] for k in moved) and 0 < len(moved) <= len(latest)
    report.count("keys checked", len(now))

    # And a full refresh again, killed at another point.
    kill_mid_stream(project, server, client, prefix, rng, N + N // 2, "--full-refresh")
    assert online_rows(client, prefix) == now

    # The rerun takes over the dead sync's lock at once, removes the half-built generation the
    # killed refresh left, and converges; a second run writes nothing.
    assert [r[:3] for r in rerun(project, "events")] == [("events", "ok", "incremental")]
    assert_rerun_converges(project, client, prefix)
    current = int(client.hget(f"{prefix}:v1:events:_gen", "current"))
    newer = [k for k in client.scan_iter(match=f"{prefix}:v1:events:g*", count=5000)
             if int(k.decode()[len(f"{prefix}:v1:events:g"):].split(":", 1)[0]) > current]
    assert newer == [] and client.hget(f"{prefix}:v1:events:_gen", "building") is None
    # A later full refresh starts clean and leaves one generation.
    assert rerun(project, "events", full_refresh=True)[0][1:3] == ("ok", "full")
    assert_converged(client, prefix, wh)
    assert len(list(client.scan_iter(match=f"{prefix}:v1:events:g*", count=5000))) == N + N // 2


@pytest.mark.slow
def test_a_shard_killed_in_a_sharded_full_refresh_keeps_the_view_until_its_rerun(synced: Any) -> None:
    project, server, client, prefix = synced
    wh = project.warehouse
    seed = BASE_SEED + 1000
    report.seed("sharded", seed)
    add_version(wh, 2, 0, N)  # every entity gets a newer row ...
    wh.execute("delete from raw.events where entity_id < 100")  # ... but a hundred are deleted
    before = online_rows(client, prefix)

    with FeatureStore(project.root) as store:
        first = store.sync(["events"], shard="0/2", full_refresh=True)[0]
    assert first.status == "ok" and first.message.startswith("1 of 2 shards"), first.as_dict()
    # The other shard is killed while it writes its part: readers keep the previous view whole.
    kill_mid_stream(project, server, client, prefix, random.Random(seed), N // 2, "--shard", "1/2", "--full-refresh")
    assert online_rows(client, prefix) == before
    # Its rerun finishes the build and switches it in: new rows everywhere, deleted entities gone.
    with FeatureStore(project.root) as store:
        last = store.sync(["events"], shard="1/2", full_refresh=True)[0]
    assert last.status == "ok" and last.message.startswith("the last of 2 shards"), last.as_dict()
    assert_converged(client, prefix, wh)
    assert client.hget(f"{prefix}:v1:events:_gen", "building") is None
    report.count("reruns converged")


# -- Redis restarted, Redis down ------------------------------------------------------------------

@pytest.mark.slow
def test_redis_restarted_mid_sync_or_down_at_start(synced: Any, private_redis: Callable[..., RedisServer]) -> None:
    project, server, client, prefix = synced
    wh = project.warehouse
    env = project.env(server.url, prefix)
    state_key = f"{prefix}:v1:events:_state"
    add_version(wh, 2, 0, N)
    add_version(wh, 2, N, N // 2)
    before, state = online_rows(client, prefix), client.get(state_key)

    proc = fsdbt_background("sync", "--select", "events", env=env, cwd=project.root)
    try:
        wait_for(lambda: int(client.dbsize()) >= N + N // 8, proc, "progress")
        # Hold the sync's next writes until Redis goes down, so that it cannot finish meanwhile.
        client.execute_command("CLIENT", "PAUSE", "30000", "WRITE")
        client.close()
        server.stop()  # SIGTERM: Redis writes its append-only file and exits
        report.fault()
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
        assert_rerun_converges(project, client, prefix)

        # Redis down when a sync starts: one clear error, exit 1, nothing advanced.
        add_version(wh, 3, 0, 1000)
        state = client.get(state_key)
        client.close()
        server.stop()
        report.fault()
        down = fsdbt("sync", env=env, cwd=project.root)
        assert down.returncode == 1 and down.stdout == ""
        assert down.stderr.startswith(f"fsdbt: error: Redis at 127.0.0.1:{server.port}: ping failed: "
                                      f"ConnectionError: "), down.stderr
        assert "is the server running" in down.stderr and "Traceback" not in down.stderr
        server = private_redis(port=server.port)
        client = redis.Redis(port=server.port, socket_timeout=10)
        assert client.get(state_key) == state
        assert_rerun_converges(project, client, prefix)
    finally:
        client.close()


# -- a Redis Cluster node killed ------------------------------------------------------------------

CLUSTER_PROFILE = """\
sync_tests:
  target: cluster
  outputs:
    cluster:
      type: duckdb
      path: "{{ env_var('FSDBT_TEST_DUCKDB') }}"
      threads: 2
      online_store:
        type: redis
        cluster: true
        url: "{{ env_var('FSDBT_TEST_REDIS_URL') }}"
        key_prefix: "{{ env_var('FSDBT_TEST_KEY_PREFIX') }}"
        gc_grace_seconds: 0
        socket_timeout: 3
        socket_connect_timeout: 2
"""


def start_node(base: Path, port: int) -> RedisServer:
    """A cluster node whose writes survive a SIGKILL (append-only file, fsync on every write)."""
    node_dir = base / str(port)
    return start_redis(node_dir, "--cluster-enabled", "yes", "--cluster-config-file", str(node_dir / "nodes.conf"),
                       "--cluster-node-timeout", "2000", "--appendonly", "yes", "--appendfsync", "always",
                       port=port)


def cluster_ok(nodes: list[RedisServer]) -> bool:
    return all("cluster_state:ok" in n.cli("cluster", "info") for n in nodes)


@pytest.fixture
def private_cluster(tmp_path: Path) -> Iterator[list[RedisServer]]:
    """Three primaries of this test only (one of them will be killed)."""
    nodes: list[RedisServer] = []
    try:
        for _ in range(3):
            nodes.append(start_node(tmp_path / "cluster", free_port(cluster=True)))
        subprocess.run([REDIS_CLI, "--cluster", "create", *[f"127.0.0.1:{n.port}" for n in nodes],
                        "--cluster-replicas", "0", "--cluster-yes"], capture_output=True, timeout=60, check=True)
        wait_until(lambda: cluster_ok(nodes), 30, "private redis cluster")
        yield nodes
    finally:
        for node in nodes:
            node.stop()


@pytest.mark.slow
def test_cluster_node_killed_mid_sync_fails_clearly_and_a_rerun_converges(
        sync_project: SyncProject, private_cluster: list[RedisServer], key_prefix: str, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    from redis.cluster import RedisCluster

    nodes = private_cluster
    profiles = tmp_path / "profiles"
    profiles.mkdir()
    (profiles / "profiles.yml").write_text(CLUSTER_PROFILE)
    env = {**sync_project.env(nodes[0].url, key_prefix), "DBT_PROFILES_DIR": str(profiles)}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    wh = sync_project.warehouse
    wh.execute("delete from raw.events", "delete from raw.others")
    add_version(wh, 1, 0, N)
    client = RedisCluster(host="127.0.0.1", port=nodes[0].port, socket_timeout=10)
    try:
        assert rerun(sync_project, "events") == [("events", "ok", "full", N)]
        assert_converged(client, key_prefix, wh)
        add_version(wh, 2, 0, 3 * N)  # a newer row for every entity and twice as many new ones
        victim = nodes[random.randrange(3)]
        count = redis.Redis(port=victim.port, socket_timeout=5)
        base = int(count.info("stats")["total_commands_processed"])
        proc = fsdbt_background("sync", "--select", "events", env=env, cwd=sync_project.root)
        try:
            # Wait for the sync to rewrite some of the victim's entities, then kill the node.
            wait_for(lambda: int(count.info("stats")["total_commands_processed"]) > base + 200, proc, "progress")
            victim.proc.send_signal(signal.SIGKILL)
            victim.proc.wait(timeout=WAIT)
            report.fault()
            _, err = proc.communicate(timeout=WAIT)
        finally:
            count.close()
            stop_process(proc)
        assert proc.returncode == 1, err
        assert "events: failed: Redis" in err and "Traceback" not in err, err
        assert "is the server running" in err or "cluster" in err.lower(), err

        # The node comes back with its data (append-only file); the cluster heals; the rerun converges.
        nodes[nodes.index(victim)] = start_node(tmp_path / "cluster", victim.port)
        wait_until(lambda: cluster_ok(nodes), 60, "the cluster after the node's restart")
        client.close()
        client = RedisCluster(host="127.0.0.1", port=nodes[0].port, socket_timeout=10)
        assert_rerun_converges(sync_project, client, key_prefix)
    finally:
        client.close()
        for node in nodes:
            node.stop()


# -- the warehouse fails --------------------------------------------------------------------------

def _state(client: redis.Redis, prefix: str) -> tuple[Any, ...]:
    head = f"{prefix}:v1:events:"
    return client.get(head + "_state"), client.hget(head + "_gen", "current"), client.dbsize()


@pytest.mark.slow
@pytest.mark.parametrize("fault", ["table dropped", "table renamed", "cast fails while streaming"])
@pytest.mark.parametrize("full_refresh", [False, True], ids=["incremental", "full"])
def test_warehouse_query_error_fails_clearly_and_publishes_nothing(synced: Any, fault: str,
                                                                   full_refresh: bool) -> None:
    project, server, client, prefix = synced
    wh = project.warehouse
    env = project.env(server.url, prefix)
    add_version(wh, 2, 0, N // 3)
    before, state = online_rows(client, prefix), _state(client, prefix)
    if fault == "table renamed":
        wh.execute("alter table raw.events rename to events_saved")
        needle = "events"
    elif fault == "table dropped":
        wh.execute("create table raw.events_saved as select * from raw.events", "drop table raw.events")
        needle = "events"
    else:
        wh.execute("alter table raw.events rename to events_saved")
        # The view's rows come from a view whose label fails a cast on one row: DuckDB raises
        # while it computes the result, not when it plans it.
        wh.execute("create view raw.events as select entity_id, event_ts, created_ts, version, score, "
                   "case when entity_id = 4321 then cast(cast(label as bigint) as varchar) else label end as label "
                   "from raw.events_saved")
        needle = "Conversion Error"
    report.fault()
    args = ["sync", "--select", "events"] + (["--full-refresh"] if full_refresh else [])
    failed = fsdbt(*args, env=env, cwd=project.root)
    assert_failed_cleanly(failed, "events: failed: DuckDB (", str(wh.path), needle)
    assert online_rows(client, prefix) == before and _state(client, prefix) == state  # nothing published
    wh.execute("drop view if exists raw.events", "alter table raw.events_saved rename to events")
    assert_rerun_converges(project, client, prefix)


@pytest.mark.slow
def test_duckdb_file_held_by_another_process_fails_naming_the_file(synced: Any, tmp_path: Path) -> None:
    project, server, client, prefix = synced
    wh = project.warehouse
    add_version(wh, 2, 0, 100)
    before, state = online_rows(client, prefix), _state(client, prefix)
    # A writer holding the file, as a running `dbt build` does.
    holder = subprocess.Popen([sys.executable, "-c", "import duckdb, sys; con = duckdb.connect(sys.argv[1]); "
                               "print('held', flush=True); sys.stdin.read()", str(wh.path)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        report.fault()
        for json_out in ([], ["--json"]):
            failed = fsdbt("sync", *json_out, env=project.env(server.url, prefix), cwd=project.root)
            assert_failed_cleanly(failed, f"the DuckDB file {wh.path} is in use by another process",
                                  "one writer at a time")
            assert online_rows(client, prefix) == before and _state(client, prefix) == state
    finally:
        if holder.stdin is not None:
            holder.stdin.close()
        holder.wait(timeout=WAIT)
        stop_process(holder)
    assert_rerun_converges(project, client, prefix)


# -- memory -------------------------------------------------------------------------------------

class Pressure:
    """A stand-in for the RSS probe: above the limit for the calls listed in ``high``."""

    def __init__(self, high: Callable[[int], bool]) -> None:
        self.calls = 0
        self.high = high

    def __call__(self) -> int:
        self.calls += 1
        return (10_000 if self.high(self.calls) else 10) * 1024 * 1024


def _recording(store: Any) -> list[int]:
    sizes: list[int] = []
    write = store.write_batch

    def record(view: Any, batch: Any, generation: Any = None) -> Any:
        sizes.append(len(batch))
        return write(view, batch, generation=generation)

    store.write_batch = record
    return sizes


@pytest.mark.slow
def test_memory_limit_halves_batches_then_refuses(synced: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    project, server, client, prefix = synced
    wh = project.warehouse
    add_version(wh, 2, 0, N)
    online = open_online_store({"type": "redis", "url": server.url, "key_prefix": prefix, "gc_grace_seconds": 0})
    sizes = _recording(online)
    real_probe = runner.process_rss_bytes
    try:
        # Pressure on the 2nd to 5th measurements (each high one is measured twice: before and after
        # a collection): the batch halves from 8,192 down to 2,048 rows, then stays there.
        monkeypatch.setattr(runner, "process_rss_bytes", Pressure(lambda call: 3 <= call <= 6))
        report.fault()
        with wh.open() as duck:
            done = sync_view(VIEW, duck, online, SyncOptions(batch_rows=8192, max_memory_mb=100))
        assert done.status == "ok", done.message
        assert sizes[0] == 8192 and sizes[1] == 4096 and set(sizes[2:-1]) == {2048}, sizes
        assert done.batch_rows == 2048 and "halved 2 time(s), to 2,048 rows" in done.message
        assert_converged(client, prefix, wh)

        # Pressure that never ends: down to the smallest batch, then the view fails; a full
        # refresh is never switched in and the high-water mark does not move.
        add_version(wh, 3, 0, N)
        before, state = online_rows(client, prefix), _state(client, prefix)
        sizes.clear()
        monkeypatch.setattr(runner, "process_rss_bytes", Pressure(lambda call: call > 2))
        report.fault()
        with wh.open() as duck:
            failed = sync_view(VIEW, duck, online, SyncOptions(batch_rows=4096, max_memory_mb=100,
                                                                full_refresh=True))
        assert failed.status == "failed" and failed.batch_rows == MIN_BATCH_ROWS
        assert "needs more memory than --max-memory-mb 100" in failed.message
        assert f"with batches of {MIN_BATCH_ROWS:,} rows" in failed.message and "raise the limit" in failed.message
        assert sizes == [4096, 2048, 1024], sizes
        assert online_rows(client, prefix) == before and _state(client, prefix)[:2] == state[:2]
    finally:
        online.close()
        monkeypatch.setattr(runner, "process_rss_bytes", real_probe)
    assert_rerun_converges(project, client, prefix)


@pytest.mark.slow
def test_memory_limit_on_the_command_line_measures_the_real_process(synced: Any) -> None:
    project, server, client, prefix = synced
    env = project.env(server.url, prefix)
    add_version(project.warehouse, 2, 0, N)
    before, state = online_rows(client, prefix), _state(client, prefix)
    # Below what the interpreter alone holds: refused before reading a row, nothing written.
    report.fault()
    small = fsdbt("sync", "--select", "events", "--max-memory-mb", "8", "--json", env=env, cwd=project.root)
    assert small.returncode == 1, small.stderr
    (view,) = json.loads(small.stdout)["views"]
    assert view["status"] == "failed" and view["written"] == 0
    assert "needs more memory than --max-memory-mb 8" in view["message"]
    assert "before reading a row" in view["message"]
    assert online_rows(client, prefix) == before and _state(client, prefix) == state
    # A generous limit: the sync runs in regrouped batches and converges.
    ok = fsdbt("sync", "--select", "events", "--max-memory-mb", "4000", "--json", env=env, cwd=project.root)
    assert ok.returncode == 0, ok.stderr
    (view,) = json.loads(ok.stdout)["views"]
    assert view["status"] == "ok" and view["batch_rows"] > 0 and view["rows_read"] == N
    assert_converged(client, prefix, project.warehouse)
    report.count("reruns converged")
