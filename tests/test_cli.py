"""The CLI as users run it: a real ``fsdbt`` process, stdout for results, stderr for messages."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO, run_dbt

FSDBT = [sys.executable, "-m", "fsdbt"]


def fsdbt(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([*FSDBT, *args], capture_output=True, text=True, env=full_env, cwd=cwd or REPO,
                          timeout=300)


def test_ls_json_lists_views_with_entities_timestamps_ttl_and_descriptions(demo_project: dict[str, Any]) -> None:
    out = fsdbt("ls", "--json", "--project-dir", str(REPO), env=demo_project["env"])
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    views = {v["name"]: v for v in doc["feature_views"]}
    assert set(views) == {"customer_profile", "driver_customer_stats", "driver_daily_activity",
                          "driver_hourly_stats"}
    hourly = views["driver_hourly_stats"]
    assert hourly["entities"] == ["driver_id"]
    assert hourly["timestamp"] == "event_timestamp" and hourly["created_timestamp"] == "loaded_at"
    assert hourly["ttl"] == "2 days" and hourly["ttl_seconds"] == 172800
    assert hourly["features"][0] == {"name": "conv_rate", "ref": "driver_hourly_stats.conv_rate",
                                     "type": "float64", "data_type": "double precision",
                                     "description": "Share of offers accepted in the hour."}
    assert views["driver_customer_stats"]["entities"] == ["driver_id", "customer_id"]
    assert views["driver_daily_activity"]["ttl"] == "36h"
    assert {e["name"] for e in doc["entities"]} == {"driver_id", "customer_id"}
    assert doc["feature_services"][0]["name"] == "trip_completion_model"


def test_ls_table_and_select(demo_project: dict[str, Any]) -> None:
    out = fsdbt("ls", "--select", "tag:customer", env=demo_project["env"])
    assert out.returncode == 0, out.stderr
    assert "customer_profile" in out.stdout and "driver_hourly_stats " not in out.stdout
    bad = fsdbt("ls", "--select", "driver_hourly", env=demo_project["env"])
    assert bad.returncode == 1
    assert bad.stderr.startswith("fsdbt: error: --select 'driver_hourly' matches no feature view; "
                                 "did you mean 'driver_hourly_stats'?")
    assert "Traceback" not in bad.stderr


def test_describe_view_shows_upstream_and_consumers(demo_project: dict[str, Any]) -> None:
    out = fsdbt("describe", "driver_customer_stats", "--json", env=demo_project["env"])
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["kind"] == "feature_view"
    assert [u["name"] for u in doc["upstream"]] == ["ride_hailing.trips"]
    assert doc["used_by"]["services"] == ["trip_completion_model"]
    text = fsdbt("describe", "driver_hourly_stats", env=demo_project["env"])
    assert "Upstream (nearest first)" in text.stdout and "ride_hailing.driver_stats_events" in text.stdout
    feature = json.loads(fsdbt("describe", "customer_profile.avg_spend", "--json", env=demo_project["env"]).stdout)
    assert feature["kind"] == "feature" and feature["type"] == "float64"
    assert feature["used_by"]["services"] == ["trip_completion_model"]
    service = json.loads(fsdbt("describe", "trip_completion_model", "--json", env=demo_project["env"]).stdout)
    assert service["kind"] == "feature_service" and len(service["features"]) == 27


def test_describe_unknown_name_is_a_clear_error(demo_project: dict[str, Any]) -> None:
    out = fsdbt("describe", "driver_hourly_stat", env=demo_project["env"])
    assert out.returncode == 1
    assert "nothing named 'driver_hourly_stat'; did you mean 'driver_hourly_stats'?" in out.stderr
    assert "Traceback" not in out.stderr and out.stdout == ""


def test_contract_error_in_a_project_names_the_sql_file(tmp_path: Path) -> None:
    """A real dbt project whose meta comes from SQL config(): the message names the .sql file."""
    (tmp_path / "models").mkdir()
    (tmp_path / "dbt_project.yml").write_text("name: broken\nprofile: broken\nconfig-version: 2\n")
    (tmp_path / "profiles.yml").write_text(
        f"broken:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n      path: {tmp_path}/b.duckdb\n")
    (tmp_path / "models" / "stats.sql").write_text(
        "{{ config(meta={'fsdbt': {'entities': ['driver'], 'timestamp': 'ts', 'ttl': '3 dayz'}}) }}\n"
        "select 1 as driver_id, current_timestamp as ts, 0.5 as conv_rate\n")
    out = fsdbt("ls", "--project-dir", str(tmp_path), "--profiles-dir", str(tmp_path),
                env={"DBT_TARGET_PATH": str(tmp_path / "target")})
    assert out.returncode == 1
    assert "fsdbt: error: 2 problem(s) in the feature definitions:" in out.stderr
    assert "model 'stats' (models/stats.sql): columns: fsdbt knows no column of this model" in out.stderr \
        or "model 'stats' (models/stats.sql): meta.fsdbt.entities: column 'driver'" in out.stderr
    assert "meta.fsdbt.ttl: unknown unit 'dayz'" in out.stderr
    assert "Traceback" not in out.stderr


def test_missing_project_and_profile_errors(tmp_path: Path) -> None:
    out = fsdbt("ls", "--project-dir", str(tmp_path))
    assert out.returncode == 1 and f"no dbt_project.yml in {tmp_path}" in out.stderr
    (tmp_path / "dbt_project.yml").write_text("name: p\nprofile: nope\nconfig-version: 2\n")
    out = fsdbt("ls", "--project-dir", str(tmp_path), "--profiles-dir", str(REPO / "profiles"))
    assert out.returncode == 1
    assert "no profile named 'nope' (dbt_project.yml 'profile'). Profiles: 'fsdbt'" in out.stderr


def test_init_creates_a_project_that_builds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = tmp_path / "rides"
    out = fsdbt("init", str(project))
    assert out.returncode == 0, out.stderr
    assert (project / "dbt_packages" / "fsdbt").exists()
    monkeypatch.chdir(project)
    monkeypatch.delenv("DBT_PROFILES_DIR", raising=False)
    monkeypatch.delenv("DBT_TARGET_PATH", raising=False)
    result = run_dbt(["build"])
    assert result.success, result.exception
    listing = fsdbt("ls", "--json", cwd=project, env={"DBT_PROFILES_DIR": "", "DBT_TARGET_PATH": ""})
    assert listing.returncode == 0, listing.stderr
    doc = json.loads(listing.stdout)
    assert [v["name"] for v in doc["feature_views"]] == ["driver_stats"]
    assert doc["feature_services"][0]["features"] == ["driver_stats.conv_rate", "driver_stats.trips_today"]
    again = fsdbt("init", str(project))
    assert again.returncode == 1 and "exists and is not empty" in again.stderr


def test_import_and_open_store_do_not_import_dbt(demo_project: dict[str, Any]) -> None:
    code = (
        "import sys, fsdbt\n"
        "assert not any(m == 'dbt' or m.startswith('dbt.') for m in sys.modules), 'import fsdbt imported dbt'\n"
        "store = fsdbt.FeatureStore()\n"
        "names = [v.name for v in store.list_feature_views()]\n"
        "assert 'driver_hourly_stats' in names, names\n"
        "bad = sorted(m for m in sys.modules if m == 'dbt' or m.startswith('dbt.'))\n"
        "assert not bad, bad[:5]\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO,
                         env={**os.environ, **demo_project["env"]}, timeout=120)
    assert out.returncode == 0, out.stderr
    timing = subprocess.run([sys.executable, "-X", "importtime", "-c", "import fsdbt"], capture_output=True,
                            text=True, timeout=60)
    modules = [line.rsplit("|", 1)[-1].strip() for line in timing.stderr.splitlines()]
    assert "fsdbt" in modules and not [m for m in modules if m == "dbt" or m.startswith("dbt.")]
