"""Where fsdbt's own files are: the dbt package and the templates."""

from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent


def dbt_package_dir() -> Path:
    """The fsdbt dbt package: the repository root in a checkout, or its copy inside the wheel."""
    checkout = PACKAGE_DIR.parent
    if (checkout / "dbt_project.yml").is_file() and (checkout / "macros").is_dir():
        return checkout
    return PACKAGE_DIR / "_dbt_package"


def template_dir(name: str) -> Path:
    return PACKAGE_DIR / "templates" / name
