"""``fsdbt init``: a new dbt project wired to fsdbt that builds on the first try."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

import typer

from fsdbt.cli.output import info
from fsdbt.errors import ConfigError
from fsdbt.paths import dbt_package_dir, template_dir


def register(app: typer.Typer) -> None:
    app.command("init")(init_command)


def init_command(
    directory: Annotated[Path, typer.Argument(help="Where to create the project (must be empty or new).")],
    name: Annotated[str | None, typer.Option(help="Project name (default: the directory's name).")] = None,
    deps: Annotated[bool, typer.Option(help="Install the fsdbt dbt package (dbt deps) now.")] = True,
) -> None:
    """Create a dbt project with an example feature view and feature service."""
    target = directory.resolve()
    project = name or re.sub(r"\W", "_", target.name).strip("_").lower() or "features"
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", project):
        raise ConfigError(f"project name '{project}' is not a valid dbt name; use letters, digits and _, "
                          f"starting with a letter (pass --name)")
    if target.exists() and any(target.iterdir()):
        raise ConfigError(f"{target} exists and is not empty; choose a new directory")
    source = template_dir("init")
    for path in sorted(source.rglob("*")):
        if path.is_dir() or "__pycache__" in path.parts:
            continue
        dest = target / path.relative_to(source)
        dest.parent.mkdir(parents=True, exist_ok=True)
        text = path.read_text(encoding="utf-8")
        text = text.replace("__PROJECT__", project).replace("__FSDBT_PACKAGE__", str(dbt_package_dir()))
        dest.write_text(text, encoding="utf-8")
    (target / "macros").mkdir(exist_ok=True)
    (target / "tests").mkdir(exist_ok=True)
    info(f"created dbt project '{project}' in {target}")
    if deps:
        from fsdbt import dbt_runner
        from fsdbt.project import DbtProject

        result = dbt_runner.invoke(DbtProject.load(target, target), ["deps"])
        if not result.success:
            raise ConfigError(f"`dbt deps` failed in {target}; run it there to see why")
    info(f"next: cd {target} && dbt build && fsdbt ls")
