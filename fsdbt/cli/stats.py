"""``fsdbt stats`` and ``fsdbt schema``: feature statistics and a TFMD schema."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Annotated

import typer

from fsdbt.cli.options import Json, ProfilesDir, ProjectDir, Select, Target
from fsdbt.cli.output import info, print_json, print_table
from fsdbt.durations import parse_duration
from fsdbt.errors import ConfigError
from fsdbt.store import FeatureStore

EXIT_DRIFT = 4  # statistics written, and at least one feature drifted past the threshold (--fail-on-drift)


def register(app: typer.Typer) -> None:
    app.command("stats")(stats_command)
    app.command("schema")(schema_command)


def _seconds(option: str, text: str) -> int:
    try:
        seconds = parse_duration(text).total_seconds()
    except ValueError as exc:
        raise ConfigError(f"{option}: {exc}") from None
    if seconds <= 0:
        raise ConfigError(f"{option} must be a positive duration such as '7d' or '36h'; got {text!r}")
    return int(seconds)


def stats_command(
    select: Select = None,
    out: Annotated[Path | None, typer.Option(
        "--out", help="Directory for statistics.pb / .pbtxt / .json (default: TARGET/fsdbt_stats).")] = None,
    html: Annotated[Path | None, typer.Option(
        "--html", help="Also write a self-contained HTML report (tables, histograms, drift).")] = None,
    reference_window: Annotated[str | None, typer.Option(
        "--reference-window", help="Compare the current window with this much history before it "
        "(population stability index per feature), e.g. 7d.")] = None,
    current_window: Annotated[str, typer.Option(
        "--current-window", help="The recent window compared with the reference window.")] = "1d",
    psi_threshold: Annotated[float, typer.Option(
        "--psi-threshold", help="Flag a feature whose PSI exceeds this (0.1 moderate, 0.25 large).")] = 0.2,
    quantiles: Annotated[int, typer.Option("--quantiles", help="Number of quantile buckets.")] = 10,
    buckets: Annotated[int, typer.Option("--buckets", help="Number of equal-width histogram buckets.")] = 10,
    top_k: Annotated[int, typer.Option("--top-k", help="Most frequent values kept per string feature.")] = 20,
    fail_on_drift: Annotated[bool, typer.Option(
        "--fail-on-drift", help=f"Exit with {EXIT_DRIFT} when a feature is flagged.")] = False,
    project_dir: ProjectDir = None, profiles_dir: ProfilesDir = None, target: Target = None,
    json_out: Json = False,
) -> None:
    """Compute per-feature statistics in the warehouse and write them as TFMD DatasetFeatureStatisticsList."""
    from fsdbt.selection import select_views
    from fsdbt.stats import Windows, compute_view
    from fsdbt.stats.tfmd import to_statistics_list, write_statistics

    if quantiles < 2 or buckets < 1 or top_k < 1:
        raise ConfigError("--quantiles must be at least 2, --buckets and --top-k at least 1")
    windows = None
    if reference_window:
        windows = Windows(_seconds("--current-window", current_window),
                          _seconds("--reference-window", reference_window))
    with FeatureStore(project_dir, profiles_dir, target) as store:
        views = select_views(store.registry.views.values(), select)
        results = []
        for view in views:
            started = time.monotonic()
            results.append(compute_view(store.warehouse, view, num_quantiles=quantiles, num_buckets=buckets,
                                        top_k=top_k, windows=windows, psi_threshold=psi_threshold))
            if not json_out:
                info(f"{view.name}: {results[-1].num_rows:,} rows, {len(view.features)} features "
                     f"in {time.monotonic() - started:.2f}s")
        out_dir = out or store.project.target_path / "fsdbt_stats"
    paths = write_statistics(to_statistics_list(results), out_dir)
    if html:
        from fsdbt.stats.report import render_report

        html.parent.mkdir(parents=True, exist_ok=True)
        html.write_text(render_report(results, reference_window=reference_window, current_window=current_window),
                        encoding="utf-8")
    flagged = [(v.view, f.name, f.drift.psi) for v in results for f in v.features if f.drift and f.drift.flagged]
    if json_out:
        print_json({"files": {k: str(p) for k, p in paths.items()}, "html": str(html) if html else None,
                    "views": [v.as_dict() for v in results],
                    "drifted": [{"view": v, "feature": f, "psi": p} for v, f, p in flagged]})
    else:
        for v in results:
            print_table(f"{v.view} ({v.num_rows:,} rows)",
                        ["feature", "type", "missing", "min", "max", "mean", "unique", "psi"],
                        [[f.name, str(f.dtype), f"{f.missing:,}", _fmt(f.numeric.min if f.numeric else None),
                          _fmt(f.numeric.max if f.numeric else None), _fmt(f.numeric.mean if f.numeric else None),
                          f.unique, _psi(f)] for f in v.features])
        typer.echo(f"statistics: {paths['binary']} (also .pbtxt, .json)")
        if html:
            typer.echo(f"report: {html}")
        for view_name, feature, value in flagged:
            info(f"drift: {view_name}.{feature}: PSI {value:.3f} > {psi_threshold}")
    if fail_on_drift and flagged:
        raise typer.Exit(EXIT_DRIFT)


def _fmt(value: float | None) -> str | None:
    return None if value is None else f"{value:.6g}"


def _psi(f: object) -> str | None:
    drift = getattr(f, "drift", None)
    if drift is None or drift.psi is None:
        return None
    return f"{drift.psi:.3f}{' !' if drift.flagged else ''}"


def schema_command(
    select: Select = None,
    out: Annotated[Path | None, typer.Option(
        "--out", help="Where to write the schema in protobuf text format (default: stdout).")] = None,
    project_dir: ProjectDir = None, profiles_dir: ProfilesDir = None, target: Target = None,
) -> None:
    """Write a TFMD Schema from the feature definitions (types, presence, value domains from tests)."""
    from fsdbt.selection import select_views
    from fsdbt.stats.tfmd import build_schema, schema_text

    with FeatureStore(project_dir, profiles_dir, target) as store:
        views = select_views(store.registry.views.values(), select)
        text = schema_text(build_schema(views, store.registry.manifest))
    if out is None:
        sys.stdout.write(text)
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    typer.echo(f"schema of {len(views)} view(s): {out}")
