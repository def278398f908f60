"""Child process: build one cached dataset (demo data generated and loaded, then ``dbt build``).

    python benchmarks/prepare.py '{"preset": "medium", "seed": 42, "anchor": "..."}'

Skips the work when ``benchmarks/.cache/<preset>-seed<seed>-<anchor>/ready.json`` matches the
sources' fingerprint; parses again (in-process) when only the manifest went stale. Prints one
JSON line: the relations of the views and the spine, and what was done.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import PROFILES, Dataset, emit, log


def _dbt(args: list[str], project_dir: Path) -> None:
    from dbt.cli.main import dbtRunner

    with contextlib.redirect_stdout(sys.stderr):
        result = dbtRunner().invoke([*args, "--project-dir", str(project_dir), "--profiles-dir", str(PROFILES),
                                     "--target", "redis", "--quiet", "--no-use-colors",
                                     "--no-send-anonymous-usage-stats"])
    if not result.success:
        raise SystemExit(f"dbt {args[0]} failed for {project_dir}: {result.exception}")


def _relations(ds: Dataset) -> dict[str, Any]:
    manifest = json.loads((ds.target_path / "manifest.json").read_text())
    out = {}
    for node in manifest["nodes"].values():
        if node.get("resource_type") == "model":
            out[node["name"]] = {"database": node["database"], "schema": node["schema"],
                                 "identifier": node.get("alias") or node["name"]}
    return out


def prepare(ds: Dataset) -> dict[str, Any]:
    os.environ.update(ds.env())
    fingerprint = ds.fingerprint()
    done: list[str] = []
    started = time.perf_counter()
    ready = json.loads(ds.ready_file.read_text()) if ds.ready_file.is_file() else {}
    if ready.get("fingerprint") != fingerprint:
        if ds.root.exists():
            shutil.rmtree(ds.root)
        ds.root.mkdir(parents=True)
        if ds.preset != "sync1m":
            from fsdbt.definitions import Relation
            from fsdbt.demo.generator import PRESETS, customer_profile_updates, driver_stats_events, trips
            from fsdbt.warehouse.duckdb import DuckDBWarehouse

            size = PRESETS[ds.preset]
            warehouse = DuckDBWarehouse(str(ds.duckdb_path), read_only=False)
            # One table at a time keeps the generator's peak memory to the largest table.
            for name, make in (("driver_stats_events", driver_stats_events),
                               ("customer_profile_updates", customer_profile_updates), ("trips", trips)):
                table = make(size, ds.anchor, ds.seed)
                warehouse.load_arrow(table, Relation(None, "raw", name))
                log(f"{ds.key}: raw.{name} {table.num_rows:,} rows")
                del table
            warehouse.close()
            done.append(f"generated in {time.perf_counter() - started:.1f}s")
        t0 = time.perf_counter()
        _dbt(["build"], ds.project_dir)
        done.append(f"dbt build in {time.perf_counter() - t0:.1f}s")
        ds.ready_file.write_text(json.dumps({"fingerprint": fingerprint, **ds.as_dict()}))
    else:
        from fsdbt.project import DbtProject

        project = DbtProject.load(ds.project_dir, PROFILES, "redis")
        if not project.manifest_is_fresh("duckdb"):
            # The project's other files (macros) changed since the build: parse again here, so
            # the measured processes never parse (and never import dbt).
            t0 = time.perf_counter()
            _dbt(["parse"], ds.project_dir)
            done.append(f"dbt parse in {time.perf_counter() - t0:.1f}s")
        else:
            done.append("cached")
    return {"dataset": ds.key, "done": done, "seconds": round(time.perf_counter() - started, 2),
            "relations": _relations(ds)}


if __name__ == "__main__":
    emit(prepare(Dataset.from_dict(json.loads(sys.argv[1]))))
