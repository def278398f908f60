"""``fsdbt sync`` and ``fsdbt teardown`` as users run them, on the demo project.

The validation gate, ``--json``, ``--dry-run``, ``--select``, ``--shard`` and ``teardown``.
Syncs that need a fixed ``now`` (the demo's data ends at a fixed anchor) run in this process.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from fsdbt.online.sqlite_store import SqliteOnlineStore
from fsdbt.store import FeatureStore
from tests.conftest import REPO
from tests.sync.conftest import _cleanup_redis, fsdbt
from tests.sync.test_consistency import SYNC_NOW, VIEWS

FAILING_TEST = "test.fsdbt.accepted_range_driver_daily_activity_trips_day.0a1b2c3d4e"
PASSING_TEST = "test.fsdbt.not_null_driver_hourly_stats_conv_rate.5f6a7b8c9d"


@pytest.fixture
def demo(demo_project: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The demo's environment with a private SQLite online store (set here and returned for subprocesses)."""
    env = {**demo_project["env"], "FSDBT_TARGET": "dev", "FSDBT_SQLITE_PATH": str(tmp_path / "online.sqlite")}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return env


def served_counts(path: str) -> dict[str, int]:
    """Rows per view in the generation readers see."""
    store = SqliteOnlineStore(path)
    try:
        return dict(store._con().execute(
            "select r.view, count(*) from fsdbt_online_rows r join fsdbt_online_views v on r.view = v.view "
            "and r.generation = v.current group by r.view").fetchall())
    finally:
        store.close()


def entity_counts(path: str) -> dict[str, int]:
    store = SqliteOnlineStore(path)
    try:
        con = store._con()
        return dict(con.execute("select view, count(*) from fsdbt_online_rows group by view").fetchall())
    finally:
        store.close()


def test_gate_refuses_a_view_whose_dbt_test_failed_and_force_publishes_it(demo: dict[str, str],
                                                                          tmp_path: Path) -> None:
    """``run_results.json`` says a test on driver_daily_activity failed (as ``dbt build`` writes it)."""
    target = tmp_path / "target"
    target.mkdir()
    source = Path(demo["DBT_TARGET_PATH"])
    manifest = json.loads((source / "manifest.json").read_text())
    results = json.loads((source / "run_results.json").read_text())
    for unique_id, model, status in ((FAILING_TEST, "driver_daily_activity", "fail"),
                                     (PASSING_TEST, "driver_hourly_stats", "pass")):
        manifest["nodes"][unique_id] = {
            "resource_type": "test", "name": unique_id.split(".")[2], "unique_id": unique_id,
            "attached_node": f"model.fsdbt.{model}", "depends_on": {"nodes": [f"model.fsdbt.{model}"]},
            "config": {"enabled": True, "severity": "ERROR"}, "package_name": "fsdbt",
        }
        results["results"].append({"unique_id": unique_id, "status": status, "failures": int(status == "fail"),
                                   "message": "Got 3 results, configured to fail if != 0" if status == "fail"
                                   else None})
    (target / "manifest.json").write_text(json.dumps(manifest))
    (target / "run_results.json").write_text(json.dumps(results))
    env = {**demo, "DBT_TARGET_PATH": str(target)}

    out = fsdbt("sync", "--json", env=env)
    assert out.returncode == 3, out.stderr  # partial: the other views went on
    views = {v["view"]: v for v in json.loads(out.stdout)["views"]}
    assert set(views) == set(VIEWS)
    refused = views["driver_daily_activity"]
    assert refused["status"] == "refused"
    assert refused["message"].startswith("its latest dbt tests failed: accepted_range_driver_daily_activity_trips_day;")
    assert "--force" in refused["message"]
    assert all(views[v]["status"] == "ok" for v in VIEWS if v != "driver_daily_activity")
    assert "driver_daily_activity" not in entity_counts(demo["FSDBT_SQLITE_PATH"])

    forced = fsdbt("sync", "--force", "--select", "driver_daily_activity", "--json", env=env)
    assert forced.returncode == 0, forced.stderr
    assert [(v["view"], v["status"], v["mode"]) for v in json.loads(forced.stdout)["views"]] == [
        ("driver_daily_activity", "ok", "full")]


