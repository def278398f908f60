"""Fixtures of the validation tests: `fsdbt stats` and `fsdbt schema` run once on the demo."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import duckdb
import pytest
from typer.testing import CliRunner

from tests.conftest import REPO


def fsdbt_cli(*args: str) -> Any:
    from fsdbt.cli import app

    return CliRunner().invoke(app, [*args, "--project-dir", str(REPO)], catch_exceptions=False)


@pytest.fixture(scope="session")
def demo_stats(demo_project: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    out = tmp_path_factory.mktemp("stats")
    with pytest.MonkeyPatch.context() as mp:
        for key, value in demo_project["env"].items():
            mp.setenv(key, value)
        result = fsdbt_cli("stats", "--out", str(out), "--html", str(out / "report.html"),
                           "--reference-window", "7d", "--json")
        assert result.exit_code == 0, result.output
        schema = fsdbt_cli("schema", "--out", str(out / "schema.pbtxt"))
        assert schema.exit_code == 0, schema.output
        one = fsdbt_cli("schema", "--select", "customer_profile")
        assert one.exit_code == 0, one.output
    con = duckdb.connect(demo_project["env"]["FSDBT_DUCKDB_PATH"], read_only=True)
    frames = {name: con.execute(f'select * from main."{name}"').df()
              for name in ("customer_profile", "driver_customer_stats", "driver_daily_activity", "driver_hourly_stats")}
    con.close()
    yield {"out": out, "doc": json.loads(result.stdout), "frames": frames, "schema_stdout": one.stdout}


