"""The offline push loop on DuckDB: push -> Parquet push log -> `dbt build` -> training sets see the row.

Builds a private copy of the demo (its own DuckDB file, target dir and push log) so that the
session's shared demo is never changed.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from tests.conftest import DEMO_ANCHOR, PROFILES, REPO, run_dbt
from tests.server.conftest import EnvPatch

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def private_demo(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from fsdbt.definitions import Relation
    from fsdbt.demo.generator import PRESETS, generate
    from fsdbt.warehouse.duckdb import DuckDBWarehouse

    root = tmp_path_factory.mktemp("push_demo")
    env = {"FSDBT_DUCKDB_PATH": str(root / "demo.duckdb"), "FSDBT_SQLITE_PATH": str(root / "online.sqlite"),
           "DBT_PROFILES_DIR": str(PROFILES), "FSDBT_TARGET": "dev", "DBT_TARGET_PATH": str(root / "target"),
           "FSDBT_PUSH_LOG_DIR": str(root / "push_log")}
    wh = DuckDBWarehouse(env["FSDBT_DUCKDB_PATH"], read_only=False)
    for name, table in generate(PRESETS["small"], anchor=DEMO_ANCHOR, seed=11).items():
        wh.load_arrow(table, Relation(None, "raw", name))
    wh.close()
    patch = EnvPatch(env)
    try:
        result = run_dbt(["build", "--project-dir", str(REPO), "--profiles-dir", str(PROFILES), "--quiet",
                          "--select", "+trip_completion_training_set"], env=env)
        assert result.success, f"dbt build failed: {result.exception}"
        yield {"root": root, "env": env}
    finally:
        patch.restore()


def _query(path: str, sql: str) -> list[tuple[Any, ...]]:
    import duckdb

    con = duckdb.connect(path, read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_without_pushes_the_view_builds_exactly_as_its_source(private_demo: dict[str, Any]) -> None:
    db = private_demo["env"]["FSDBT_DUCKDB_PATH"]
    types = _query(db, "select column_name, data_type from information_schema.columns where table_name = "
                       "'driver_hourly_stats' order by ordinal_position")
    raw = _query(db, "select column_name, data_type from information_schema.columns where table_name = "
                     "'driver_stats_events' order by ordinal_position")
    assert types == raw
    diff = _query(db, "select count(*) from (select * from main.driver_hourly_stats except all "
                      "select * from raw.driver_stats_events) union all select count(*) from "
                      "(select * from raw.driver_stats_events except all select * from main.driver_hourly_stats)")
    assert diff == [(0,), (0,)]


def test_pushed_offline_rows_reach_the_point_in_time_join_after_dbt_build(private_demo: dict[str, Any]) -> None:
    from fsdbt.store import FeatureStore

    env = private_demo["env"]
    db = env["FSDBT_DUCKDB_PATH"]
    # A trip requested off the hour: a row pushed one second before it is the latest for it.
    trip_id, driver_id, requested_at = _query(db, """
        select trip_id, driver_id, requested_at from main.trips
        where driver_id is not null and minute(requested_at) between 10 and 50 order by trip_id limit 1""")[0]
    pushed_at = requested_at - timedelta(seconds=1)
    with FeatureStore(REPO, PROFILES, "dev") as store:
        features = store.get_feature_view("driver_hourly_stats").feature_names
        row = {"driver_id": driver_id, "event_timestamp": pushed_at.isoformat(), **dict.fromkeys(features),
               "loaded_at": pushed_at.isoformat()}
        row.update(conv_rate=0.123456, avg_daily_trips=77)
        result = store.push("driver_hourly_stats", [row], to="offline")
        # A client that timed out sends the same push again: the log holds the row twice, and the
        # view (whose structural check refuses duplicated keys) must still build, with it once.
        retried = store.push("driver_hourly_stats", [row], to="offline")
    assert result.rows == 1 and result.written == 0
    files = sorted((Path(env["FSDBT_PUSH_LOG_DIR"]) / "driver_hourly_stats").glob("*.parquet"))
    assert len(files) == 2 and {str(f) for f in files} == {result.offline, retried.offline}
    assert not [p for p in files[0].parent.iterdir() if p.name.endswith(".tmp")]

    build = run_dbt(["build", "--project-dir", str(REPO), "--profiles-dir", str(PROFILES), "--quiet",
                     "--select", "driver_hourly_stats+", "--exclude", "driver_daily_activity"], env=env)
    assert build.success, f"dbt build failed: {build.exception}"
    # The training-set model (the dbt macro path) sees the pushed row ...
    got = _query(db, f"select conv_rate, avg_daily_trips, acc_rate from main.trip_completion_training_set "
                     f"where trip_id = {trip_id!r}")
    assert got == [(0.123456, 77, None)]
    # ... and so does the Python path.
    spine = pa.table({"driver_id": [driver_id], "event_timestamp": pa.array([requested_at], pa.timestamp("us"))})
    with FeatureStore(REPO, PROFILES, "dev") as store:
        ts = store.get_historical_features(spine, ["driver_hourly_stats.conv_rate",
                                                   "driver_hourly_stats.avg_daily_trips"]).to_arrow()
    assert ts.column("conv_rate").to_pylist() == [0.123456]
    assert ts.column("avg_daily_trips").to_pylist() == [77]
    assert os.path.exists(result.offline or "")


def test_compacted_push_log_reads_the_same(private_demo: dict[str, Any]) -> None:
    """`fsdbt push-log compact` merges the files; the next build reads the same rows from one file."""
    import json

    from fsdbt.store import FeatureStore
    from tests.test_cli import fsdbt

    env = private_demo["env"]
    db = env["FSDBT_DUCKDB_PATH"]
    driver_id, event = _query(db, "select driver_id, max(event_timestamp) from main.driver_hourly_stats "
                                  "group by driver_id order by driver_id limit 1")[0]
    with FeatureStore(REPO, PROFILES, "dev") as store:
        features = store.get_feature_view("driver_hourly_stats").feature_names
        for hours, rate in ((1, 0.25), (2, 0.5), (3, 0.75)):
            at = (event + timedelta(hours=hours)).isoformat()
            store.push("driver_hourly_stats", [{"driver_id": driver_id, "event_timestamp": at,
                                                **dict.fromkeys(features), "conv_rate": rate}], to="offline")
    listed = json.loads(fsdbt("push-log", "ls", "driver_hourly_stats", "--json", env=env).stdout)
    before = listed[0]["files"]
    assert before >= 3

    def pushed_rows() -> list[tuple[Any, ...]]:
        build = run_dbt(["build", "--project-dir", str(REPO), "--profiles-dir", str(PROFILES), "--quiet",
                         "--select", "driver_hourly_stats"], env=env)
        assert build.success, f"dbt build failed: {build.exception}"
        return _query(db, f"select event_timestamp, conv_rate from main.driver_hourly_stats where driver_id = "
                          f"{driver_id} and event_timestamp > '{event}' order by event_timestamp")

    rows = pushed_rows()
    assert [r[1] for r in rows] == [0.25, 0.5, 0.75]
    done = fsdbt("push-log", "compact", "--json", env=env)
    assert done.returncode == 0, done.stderr
    result = next(r for r in json.loads(done.stdout) if r["view"] == "driver_hourly_stats")
    assert (result["files_before"], result["files_after"]) == (before, 1)
    assert json.loads(fsdbt("push-log", "ls", "driver_hourly_stats", "--json", env=env).stdout)[0]["files"] == 1
    assert pushed_rows() == rows
    unknown = fsdbt("push-log", "compact", "driver_hourly_stat", env=env)
    assert unknown.returncode != 0 and "did you mean 'driver_hourly_stats'" in unknown.stderr
    assert "Traceback" not in unknown.stderr