def test_dry_run_prints_the_sql_of_the_selected_views_and_writes_nothing(demo: dict[str, str]) -> None:
    out = fsdbt("sync", "--dry-run", "--select", "tag:driver", env=demo)
    assert out.returncode == 0, out.stderr
    for view in ("driver_customer_stats", "driver_daily_activity", "driver_hourly_stats"):
        assert f"-- {view} (full)\nSELECT " in out.stdout
    assert "customer_profile" not in out.stdout.replace("driver_customer_stats", "")
    assert 'WHERE rowid IN (SELECT ARG_MAX(rowid, STRUCT_PACK(' in out.stdout and '"loaded_at"' in out.stdout
    with FeatureStore(REPO) as store:
        assert all(store.online.get_state(v) is None for v in VIEWS)
    assert entity_counts(demo["FSDBT_SQLITE_PATH"]) == {}


def test_shards_together_cover_every_entity_exactly_once(demo: dict[str, str]) -> None:
    """Two ``--shard`` runs of the CLI, then every view (composite keys included) in this process."""
    reads = []
    for shard, message, served in (("0/2", "1 of 2 shards have rebuilt their part", {}),
                                   ("1/2", "the last of 2 shards: the rebuilt view is served now",
                                    {"customer_profile": 2000})):
        out = fsdbt("sync", "--select", "customer_profile", "--shard", shard, "--json", env=demo)
        assert out.returncode == 0, out.stderr
        doc = json.loads(out.stdout)  # one JSON document, nothing else on stdout
        assert [(v["view"], v["status"], v["mode"]) for v in doc["views"]] == [("customer_profile", "ok", "full")]
        assert doc["views"][0]["message"].startswith(message)
        reads.append(doc["views"][0]["rows_read"])
        # The shards build one generation: readers see none of it until the last shard is done.
        assert served_counts(demo["FSDBT_SQLITE_PATH"]) == served
    assert 0 < reads[0] < 2000 and reads[0] + reads[1] == 2000
    assert entity_counts(demo["FSDBT_SQLITE_PATH"]) == {"customer_profile": 2000}

    drivers = ["driver_customer_stats", "driver_daily_activity", "driver_hourly_stats"]
    with FeatureStore(REPO) as store:
        totals = {r.view: r.rows_read for r in store.sync(drivers, now=SYNC_NOW)}
        for view in drivers:
            store.teardown(view)
        parts = [{r.view: r.rows_read for r in store.sync(drivers, shard=s, now=SYNC_NOW)}
                 for s in ("0/3", "1/3", "2/3")]
        counts = entity_counts(demo["FSDBT_SQLITE_PATH"])
        for view, total in totals.items():
            assert sum(p[view] for p in parts) == total == counts[view], view
            assert all(0 < p[view] < total for p in parts), view
        # A teardown removes the shards' state too: sharded syncs after it start over.
        for view in drivers:
            store.teardown(view)
        again = {r.view: (r.mode, r.rows_read) for r in store.sync(drivers, shard="0/3", now=SYNC_NOW)}
        assert again == {v: ("full", parts[0][v]) for v in drivers}


@pytest.fixture
def redis_demo(demo: dict[str, str], shared_redis_url: str, prefix: str,
               monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    env = {**demo, "FSDBT_TARGET": "redis", "FSDBT_REDIS_URL": shared_redis_url, "FSDBT_REDIS_KEY_PREFIX": prefix}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    yield env
    _cleanup_redis(shared_redis_url, False, prefix)


@pytest.mark.redis
def test_teardown_deletes_only_that_view(redis_demo: dict[str, str], prefix: str) -> None:
    with FeatureStore(REPO) as store:
        assert all(r.status == "ok" for r in store.sync(now=SYNC_NOW))
    client = redis.Redis.from_url(redis_demo["FSDBT_REDIS_URL"])
    try:
        def keys(view: str) -> int:
            return sum(1 for _ in client.scan_iter(match=f"{prefix}:v1:{view}:*", count=5000))

        before = {v: keys(v) for v in VIEWS}
        assert before["driver_hourly_stats"] == 200 + 2  # an entity each, the generation and the state
        out = fsdbt("teardown", "driver_hourly_stats", "--yes", "--json", env=redis_demo)
        assert out.returncode == 0, out.stderr
        assert json.loads(out.stdout) == {"view": "driver_hourly_stats", "keys_deleted": 202}
        assert {v: keys(v) for v in VIEWS} == {**before, "driver_hourly_stats": 0}
    finally:
        client.close()
    with FeatureStore(REPO) as store:
        result = store.get_online_features(["driver_hourly_stats.conv_rate", "customer_profile.avg_spend"],
                                           [{"driver_id": 1001, "customer_id": 50001}], now=SYNC_NOW)
        assert [s[0].value for s in result.statuses.values()] == ["NOT_FOUND", "PRESENT"]
