"""``fsdbt demo data``: write the ride-hailing demo's raw tables into the target warehouse."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Annotated

import typer

from fsdbt.cli.options import ProfilesDir, ProjectDir, Target
from fsdbt.cli.output import info
from fsdbt.errors import ConfigError, one_of

app = typer.Typer(help="The ride-hailing demo.", no_args_is_help=True)


@app.command("data")
def data_command(
    size: Annotated[str, typer.Option(help="A preset: small (the demo), medium, manyent, large.")] = "small",
    seed: Annotated[int, typer.Option(help="Random seed; the same seed, size and anchor give the same rows.")] = 42,
    anchor: Annotated[str | None, typer.Option(
        help="End of the generated history, ISO-8601 in UTC (default: the current hour).")] = None,
    schema: Annotated[str, typer.Option(help="Schema for the raw tables.")] = "raw",
    project_dir: ProjectDir = None, profiles_dir: ProfilesDir = None, target: Target = None,
) -> None:
    """Generate the demo's raw tables (seeded) and load them into the target's warehouse."""
    import time

    from fsdbt.definitions import Relation
    from fsdbt.demo.generator import PRESETS, generate
    from fsdbt.project import DbtProject
    from fsdbt.warehouse import open_warehouse

    if size not in PRESETS:
        raise ConfigError(f"--size '{size}' is not a preset; choose one of {one_of(PRESETS)}")
    when = None
    if anchor:
        try:
            when = datetime.fromisoformat(anchor.replace("Z", "+00:00"))
        except ValueError:
            raise ConfigError(f"--anchor '{anchor}' is not an ISO-8601 time such as 2026-01-01T00:00:00") from None
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
    project = DbtProject.load(project_dir, profiles_dir, target)
    settings = project.load_target()
    started = time.perf_counter()
    tables = generate(PRESETS[size], anchor=when, seed=seed)
    if settings.type == "duckdb":
        import os

        path = str(settings.settings.get("path", ""))
        if path and path != ":memory:" and os.path.dirname(path):
            os.makedirs(os.path.dirname(path), exist_ok=True)
    with open_warehouse(settings, read_only=False) as warehouse:
        for name, table in tables.items():
            warehouse.load_arrow(table, Relation(None, schema, name))
            info(f"loaded {schema}.{name}: {table.num_rows:,} rows")
    info(f"demo data ({size}, seed {seed}) written to {settings.describe()} in "
         f"{time.perf_counter() - started:.1f}s")
