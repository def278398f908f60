"""Fixtures of the fault suite (shared with the sync tests) and the report printed at its end.

Every server a test kills or slows down is its own (a private redis-server, cluster or
``fsdbt serve``); the shared Redis and PostgreSQL are used only under unique prefixes and schemas.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis

from fsdbt.store import FeatureStore
from tests.faults import report
from tests.faults.helpers import N, add_version, assert_converged
from tests.online.conftest import RedisServer
from tests.sync.conftest import (  # noqa: F401 - fixtures, registered by being imported
    SyncProject,
    key_prefix,
    make_store,
    prefix,
    private_redis,
    redis_cluster,
    shared_redis_url,
    store_kind,
    sync_project,
    warehouse,
)


@pytest.fixture
def synced(sync_project: SyncProject, private_redis: Callable[..., RedisServer], key_prefix: str,  # noqa: F811
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


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """The fault report: faults injected, reruns converged, keys checked, bad inputs, data lost."""
    if not any(report.counts.values()):
        return
    terminalreporter.section("fsdbt fault report")
    for line in report.lines():
        terminalreporter.write_line(line)
