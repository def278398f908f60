"""The validation gate: a view whose latest dbt tests failed is not published.

Reads ``target/run_results.json`` (written by ``dbt build`` / ``dbt test``) and the
manifest's test nodes; only tests attached to the view (or depending on it) count.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from fsdbt.definitions import FeatureView

FAILING = {"fail", "error", "runtime error"}


def load_run_results(path: Path) -> dict[str, Any] | None:
    if not path.is_file():
        return None
    with open(path, encoding="utf-8") as fh:
        data: dict[str, Any] = json.load(fh)
        return data


def failing_tests(manifest: Mapping[str, Any], run_results: Mapping[str, Any] | None,
                  view: FeatureView) -> list[str]:
    """The view's tests whose latest result was a failure or an error, and the model itself
    if its latest build errored."""
    if not run_results:
        return []
    nodes = manifest.get("nodes", {})
    failed = []
    for result in run_results.get("results", []):
        if str(result.get("status", "")).lower() not in FAILING:
            continue
        if result.get("unique_id") == view.unique_id:
            # The model itself failed (its structural checks, or its SQL): on warehouses
            # without transactional DDL its table may already hold the rejected rows.
            failed.append(f"{view.name} (the model's own build)")
            continue
        node = nodes.get(result.get("unique_id", ""), {})
        if node.get("resource_type") != "test":
            continue
        attached = node.get("attached_node") or ""
        depends = node.get("depends_on", {}).get("nodes", [])
        if attached == view.unique_id or (not attached and view.unique_id in depends):
            failed.append(node.get("name", result["unique_id"]))
    return sorted(failed)
