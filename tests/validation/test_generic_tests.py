"""fsdbt's generic tests and structural checks, run by dbt on DuckDB and PostgreSQL.

The dbt project in ``tests/dbt_validation`` installs fsdbt (``packages.yml``: ``local: ../..``)
and builds a clean feature view (``events_good``) and one with planted problems
(``events_bad``). Every test in it declares what must happen (``config.meta.expect``: pass,
fail with ``meta.failures`` failures, or warn); a failing expectation is an expected-failure
test that proves the check can fail. Tests tagged ``error_case`` have broken arguments and
must stop with the message in ``meta.message``.

- DuckDB: a file in a temporary directory.
- PostgreSQL (marker ``postgres``): the server on 127.0.0.1:5432 (user postgres, database
  test), in a schema of its own that the test drops; a missing server fails the test.
"""

from __future__ import annotations

import json
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.validation.helpers import dbt_in_process, drop_schema, failure_text, postgres_available

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


def build_and_check(workdir: Path, target: str) -> dict[str, int]:
    res = run(["build", "--exclude", "tag:error_case"], workdir, target)
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
    res = run(["build", "--exclude", "tag:error_case"], workdir, "duckdb")
    assert res.exception is None, failure_text(res)
    return keep_results(workdir, "duckdb_build")


def test_generic_tests_duckdb(duckdb_build: Path) -> None:
    seen = check_expectations(duckdb_build)
    assert seen.get("pass", 0) >= 20 and seen.get("fail", 0) >= 15 and seen.get("warn", 0) == 2, seen


def test_argument_errors_duckdb(workdir: Path, duckdb_build: Path) -> None:
    assert check_error_cases(workdir, "duckdb") == 15


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
