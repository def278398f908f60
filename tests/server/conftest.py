"""Fixtures for the feature server: the demo synced into Redis under a private key prefix, an
in-process app (httpx over ASGI), and helpers to start private servers (Redis, ``fsdbt serve``).

Every process a fixture starts is stopped by its pid; every Redis key it writes is deleted.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import DEMO_ANCHOR, PROFILES, REPO
from tests.online.conftest import SHARED_URL, _cleanup_redis

# "Now" for reads of the demo: an hour after its last rows, inside every view's ttl.
DEMO_NOW = DEMO_ANCHOR + timedelta(hours=1)


class EnvPatch:
    """Set environment variables for a session (monkeypatch is function-scoped)."""

    def __init__(self, values: dict[str, str]) -> None:
        self.saved = {k: os.environ.get(k) for k in values}
        os.environ.update(values)

    def restore(self) -> None:
        for key, value in self.saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@pytest.fixture(scope="session")
def redis_url() -> str:
    import redis

    try:
        redis.Redis.from_url(SHARED_URL, socket_connect_timeout=1, socket_timeout=1).ping()
    except Exception as exc:
        pytest.fail(f"no Redis at {SHARED_URL.split('@')[-1]}: {exc}")
    return SHARED_URL


@pytest.fixture(scope="session")
def served(demo_project: dict[str, Any], redis_url: str,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The demo synced into the shared Redis under a private prefix, with a private push log."""
    from fsdbt.store import FeatureStore

    prefix = f"fsdbt-srv-{uuid.uuid4().hex[:10]}"
    push_log = tmp_path_factory.mktemp("push_log")
    env = {**demo_project["env"], "FSDBT_TARGET": "redis", "FSDBT_REDIS_URL": redis_url,
           "FSDBT_REDIS_KEY_PREFIX": prefix, "FSDBT_PUSH_LOG_DIR": str(push_log)}
    patch = EnvPatch(env)
    try:
        with FeatureStore(REPO, PROFILES, "redis") as store:
            results = store.sync(now=DEMO_NOW)
            assert all(r.status not in ("failed", "refused") for r in results), results
        yield {**demo_project, "env": env, "prefix": prefix, "push_log": push_log}
    finally:
        _cleanup_redis(redis_url, False, prefix)
        patch.restore()


def make_app(clock: Any = None, **settings: Any) -> Any:
    from fsdbt.server.app import ServerSettings, create_app

    settings.setdefault("gc_tuning", 0)  # leave the test process's garbage collector alone
    return create_app(ServerSettings(project_dir=str(REPO), profiles_dir=str(PROFILES), target="redis", **settings),
                      clock=clock)


@pytest.fixture(scope="session")
def app(served: dict[str, Any]) -> Any:
    return make_app(clock=lambda: DEMO_NOW)


@pytest.fixture()
def client(app: Any) -> Iterator[httpx.Client]:
    from starlette.testclient import TestClient

    # No context manager: the lifespan (which closes the online store) belongs to the session's app.
    c = TestClient(app, base_url="http://fsdbt.test")
    yield c
    c.close()


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)  # type: ignore[misc]


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    import json

    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path
