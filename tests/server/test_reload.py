"""A running server picks up new definitions when dbt writes a new manifest, and keeps serving
the last good ones when the new manifest does not load."""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.server.conftest import DEMO_NOW, make_app

pytestmark = pytest.mark.redis


def _write(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)  # as dbt does: readers see the old file or the new one


def _build_done(target: Path) -> None:
    """What the end of `dbt build` leaves: a run_results.json newer than the manifest."""
    results = target / "run_results.json"
    results.write_text(results.read_text() if results.exists() else "{}")
    manifest = (target / "manifest.json").stat().st_mtime_ns
    os.utime(results, ns=(manifest + 1_000_000, manifest + 1_000_000))


def _wait_for(check: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


@pytest.fixture
def target(served: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private copy of the demo's target directory, where the test writes manifests."""
    path = tmp_path / "target"
    shutil.copytree(served["target_path"], path)
    monkeypatch.setenv("DBT_TARGET_PATH", str(path))
    return path


def test_new_manifest_is_served_without_a_restart(target: Path) -> None:
    from starlette.testclient import TestClient

    manifest_path = target / "manifest.json"
    good = json.loads(manifest_path.read_text())
    request = {"feature_service": "trip_completion_model", "entities": {"driver_id": [1001], "customer_id": [51008]}}

    def description(c: Any) -> str:
        return str(c.get("/feature-views/driver_hourly_stats").json()["description"])

    with TestClient(make_app(clock=lambda: DEMO_NOW, reload_seconds=0.05), base_url="http://fsdbt.test") as c:
        assert c.post("/get-online-features", json=request).status_code == 200
        before = description(c)
        # dbt writes a manifest where the view's description changed and the service is gone.
        changed = json.loads(json.dumps(good))
        node = next(n for n in changed["nodes"].values() if n.get("name") == "driver_hourly_stats")
        node["description"] = "Hourly driver stats, described anew."
        changed["exposures"] = {k: v for k, v in changed["exposures"].items()
                                if v.get("name") != "trip_completion_model"}
        _write(manifest_path, json.dumps(changed))
        # On DuckDB the server waits for the build that wrote the manifest to end (run_results.json)
        # before it reads the catalog: the file allows one process at a time.
        time.sleep(0.3)
        assert description(c) == before
        _build_done(target)
        _wait_for(lambda: description(c) == "Hourly driver stats, described anew.", "the new description")
        assert "trip_completion_model" not in c.get("/feature-services").text
        gone = c.post("/get-online-features", json=request)
        assert gone.status_code == 422 and "trip_completion_model" in gone.json()["error"]["message"]
        assert c.get("/health/ready").json()["definitions"] == {
            "feature_views": len(c.get("/feature-views").json()["feature_views"]),
            "feature_services": len(c.get("/feature-services").json()["feature_services"])}

        # A manifest that does not load (half written, or a broken contract) changes nothing served.
        _write(manifest_path, '{"nodes": {')
        _build_done(target)
        _wait_for(lambda: "reload_error" in c.get("/health/ready").json()["definitions"], "the reload error")
        assert "not valid JSON" in c.get("/health/ready").json()["definitions"]["reload_error"]
        assert description(c) == "Hourly driver stats, described anew."
        assert 'fsdbt_definitions_reloads_total{result="error"' in c.get("/metrics").text
        broken = json.loads(json.dumps(good))
        node = next(n for n in broken["nodes"].values() if n.get("name") == "driver_hourly_stats")
        node["config"]["meta"]["fsdbt"]["entities"] = ["no_such_column"]
        _write(manifest_path, json.dumps(broken))
        _build_done(target)
        _wait_for(lambda: "no_such_column" in c.get("/health/ready").json()["definitions"].get("reload_error", ""),
                  "the contract error")
        assert c.post("/get-online-features", json={**request, "feature_service": None,
                                                    "features": ["driver_hourly_stats:conv_rate"],
                                                    "entities": {"driver_id": [1001]}}).status_code == 200

        # The good manifest again: served, and the error is gone.
        _write(manifest_path, json.dumps(good))
        _build_done(target)
        _wait_for(lambda: "reload_error" not in c.get("/health/ready").json()["definitions"], "recovery")
        assert description(c) == before
        assert c.post("/get-online-features", json=request).status_code == 200


def test_a_manifest_no_build_followed_is_loaded_once_it_has_settled(target: Path) -> None:
    """`dbt parse` writes a manifest and no run_results.json: it is loaded once it is old enough."""
    from starlette.testclient import TestClient

    manifest_path = target / "manifest.json"
    changed = json.loads(manifest_path.read_text())
    node = next(n for n in changed["nodes"].values() if n.get("name") == "customer_profile")
    node["description"] = "Parsed, not built."
    app = make_app(clock=lambda: DEMO_NOW, reload_seconds=0.05, reload_settle_seconds=1.0)
    with TestClient(app, base_url="http://fsdbt.test") as c:
        _write(manifest_path, json.dumps(changed))
        written = time.monotonic()
        _wait_for(lambda: c.get("/feature-views/customer_profile").json()["description"] == "Parsed, not built.",
                  "the parsed manifest")
        assert time.monotonic() - written >= 0.9
