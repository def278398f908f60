"""Structural checks: a feature view with a duplicated or NULL (keys, timestamp) fails `dbt build`.

The demo is built into a private DuckDB file after planting one duplicate row in the raw
driver events and two NULL customer ids in the raw customer profiles. Neither view has a
test written for this; the post-hook ``fsdbt.structural_checks()`` (configured in the
project's dbt_project.yml) fails both models with a message naming the model, the key
columns and an example, and the failed build leaves no half-published table behind.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from tests.conftest import DEMO_ANCHOR, PROFILES, REPO, run_dbt


@pytest.mark.slow
def test_planted_duplicate_and_null_keys_fail_the_build(tmp_path: Path) -> None:
    from fsdbt.definitions import Relation
    from fsdbt.demo.generator import PRESETS, generate
    from fsdbt.warehouse.duckdb import DuckDBWarehouse

    env = {"FSDBT_DUCKDB_PATH": str(tmp_path / "demo.duckdb"), "FSDBT_SQLITE_PATH": str(tmp_path / "online.sqlite"),
           "DBT_PROFILES_DIR": str(PROFILES), "FSDBT_TARGET": "dev", "DBT_TARGET_PATH": str(tmp_path / "target")}
    warehouse = DuckDBWarehouse(env["FSDBT_DUCKDB_PATH"], read_only=False)
    for name, table in generate(PRESETS["small"], anchor=DEMO_ANCHOR, seed=7).items():
        warehouse.load_arrow(table, Relation(None, "raw", name))
    # One hourly row loaded twice; two profile updates without a customer.
    warehouse.execute("insert into raw.driver_stats_events select * from raw.driver_stats_events "
                      "where driver_id = 1001 order by event_timestamp limit 1")
    warehouse.execute("insert into raw.customer_profile_updates select * replace (null as customer_id) "
                      "from raw.customer_profile_updates order by updated_at limit 2")
    warehouse.close()

    result = run_dbt(["build", "--project-dir", str(REPO), "--profiles-dir", str(PROFILES),
                      "--select", "driver_hourly_stats", "customer_profile", "driver_daily_activity"], env=env)
    assert not result.success
    results = {r["unique_id"]: r for r in json.loads((tmp_path / "target" / "run_results.json").read_text())["results"]}

    hourly = results["model.fsdbt.driver_hourly_stats"]
    assert hourly["status"] == "error"
    assert "fsdbt structural check failed for feature view 'driver_hourly_stats' " \
           "(models/demo/features/driver_hourly_stats.sql)" in hourly["message"]
    assert "1 duplicated (driver_id, event_timestamp, loaded_at) combination(s), e.g. driver_id=1001, " \
           "event_timestamp=" in hourly["message"]
    assert "occurs 2 times" in hourly["message"]

    profile = results["model.fsdbt.customer_profile"]
    assert profile["status"] == "error"
    assert "2 row(s) with a NULL key in (customer_id, updated_at), e.g. customer_id=NULL" in profile["message"]

    # A clean view in the same build is unaffected.
    assert results["model.fsdbt.driver_daily_activity"]["status"] == "success"
    # The failed models were rolled back: nothing half-checked is left for sync to read.
    con = duckdb.connect(env["FSDBT_DUCKDB_PATH"], read_only=True)
    tables = {r[0] for r in con.execute("select table_name from information_schema.tables "
                                        "where table_schema = 'main'").fetchall()}
    con.close()
    assert "driver_daily_activity" in tables
    assert not {"driver_hourly_stats", "customer_profile"} & tables
