"""Loads the registry for a project: a fresh manifest (parsing in-process only if needed)."""

from __future__ import annotations

from typing import Any

from fsdbt.errors import ManifestError
from fsdbt.project import DbtProject
from fsdbt.registry import Catalog, Registry, load_registry


def fresh_manifest(project: DbtProject, adapter_type: str | None = None, *, reparse: bool = True) -> dict[str, Any]:
    """The project's manifest, parsed again in-process when missing or older than its files."""
    if not project.manifest_is_fresh(adapter_type):
        if not reparse:
            raise ManifestError(f"{project.manifest_path} is missing or older than the project's files; "
                                f"run `dbt parse`")
        from fsdbt import dbt_runner  # imports dbt: only here, only when needed

        dbt_runner.parse(project)
    return project.read_manifest()


def load(project: DbtProject, adapter_type: str | None = None, catalog: Catalog | None = None) -> Registry:
    return load_registry(fresh_manifest(project, adapter_type), catalog)
