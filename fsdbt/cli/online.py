"""``fsdbt sync``, ``fsdbt get`` and ``fsdbt teardown``: the online store."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from fsdbt.cli.options import Json, ProfilesDir, ProjectDir, Select, Target
from fsdbt.cli.output import info, print_json, print_table
from fsdbt.errors import ConfigError
from fsdbt.store import FeatureStore

EXIT_PARTIAL = 3


def register(app: typer.Typer) -> None:
    app.command("sync")(sync_command)
    app.command("get")(get_command)
    app.command("teardown")(teardown_command)


def sync_command(
    select: Select = None,
    full_refresh: Annotated[bool, typer.Option("--full-refresh", help="Rebuild each view's online data "
                                               "from scratch (switched in at once when complete).")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show what would be synced and the SQL; "
                                          "write nothing.")] = False,
    shard: Annotated[str | None, typer.Option(help="Sync only shard i of N (a hash of the entity keys), "
                                              "e.g. 0/4; each shard runs independently, and a full refresh "
                                              "is served when all N have finished.")] = None,
    force: Annotated[bool, typer.Option("--force", help="Publish views whose latest dbt tests failed.")] = False,
    max_memory_mb: Annotated[int | None, typer.Option(
        "--max-memory-mb", min=1, help="Keep this process's memory (RSS) under N MB by halving the batches "
        "while it is above; fail a view, writing nothing more, when even the smallest batch does not fit.")] = None,
    project_dir: ProjectDir = None, profiles_dir: ProfilesDir = None, target: Target = None,
    json_out: Json = False,
) -> None:
    """Publish the latest row per entity of each online feature view to the online store."""
    with FeatureStore(project_dir, profiles_dir, target) as store:
        results = store.sync(select, full_refresh=full_refresh, dry_run=dry_run, shard=shard, force=force,
                             progress=not json_out, max_memory_mb=max_memory_mb)
    if json_out:
        print_json({"views": [r.as_dict() for r in results]})
    else:
        print_table("Sync", ["view", "status", "mode", "rows read", "written", "skipped", "seconds", "rows/s"],
                    [[r.view, r.status, r.mode or "-", f"{r.rows_read:,}", f"{r.written:,}", f"{r.skipped:,}",
                      f"{r.seconds:.2f}", f"{r.rows_per_second:,.0f}"] for r in results])
        for r in results:
            if r.message:
                info(f"{r.view}: {r.status}: {r.message}")
            if dry_run and r.sql:
                typer.echo(f"-- {r.view} ({r.mode})\n{r.sql}\n")
    bad = [r for r in results if r.status in ("failed", "refused", "locked")]
    if bad:
        raise typer.Exit(EXIT_PARTIAL if len(bad) < len(results) else 1)


def _entity_rows(entities: list[str]) -> list[dict[str, Any]]:
    rows = []
    for spec in entities:
        row: dict[str, Any] = {}
        for part in spec.split(","):
            key, sep, value = part.partition("=")
            if not sep or not key.strip():
                raise ConfigError(f"--entity '{spec}': write KEY=VALUE (e.g. driver_id=1001; "
                                  f"composite keys: driver_id=1001,customer_id=50001)")
            row[key.strip()] = value.strip()
        rows.append(row)
    return rows


def get_command(
    name: Annotated[str, typer.Argument(help="A feature view or a feature service.")],
    entity: Annotated[list[str], typer.Option(help="Entity keys as KEY=VALUE[,KEY=VALUE]; repeat for "
                                              "several entities.")],
    features: Annotated[str | None, typer.Option(help="Only these features of a view (comma-separated).")] = None,
    project_dir: ProjectDir = None, profiles_dir: ProfilesDir = None, target: Target = None,
    json_out: Json = False,
) -> None:
    """Read the online features of a view or service for one or more entities."""
    rows = _entity_rows(entity)
    with FeatureStore(project_dir, profiles_dir, target) as store:
        registry = store.registry
        if name in registry.views:
            refs = [f"{name}.{f.strip()}" for f in features.split(",")] if features else [f"{name}.*"]
            result = store.get_online_features(refs, rows)
        else:
            if features:
                raise ConfigError("--features narrows a feature view; a service has its own feature list")
            result = store.get_online_features(feature_service=registry.service(name).name, entity_rows=rows)
    values = result.to_dict()
    statuses = result.statuses
    events = result.event_timestamps
    if json_out:
        print_json({"entities": result.entity_columns, "features": {
            c.name: {"values": values[c.name], "statuses": [str(s) for s in statuses[c.name]],
                     "event_timestamps": events[c.name]} for c in result.columns}})
        return
    for i, _ in enumerate(rows):
        keys = ", ".join(f"{k}={v[i]}" for k, v in result.entity_columns.items())
        print_table(f"{name} for {keys}", ["feature", "value", "status", "event time"],
                    [[c.name, values[c.name][i], str(statuses[c.name][i]), events[c.name][i]]
                     for c in result.columns])


def teardown_command(
    view: Annotated[str, typer.Argument(help="The feature view whose online data to delete.")],
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
    project_dir: ProjectDir = None, profiles_dir: ProfilesDir = None, target: Target = None,
    json_out: Json = False,
) -> None:
    """Delete one view's data from the online store (and nothing else)."""
    if not yes and not typer.confirm(f"delete every online value of '{view}'?", err=True):
        raise typer.Exit(1)
    with FeatureStore(project_dir, profiles_dir, target) as store:
        deleted = store.teardown(view)
    if json_out:
        print_json({"view": view, "keys_deleted": deleted})
    else:
        typer.echo(f"deleted {deleted:,} keys of '{view}'")
