"""``fsdbt historical`` and ``fsdbt generate training-set`` as users run them."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from tests.conftest import PROFILES, REPO, run_dbt
from tests.test_cli import fsdbt


def test_historical_writes_the_training_set(demo_project: dict[str, Any], tmp_path: Path) -> None:
    from fsdbt.warehouse.duckdb import DuckDBWarehouse

    with DuckDBWarehouse(demo_project["env"]["FSDBT_DUCKDB_PATH"]) as warehouse:
        trips = warehouse.query_arrow("select trip_id, driver_id, customer_id, requested_at from main.trips "
                                      "order by trip_id limit 500")
    spine = tmp_path / "spine.parquet"
    pq.write_table(trips, spine)
    out = tmp_path / "ts.parquet"
    features = "driver_hourly_stats.conv_rate,customer_profile.*"
    result = fsdbt("historical", "--spine", str(spine), "--features", features, "--spine-timestamp", "requested_at",
                   "--out", str(out), "--json", env=demo_project["env"])
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["rows"] == 500 and summary["features"][0] == "conv_rate"
    table = pq.read_table(out)
    assert table.column_names[:4] == ["trip_id", "driver_id", "customer_id", "requested_at"]
    assert table.column("trip_id").to_pylist() == trips.column("trip_id").to_pylist()
    assert table.column("conv_rate").null_count < 500

    by_sql = fsdbt("historical", "--spine", "select * from main.trips where trip_id <= 10", "--feature-service",
                   "trip_completion_model", "--spine-timestamp", "requested_at", "--out", str(tmp_path / "t.csv"),
                   env=demo_project["env"])
    assert by_sql.returncode == 0, by_sql.stderr
    assert by_sql.stdout.startswith("wrote 10 rows x ")

    bad = fsdbt("historical", "--spine", str(spine), "--features", "driver_hourly_stats.conv_rat",
                "--spine-timestamp", "requested_at", "--out", str(out), env=demo_project["env"])
    assert bad.returncode == 1
    assert "unknown feature 'conv_rat' in view 'driver_hourly_stats'; did you mean 'conv_rate'?" in bad.stderr
    assert "Traceback" not in bad.stderr


def test_generated_training_set_builds(demo_project: dict[str, Any], tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    for item in ("dbt_project.yml", "macros", "models"):
        source = REPO / item
        if source.is_dir():
            shutil.copytree(source, project / item)
        else:
            shutil.copy(source, project / item)
    env = {**demo_project["env"], "DBT_TARGET_PATH": str(tmp_path / "target")}
    out = project / "models" / "training" / "completion_ts.sql"
    made = fsdbt("generate", "training-set", "trip_completion_model", "--spine", "trips", "--spine-timestamp",
                 "requested_at", "--out", str(out), "--project-dir", str(project), env=env)
    assert made.returncode == 0, made.stderr
    sql = out.read_text()
    assert "-- depends_on: {{ ref('driver_hourly_stats') }}" in sql
    assert "fsdbt.point_in_time_join(" in sql and "'trip_completion_model'" in sql
    yml = out.with_suffix(".yml").read_text()
    assert "fsdbt.same_row_count_as" in yml and "Share of offers accepted in the hour." in yml
    result = run_dbt(["build", "--project-dir", str(project), "--profiles-dir", str(PROFILES), "--select",
                      "completion_ts", "--quiet"], env=env)
    assert result.success, result.exception
    from fsdbt.warehouse.duckdb import DuckDBWarehouse

    with DuckDBWarehouse(env["FSDBT_DUCKDB_PATH"]) as warehouse:
        built = warehouse.query_arrow("select * from main.completion_ts order by trip_id")
        macro = warehouse.query_arrow("select * from main.trip_completion_training_set order by trip_id")
    assert built.num_rows == macro.num_rows > 0
    assert built.select(macro.column_names).equals(macro) or _same(built.select(macro.column_names), macro)
    again = fsdbt("generate", "training-set", "trip_completion_model", "--spine", "trips", "--out", str(out),
                  "--project-dir", str(project), env=env)
    assert again.returncode == 1 and "exists; remove it or pass --out/--name" in again.stderr


def _same(a: pa.Table, b: pa.Table) -> bool:
    return a.to_pylist() == b.to_pylist()
