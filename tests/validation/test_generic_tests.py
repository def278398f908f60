"""fsdbt's generic tests and structural checks, run by dbt on DuckDB, PostgreSQL and Snowflake.

The dbt project in ``tests/dbt_validation`` installs fsdbt (``packages.yml``: ``local: ../..``)
and builds a clean feature view (``events_good``) and one with planted problems
(``events_bad``). Every test in it declares what must happen (``config.meta.expect``: pass,
fail with ``meta.failures`` failures, or warn); a failing expectation is an expected-failure
test that proves the check can fail. Tests tagged ``error_case`` have broken arguments and
must stop with the message in ``meta.message``. Models tagged ``structural_case`` are feature
views with a duplicated key, a NULL key or a NULL timestamp: the post-hook
``fsdbt.structural_checks()`` must fail their ``dbt build`` with the same message on every engine.

- DuckDB: a file in a temporary directory.
- PostgreSQL (marker ``postgres``): the server on 127.0.0.1:5432 (user postgres, database
  test), in a schema of its own that the test drops; a missing server fails the test.
- Snowflake (marker ``snowflake``): dbt-snowflake and the real connector talking to the
  fakesnow server of ``tests/test_pit_macro.py`` (DuckDB underneath), in a schema of its own.
"""

from __future__ import annotations

import json
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.test_pit_macro import fakesnow_port
from tests.validation.helpers import dbt_in_process, drop_schema, failure_text, postgres_available

__all__ = ["fakesnow_port"]  # the fixture, imported for pytest

PROJECT = Path(__file__).resolve().parent.parent / "dbt_validation"


