"""Options shared by commands, named like dbt's."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

ProjectDir = Annotated[Path | None, typer.Option(
    "--project-dir", help="The dbt project (default: $DBT_PROJECT_DIR or the current directory).")]
ProfilesDir = Annotated[Path | None, typer.Option(
    "--profiles-dir", help="Where profiles.yml is (default: $DBT_PROFILES_DIR, the current directory, ~/.dbt).")]
Target = Annotated[str | None, typer.Option(
    "--target", "-t", help="The dbt target (default: $DBT_TARGET or the profile's default).")]
Select = Annotated[list[str] | None, typer.Option(
    "--select", "-s", help="Feature views by name, glob (driver_*), or tag:NAME; repeatable.")]
Json = Annotated[bool, typer.Option("--json", help="Print one JSON document for machines.")]
