"""Fixtures for the sync tests: online stores of every kind, private Redis servers, a sync project.

The Redis fixtures come from ``tests/online/conftest.py`` (imported, so they are not
duplicated): the shared server with a unique key prefix, a private three-node cluster, and
``start_redis`` for servers a test may kill or restart.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from fsdbt.definitions import Column, Feature, FeatureView, Relation
from fsdbt.dtypes import DType
from fsdbt.warehouse.duckdb import DuckDBWarehouse
from tests.conftest import REPO, run_dbt
from tests.online.conftest import (  # noqa: F401 - fixtures, registered by being imported
    RedisServer,
    _cleanup_redis,
    make_store,
    prefix,
    redis_cluster,
    shared_redis_url,
    start_redis,
    store,
    store_kind,
)

FSDBT = [sys.executable, "-m", "fsdbt"]
CLI_TIMEOUT = 120.0


def fsdbt(*args: str, env: dict[str, str], cwd: Path | None = None,
          timeout: float = CLI_TIMEOUT) -> subprocess.CompletedProcess[str]:
    """Run the real ``fsdbt`` command, bounded in time."""
    return subprocess.run([*FSDBT, *args], capture_output=True, text=True, env={**os.environ, **env},
                          cwd=cwd or REPO, timeout=timeout)


def fsdbt_background(*args: str, env: dict[str, str], cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen([*FSDBT, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, **env}, cwd=cwd)


# -- a small feature view over a DuckDB table the test controls -------------------------------

EVENTS_COLUMNS = (("entity_id", DType.INT), ("event_ts", DType.TIMESTAMP), ("created_ts", DType.TIMESTAMP),
                  ("version", DType.INT), ("score", DType.FLOAT), ("label", DType.STRING))
EVENTS_ARROW = {DType.INT: pa.int64(), DType.TIMESTAMP: pa.timestamp("us"), DType.FLOAT: pa.float64(),
                DType.STRING: pa.string()}


def events_view(name: str = "events", *, schema: str = "raw", table: str = "events", ttl: timedelta | None = None,
                created: bool = True, extra: tuple[tuple[str, DType], ...] = ()) -> FeatureView:
    """A feature view straight over ``schema.table`` (as the registry would define it)."""
    columns = [c for c in EVENTS_COLUMNS if created or c[0] != "created_ts"] + list(extra)
    keys = {"entity_id", "event_ts", "created_ts"}
    return FeatureView(
        name=name, unique_id=f"model.sync_tests.{name}", relation=Relation(None, schema, table),
        entities=("entity_id",), timestamp="event_ts", created_timestamp="created_ts" if created else None,
        ttl=ttl, columns=tuple(Column(n, t) for n, t in columns),
        features=tuple(Feature(n, name, t) for n, t in columns if n not in keys))


def events_table(rows: list[dict[str, Any]], *, created: bool = True,
                 extra: tuple[tuple[str, DType], ...] = ()) -> pa.Table:
    columns = [c for c in EVENTS_COLUMNS if created or c[0] != "created_ts"] + list(extra)
    return pa.table({n: pa.array([r.get(n) for r in rows], EVENTS_ARROW[t]) for n, t in columns})


@dataclass
class Warehouse:
    """A private DuckDB file. Opened briefly, so that a ``fsdbt`` subprocess can open it too, unless
    ``keep_open`` (tests that sync in this process save the reconnects)."""

    path: Path
    keep_open: bool = False
    _held: DuckDBWarehouse | None = None

    @contextmanager
    def open(self) -> Iterator[DuckDBWarehouse]:
        if self.keep_open:
            if self._held is None:
                self._held = DuckDBWarehouse(str(self.path), read_only=False)
            yield self._held
            return
        wh = DuckDBWarehouse(str(self.path), read_only=False)
        try:
            yield wh
        finally:
            wh.close()

    def close(self) -> None:
        if self._held is not None:
            self._held.close()
            self._held = None

    def sql(self, statement: str) -> pa.Table:
        with self.open() as wh:
            return wh.query_arrow(statement)

    def execute(self, *statements: str) -> None:
        with self.open() as wh:
            for statement in statements:
                wh.execute(statement)

    def load(self, table: pa.Table, name: str = "events", schema: str = "raw") -> None:
        with self.open() as wh:
            wh.execute(f"create schema if not exists {schema}")
            wh.load_arrow(table, Relation(None, schema, name))

    def append(self, table: pa.Table, name: str = "events", schema: str = "raw") -> None:
        with self.open() as wh:
            wh.load_arrow(table, Relation(None, None, "_appended"), temporary=True)
            wh.execute(f"insert into {schema}.{name} by name select * from _appended")


@pytest.fixture
def warehouse(tmp_path: Path) -> Iterator[Warehouse]:
    """A DuckDB file held open by this process (for syncs run in this process)."""
    wh = Warehouse(tmp_path / "warehouse.duckdb", keep_open=True)
    wh.execute("create schema if not exists raw")
    yield wh
    wh.close()


# -- a dbt project whose one feature view reads raw.events of a private DuckDB file -----------

PROJECT_FILES = {
    "dbt_project.yml": """\
