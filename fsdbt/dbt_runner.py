"""The one module that imports dbt: in-process parse and commands through ``dbtRunner``.

Importing dbt costs seconds, so callers import this module only when a manifest is
missing or stale, or when they run a dbt command.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Sequence
from typing import Any

from fsdbt.errors import ManifestError
from fsdbt.project import DbtProject

_BASE_FLAGS = ("--no-send-anonymous-usage-stats", "--no-use-colors")


def _common_args(project: DbtProject) -> list[str]:
    args = ["--project-dir", str(project.root), "--profiles-dir", str(project.profiles_dir)]
    if project.target_name:
        args += ["--target", project.target_name]
    return args


def invoke(project: DbtProject, command: Sequence[str], *, quiet: bool = True) -> Any:
    """Run a dbt command in this process; dbt's own output goes to stderr."""
    from dbt.cli.main import dbtRunner

    args = [*command, *_common_args(project), *_BASE_FLAGS]
    if quiet:
        args.append("--quiet")
    os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "False")
    # dbt prints to stdout; fsdbt keeps stdout for its own results.
    try:
        with contextlib.redirect_stdout(sys.stderr):
            result = dbtRunner().invoke(args)
    finally:
        _release_duckdb()
    return result


def _release_duckdb() -> None:
    # dbt-duckdb keeps the database open after a run; fsdbt's own connection (or another
    # process) could not open the file otherwise.
    manager = sys.modules.get("dbt.adapters.duckdb.connections")
    if manager is not None:
        import gc

        manager.DuckDBConnectionManager.close_all_connections()
        gc.collect()


def parse(project: DbtProject) -> None:
    """Write a fresh ``target/manifest.json`` by parsing the project in-process."""
    result = invoke(project, ["parse"])
    if not result.success:
        detail = f": {result.exception}" if result.exception else " (see dbt's messages above)"
        raise ManifestError(f"dbt could not parse the project in {project.root}{detail}")
