"""``fsdbt push-log``: look after the offline push log on DuckDB (one Parquet file per push)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from fsdbt.cli.options import Json, ProfilesDir, ProjectDir, Target
from fsdbt.cli.output import info, print_json, print_table
from fsdbt.errors import ConfigError, did_you_mean
from fsdbt.store import FeatureStore

if TYPE_CHECKING:
    from fsdbt.push import PushLog

Views = Annotated[list[str] | None, typer.Argument(help="Views (default: every view with a log).")]

app = typer.Typer(help="The offline push log (DuckDB): list it, compact it.", no_args_is_help=True)


def _log_and_views(store: FeatureStore, views: list[str] | None) -> tuple[PushLog, list[str]]:
    from fsdbt.push import PushLog, push_log_dir

    log = PushLog(push_log_dir(store.project))
    known = log.views()
    if not views:
        return log, known
    for name in views:
        if name not in known and name not in store.registry.views:
            raise ConfigError(f"no feature view '{name}'{did_you_mean(name, list(store.registry.views))}")
    return log, views


@app.command("ls")
def ls_command(views: Views = None, project_dir: ProjectDir = None, profiles_dir: ProfilesDir = None,
               target: Target = None, json_out: Json = False) -> None:
    """Files and bytes in each view's push log."""
    with FeatureStore(project_dir, profiles_dir, target) as store:
        log, names = _log_and_views(store, views)
        rows = []
        for name in names:
            files = log.files(name)
            rows.append({"view": name, "files": len(files), "bytes": sum(f.stat().st_size for f in files),
                         "directory": str(log.view_dir(name))})
    if json_out:
        print_json(rows)
    else:
        print_table("Push log", ["view", "files", "bytes", "directory"],
                    [[r["view"], f"{r['files']:,}", f"{r['bytes']:,}", r["directory"]] for r in rows])


@app.command("compact")
def compact_command(views: Views = None, project_dir: ProjectDir = None, profiles_dir: ProfilesDir = None,
                    target: Target = None, json_out: Json = False) -> None:
    """Merge each view's push-log files into one (safe while pushes and dbt builds run)."""
    with FeatureStore(project_dir, profiles_dir, target) as store:
        if store.target.type != "duckdb":
            info(f"on {store.target.type}, offline pushes go to the table fsdbt_push_<view> beside the view: "
                 f"there is no push log to compact")
            return
        log, names = _log_and_views(store, views)
        results = [log.compact(name) for name in names]
    if json_out:
        print_json([r.as_dict() for r in results])
    else:
        print_table("Push log compaction", ["view", "files before", "files after", "rows", "merged into"],
                    [[r.view, f"{r.files_before:,}", f"{r.files_after:,}", f"{r.rows:,}", r.merged or "-"]
                     for r in results])