def run(args: list[str], workdir: Path, target: str) -> Any:
    flags = ["--project-dir", str(PROJECT), "--profiles-dir", str(PROJECT), "--log-path", str(workdir / "logs"),
             "--target-path", str(workdir / "target"), "--target", target]
    return dbt_in_process([*args, *flags])


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Scratch space for dbt's packages, target and logs; `dbt deps` runs once into it."""
    path = tmp_path_factory.mktemp("dbt_validation")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FSDBT_VALIDATION_PACKAGES_DIR", str(path / "dbt_packages"))
        mp.setenv("FSDBT_VALIDATION_DUCKDB_PATH", str(path / "validation.duckdb"))
        mp.setenv("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
        res = dbt_in_process(["deps", "--project-dir", str(PROJECT), "--profiles-dir", str(PROJECT),
                              "--log-path", str(path / "logs")])
        assert res.success, failure_text(res)
        yield path


def check_expectations(target: Path) -> dict[str, int]:
    """Compare every test's result with its meta.expect; returns how many of each were checked."""
    manifest = json.loads((target / "manifest.json").read_text())
    results = json.loads((target / "run_results.json").read_text())["results"]
    by_id = {r["unique_id"]: r for r in results}
    seen: dict[str, int] = {}
    problems = []
    for uid, node in manifest["nodes"].items():
        if node["resource_type"] != "test" or "error_case" in node.get("tags", []):
            continue
        meta = node["config"].get("meta") or {}
        expect = meta.get("expect")
        if expect is None:
            continue
        result = by_id.get(uid)
        if result is None:
            problems.append(f"{node['name']}: did not run")
            continue
        status, failures = result["status"], result.get("failures")
        if status != expect:
            problems.append(f"{node['name']}: expected {expect}, got {status} ({failures} failures): "
                            f"{result['message']}")
        elif "failures" in meta and failures != meta["failures"]:
            problems.append(f"{node['name']}: expected {meta['failures']} failures, got {failures}")
        seen[expect] = seen.get(expect, 0) + 1
    assert not problems, "\n".join(problems)
    return seen


def check_error_cases(workdir: Path, target: str) -> int:
    res = run(["test", "--select", "tag:error_case"], workdir, target)
    assert not res.success
    manifest = json.loads((workdir / "target" / "manifest.json").read_text())
    results = json.loads((workdir / "target" / "run_results.json").read_text())["results"]
    assert results, "no error_case test ran"
    for result in results:
        node = manifest["nodes"][result["unique_id"]]
        expected = node["config"]["meta"]["message"]
        assert result["status"] == "error", f"{node['name']}: {result['status']}"
        assert expected in (result["message"] or ""), f"{node['name']}: {result['message']}"
    return len(results)


# What the structural checks say about each structural_case view, word for word on every engine.
STRUCTURAL_FIX = ("Fix the model so that each entity and timestamp has exactly one row with non-NULL keys "
                  "(deduplicate it, e.g. keep the latest row per key with row_number()), or set "
                  "meta.fsdbt_structural_checks to 'warn' or 'off' for this model.")
STRUCTURAL_MESSAGES = {
    "struct_duplicate_keys": "fsdbt structural check failed for feature view 'struct_duplicate_keys' "
    "(models/structural/struct_duplicate_keys.sql): 1 duplicated (user_id, event_ts, loaded_at) combination(s), "
    "e.g. user_id=10, event_ts=2024-01-01 02:00:00, loaded_at=2024-01-01 02:01:00 occurs 3 times. " + STRUCTURAL_FIX,
    "struct_null_keys": "fsdbt structural check failed for feature view 'struct_null_keys' "
    "(models/structural/struct_null_keys.sql): 2 row(s) with a NULL key in (user_id, event_ts), "
    "e.g. user_id=NULL, event_ts=2024-01-01 04:00:00, loaded_at=2024-01-01 04:01:00. " + STRUCTURAL_FIX,
    "struct_null_timestamp": "fsdbt structural check failed for feature view 'struct_null_timestamp' "
    "(models/structural/struct_null_timestamp.sql): 1 row(s) with a NULL key in (user_id, event_ts), "
    "e.g. user_id=30, event_ts=NULL, loaded_at=2024-01-01 06:01:00. " + STRUCTURAL_FIX,
}


def check_structural(workdir: Path, target: str) -> None:
    """`dbt build` of the structural_case views fails each with the structural checks' message."""
    res = run(["build", "--select", "tag:structural_case"], workdir, target)
    assert res.exception is None, failure_text(res)
    assert not res.success
    results = json.loads((workdir / "target" / "run_results.json").read_text())["results"]
    got = {}
    for r in results:
        # The message's first line names the model, then comes fsdbt's text, then dbt's macro stack.
        lines = (r["message"] or "").splitlines()
        message = lines[1].strip() if len(lines) > 1 else "\n".join(lines)
        if target == "snowflake":
            # fakesnow returns a NULL TIMESTAMP_NTZ as 1970-01-01 (a fakesnow bug; Snowflake and
            # its connector return None, which the message prints as NULL).
            message = message.replace("event_ts=1970-01-01 00:00:00", "event_ts=NULL")
        got[r["unique_id"].rsplit(".", 1)[-1]] = (r["status"], message)
    assert got == {name: ("error", message) for name, message in STRUCTURAL_MESSAGES.items()}


def build_and_check(workdir: Path, target: str) -> dict[str, int]:
    res = run(["build", "--exclude", "tag:error_case", "tag:structural_case"], workdir, target)
    # The expected failures make the build fail; every expectation is checked below.
    assert res.exception is None, failure_text(res)
    seen = check_expectations(workdir / "target")
    assert seen.get("pass", 0) >= 20 and seen.get("fail", 0) >= 15 and seen.get("warn", 0) == 2, seen
    return seen


def keep_results(workdir: Path, name: str) -> Path:
    """A copy of this build's manifest and run results (the error-case run overwrites them)."""
    kept = workdir / name
    kept.mkdir(exist_ok=True)
    for file in ("manifest.json", "run_results.json"):
        shutil.copy(workdir / "target" / file, kept / file)
    return kept


@pytest.fixture(scope="module")
def duckdb_build(workdir: Path) -> Path:
    """`dbt build` of the validation project on DuckDB; returns a copy of its manifest and run results."""
    res = run(["build", "--exclude", "tag:error_case", "tag:structural_case"], workdir, "duckdb")
    assert res.exception is None, failure_text(res)
    return keep_results(workdir, "duckdb_build")


def test_generic_tests_duckdb(duckdb_build: Path) -> None:
    seen = check_expectations(duckdb_build)
    assert seen.get("pass", 0) >= 20 and seen.get("fail", 0) >= 15 and seen.get("warn", 0) == 2, seen


def test_argument_errors_duckdb(workdir: Path, duckdb_build: Path) -> None:
    assert check_error_cases(workdir, "duckdb") == 15


def test_structural_checks_duckdb(workdir: Path, duckdb_build: Path) -> None:
    check_structural(workdir, "duckdb")


def test_sync_gate_refuses_a_view_whose_fsdbt_tests_failed(duckdb_build: Path) -> None:
    """`FeatureStore.sync` (SQLite online store) refuses a view whose fsdbt tests failed; --force publishes it."""
    from fsdbt.store import FeatureStore

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DBT_TARGET_PATH", str(duckdb_build))
        mp.setenv("DBT_PROFILES_DIR", str(PROJECT))
        with FeatureStore(PROJECT, PROJECT, "duckdb") as store:
            assert store.target.online_store["type"] == "sqlite"
            results = {r.view: r for r in store.sync(["events_good", "events_bad"])}
            forced = store.sync(["events_bad"], force=True)
    # Each view is refused for its own failed tests only (events_good has expected failures too).
    assert results["events_good"].status == "refused"
    assert "good_freshness_too_old" in results["events_good"].message
    assert "bad_" not in results["events_good"].message
    refused = results["events_bad"]
    assert refused.status == "refused"
    for test in ("bad_unique_from_meta", "bad_keys_not_null", "bad_amount_psi", "bad_score_null_rate"):
        assert test in refused.message
    assert "bad_unique_warn" not in refused.message  # a warning does not block
    assert forced[0].status not in ("refused", "failed"), forced[0]
    assert "good_freshness_too_old" not in refused.message and "good_" not in refused.message


def test_unsupported_adapter_message(workdir: Path) -> None:
    """The portable fallback of an adapter-specific helper names the adapter and the fix."""
    res = run(["run-operation", "call_default_quantile"], workdir, "duckdb")
    assert not res.success
    log = (workdir / "logs" / "dbt.log").read_text()
    assert "fsdbt: quantiles are not implemented for adapter 'duckdb'" in log


@pytest.fixture()
def postgres_schema(workdir: Path) -> Iterator[str]:
    why = postgres_available()
    if why:
        pytest.fail(f"no PostgreSQL server on 127.0.0.1 (user postgres, database test): {why}")
    schema = f"fsdbt_validation_{uuid.uuid4().hex[:10]}"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FSDBT_VALIDATION_SCHEMA", schema)
        yield schema
    drop_schema(schema)


@pytest.mark.postgres
def test_generic_tests_postgres(workdir: Path, postgres_schema: str) -> None:
    build_and_check(workdir, "postgres")
    assert check_error_cases(workdir, "postgres") == 15
    check_structural(workdir, "postgres")


@pytest.fixture()
def snowflake_schema(fakesnow_port: int) -> Iterator[str]:
    """A fresh schema on the fakesnow server (which the module's fixture stops, data and all)."""
    schema = f"fsdbt_validation_{uuid.uuid4().hex[:10]}"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FSDBT_VALIDATION_SCHEMA", schema)
        mp.setenv("FSDBT_VALIDATION_SNOWFLAKE_PORT", str(fakesnow_port))
        yield schema


@pytest.mark.snowflake
def test_generic_tests_snowflake(workdir: Path, snowflake_schema: str) -> None:
    build_and_check(workdir, "snowflake")
    assert check_error_cases(workdir, "snowflake") == 15
    check_structural(workdir, "snowflake")
