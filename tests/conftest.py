"""Shared fixtures: the repository's own dbt project (the demo), parsed and built once per run."""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent
PROFILES = REPO / "profiles"
# A fixed anchor makes the demo data identical on every run.
DEMO_ANCHOR = datetime(2026, 1, 1, tzinfo=timezone.utc)

os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "False")


def run_dbt(args: list[str], *, env: dict[str, str] | None = None) -> Any:
    """Run dbt in this process (a CLI start costs seconds), with temporary environment variables."""
    from dbt.cli.main import dbtRunner

    saved = {k: os.environ.get(k) for k in (env or {})}
    os.environ.update(env or {})
    try:
        with contextlib.redirect_stdout(sys.stderr):
            result = dbtRunner().invoke([*args, "--no-send-anonymous-usage-stats", "--no-use-colors"])
    finally:
        release_duckdb()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    return result


def release_duckdb() -> None:
    """dbt-duckdb keeps its database open in this process after a run; close it so other
    processes (an ``fsdbt`` subprocess, a sync) can open the file."""
    import gc

    manager = sys.modules.get("dbt.adapters.duckdb.connections")
    if manager is not None:
        manager.DuckDBConnectionManager.close_all_connections()
        gc.collect()


@pytest.fixture(scope="session")
def demo_project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The demo generated (small, fixed anchor) into a private DuckDB file and built with dbt.

    Yields the paths and environment a test needs to open a ``FeatureStore`` on it.
    """
    from fsdbt.definitions import Relation
    from fsdbt.demo.generator import PRESETS, generate
    from fsdbt.warehouse.duckdb import DuckDBWarehouse

    root = tmp_path_factory.mktemp("demo")
    env = {
        "FSDBT_DUCKDB_PATH": str(root / "demo.duckdb"),
        "FSDBT_SQLITE_PATH": str(root / "online.sqlite"),
        "DBT_PROFILES_DIR": str(PROFILES),
        "FSDBT_TARGET": "dev",
        "DBT_TARGET_PATH": str(root / "target"),
    }
    warehouse = DuckDBWarehouse(env["FSDBT_DUCKDB_PATH"], read_only=False)
    for name, table in generate(PRESETS["small"], anchor=DEMO_ANCHOR, seed=7).items():
        warehouse.load_arrow(table, Relation(None, "raw", name))
    warehouse.close()
    target_path = root / "target"
    result = run_dbt(["build", "--project-dir", str(REPO), "--profiles-dir", str(PROFILES), "--quiet"], env=env)
    assert result.success, f"dbt build of the demo failed: {result.exception}"
    manifest = json.loads((target_path / "manifest.json").read_text())
    yield {"root": root, "env": env, "target_path": target_path, "manifest": manifest}


@pytest.fixture()
def demo_env(demo_project: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    for key, value in demo_project["env"].items():
        monkeypatch.setenv(key, value)
    return demo_project