name: sync_tests
version: "0.1.0"
config-version: 2
profile: sync_tests
model-paths: ["models"]
models:
  sync_tests:
    +materialized: view
""",
    "profiles.yml": """\
sync_tests:
  target: redis
  outputs:
    redis:
      type: duckdb
      path: "{{ env_var('FSDBT_TEST_DUCKDB') }}"
      threads: 2
      online_store:
        type: redis
        url: "{{ env_var('FSDBT_TEST_REDIS_URL') }}"
        key_prefix: "{{ env_var('FSDBT_TEST_KEY_PREFIX') }}"
        gc_grace_seconds: 0
        socket_timeout: 5
        socket_connect_timeout: 2
""",
    "models/events.sql": "select * from {{ source('raw', 'events') }}\n",
    "models/others.sql": "select * from {{ source('raw', 'others') }}\n",
    "models/events.yml": """\
version: 2
sources:
  - name: raw
    schema: raw
    tables:
      - name: events
      - name: others
models:
  - name: events
    description: Synthetic rows, rewritten by the tests.
    config:
      meta:
        fsdbt:
          entities: [entity_id]
          timestamp: event_ts
          created_timestamp: created_ts
  - name: others
    description: A second view over the same shape of rows.
    config:
      meta:
        fsdbt:
          entities: [entity_id]
          timestamp: event_ts
          created_timestamp: created_ts
""",
}


@dataclass
class SyncProject:
    root: Path
    warehouse: Warehouse

    def env(self, redis_url: str, key_prefix: str) -> dict[str, str]:
        return {"FSDBT_TEST_DUCKDB": str(self.warehouse.path), "FSDBT_TEST_REDIS_URL": redis_url,
                "FSDBT_TEST_KEY_PREFIX": key_prefix, "DBT_PROFILES_DIR": str(self.root),
                "DBT_TARGET_PATH": str(self.root / "target")}


@pytest.fixture(scope="session")
def sync_project(tmp_path_factory: pytest.TempPathFactory) -> SyncProject:
    """The project built once (views over raw tables); tests rewrite the raw tables freely."""
    root = tmp_path_factory.mktemp("sync_project")
    for rel, text in PROJECT_FILES.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    wh = Warehouse(root / "warehouse.duckdb")
    empty = events_table([])
    wh.load(empty, "events")
    wh.load(empty, "others")
    env = {"FSDBT_TEST_DUCKDB": str(wh.path), "FSDBT_TEST_REDIS_URL": "redis://127.0.0.1:1/0",
           "FSDBT_TEST_KEY_PREFIX": "unused"}
    result = run_dbt(["build", "--project-dir", str(root), "--profiles-dir", str(root), "--quiet"], env=env)
    assert result.success, f"dbt build of the sync test project failed: {result.exception}"
    return SyncProject(root, wh)


@pytest.fixture
def key_prefix() -> str:
    return f"fsdbt-synctest-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[Callable[..., RedisServer]]:
    """Start private redis-servers (AOF on, so a restart keeps the data); all stopped at the end."""
    started: list[RedisServer] = []

    def start(port: int | None = None) -> RedisServer:
        server = start_redis(tmp_path / "redis", "--appendonly", "yes", "--appendfsync", "everysec", port=port)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()
