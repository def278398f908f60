"""Helpers of the sync fault tests: rows versioned in the warehouse, the online state read with
plain Redis commands, convergence checked key by key, and a sync killed at a random point.

The view is ``tests/sync/conftest.py``'s ``events`` over ``raw.events`` of a private DuckDB file.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

from fsdbt.online import codec
from fsdbt.store import FeatureStore
from tests.faults import report
from tests.sync.conftest import RedisServer, SyncProject, Warehouse, events_view, fsdbt_background

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
    out: dict[str, dict[bytes, bytes]] = {}
    if latest.num_rows == 0:
        return out
    keys, event, created, values = codec.encoded_columns(VIEW, latest.combine_chunks().to_batches()[0])
    columns = [v.to_pylist() for v in values]
    for i, (key, ev, cr) in enumerate(zip(keys.to_pylist(), event.to_pylist(), created.to_pylist())):
        row = {b"_event_ts": ev.encode(), b"_created_ts": cr.encode()}
        row.update({f.name.encode(): col[i].encode() for f, col in zip(VIEW.features, columns)
                    if col[i] is not None})
        out[key] = row
    return out


def online_rows(client: Any, prefix: str, view: str = "events") -> dict[str, dict[bytes, bytes]]:
    """Every entity hash of the view's current generation, read with plain Redis commands
    (``client`` is a ``redis.Redis`` or a ``RedisCluster``)."""
    head = f"{prefix}:v1:{view}:"
    gen = int(client.hget(head + "_gen", "current") or 0)
    keys = list(client.scan_iter(match=f"{head}g{gen}:*", count=5000))
    pipe = client.pipeline(transaction=False)
    for key in keys:
        pipe.hgetall(key)
    start = len(f"{head}g{gen}:{{")
    return {key.decode()[start:-1]: row for key, row in zip(keys, pipe.execute())}


def assert_converged(client: Any, prefix: str, wh: Warehouse, table: str = "events") -> None:
    """The current generation holds exactly the warehouse's latest row per entity, key by key."""
    want, got = expected_rows(wh, table), online_rows(client, prefix, table)
    missing, extra = want.keys() - got.keys(), got.keys() - want.keys()
    wrong = [k for k in want.keys() & got.keys() if want[k] != got[k]]
    report.count("keys checked", len(want.keys() | got.keys()))
    report.count("data lost", len(missing) + len(wrong))
    assert not (missing or extra or wrong), (f"{len(missing)} missing (e.g. {sorted(missing)[:3]}), "
                                             f"{len(extra)} extra (e.g. {sorted(extra)[:3]}), "
                                             f"{len(wrong)} differ (e.g. {[(k, want[k], got[k]) for k in wrong[:2]]})")


def assert_rerun_converges(project: SyncProject, client: Any, prefix: str, *select: str,
                           full_refresh: bool = False) -> None:
    """A rerun succeeds, the store equals the warehouse key by key, and a second rerun writes nothing."""
    results = rerun(project, *(select or ("events",)), full_refresh=full_refresh)
    assert all(r[1] == "ok" for r in results), results
    assert_converged(client, prefix, project.warehouse)
    if not full_refresh:
        assert [r[3] for r in rerun(project, *(select or ("events",)))] == [0] * len(results)
    report.count("reruns converged")


def wait_for(check: Callable[[], bool], proc: subprocess.Popen[str] | None, what: str,
             timeout: float = WAIT) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"the sync exited ({proc.returncode}) before {what}: "
                                 f"{proc.stderr.read() if proc.stderr else ''}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"no {what} after {timeout}s")
        time.sleep(0.01)


def rerun(project: SyncProject, *select: str, full_refresh: bool = False) -> list[tuple[str, str, str, int]]:
    """A sync in this process (the environment points at the test's Redis): view, status, mode, written."""
    with FeatureStore(project.root) as store:
        return [(r.view, r.status, r.mode, r.written) for r in store.sync(list(select), full_refresh=full_refresh)]


def stop_process(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.kill()
    proc.wait(timeout=WAIT)
    for stream in (proc.stdout, proc.stderr):
        if stream is not None:
            stream.close()


def stop_server(proc: subprocess.Popen[Any]) -> None:
    """Stop a server started in its own process group: SIGTERM, then SIGKILL if it hangs."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
    for stream in (proc.stdout, proc.stderr):
        if stream is not None:
            stream.close()


def kill_mid_stream(project: SyncProject, server: RedisServer, client: Any, prefix: str, rng: random.Random,
                    new_keys: int, *args: str) -> None:
    """Start ``fsdbt sync ARGS``, SIGKILL it once a random share of its ``new_keys`` keys exist."""
    gen_key = f"{prefix}:v1:events:_gen"
    building = client.hget(gen_key, "building")
    base = int(client.dbsize())
    share = rng.uniform(0.05, 0.6)
    proc = fsdbt_background("sync", "--select", "events", *args, env=project.env(server.url, prefix),
                            cwd=project.root)
    try:
        if "--full-refresh" in args and "--shard" in args and building is not None:
            pass  # a shard joining the build another shard began: its keys go into that generation
        elif "--full-refresh" in args:
            # A full refresh first deletes what an abandoned one left: count from its new generation.
            wait_for(lambda: client.hget(gen_key, "building") not in (None, building), proc, "a new generation")
            base = int(client.dbsize())
        elif building is not None:
            # An incremental sync first removes what an abandoned full refresh left: count from then.
            wait_for(lambda: client.hget(gen_key, "building") is None, proc, "the abandoned generation removed")
            base = int(client.dbsize())
        wait_for(lambda: int(client.dbsize()) >= base + share * new_keys, proc,
                 f"{share:.0%} of {new_keys} new keys")
        proc.send_signal(signal.SIGKILL)
    finally:
        stop_process(proc)
    assert proc.returncode == -signal.SIGKILL, f"the sync ended on its own ({proc.returncode}) before the kill"
    report.fault()
