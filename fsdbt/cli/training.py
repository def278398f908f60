"""``fsdbt historical`` (a training set to a file) and ``fsdbt generate training-set`` (a dbt model)."""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from fsdbt.cli.options import Json, ProfilesDir, ProjectDir, Target
from fsdbt.cli.output import info, print_json
from fsdbt.errors import ConfigError
from fsdbt.store import FeatureStore

generate_app = typer.Typer(help="Generate dbt code from feature definitions.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.command("historical")(historical_command)
    app.add_typer(generate_app, name="generate")


def _read_spine(spine: str) -> Any:
    path = Path(spine)
    if path.suffix.lower() in (".parquet", ".pq", ".csv") or path.exists():
        if not path.is_file():
            raise ConfigError(f"--spine file {path} does not exist")
        if path.suffix.lower() == ".csv":
            import pyarrow.csv as pacsv

            return pacsv.read_csv(path)
        import pyarrow.parquet as pq

        return pq.read_table(path)
    return spine  # SQL, or a relation name in the warehouse


class _Progress:
    """Elapsed time on stderr while the warehouse works (only on a terminal)."""

    def __init__(self, label: str, enabled: bool) -> None:
        self.label, self.enabled = label, enabled and sys.stderr.isatty()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        start = time.perf_counter()
        frames = "|/-\\"
        i = 0
        while not self._stop.wait(0.2):
            sys.stderr.write(f"\r{frames[i % 4]} {self.label} {time.perf_counter() - start:5.1f}s")
            sys.stderr.flush()
            i += 1
        sys.stderr.write("\r" + " " * (len(self.label) + 12) + "\r")

    def __enter__(self) -> _Progress:
        if self.enabled:
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.enabled:
            self._stop.set()
            self._thread.join()


def historical_command(
    spine: Annotated[str, typer.Option(help="The spine: a .parquet or .csv file, a SQL query, or a relation.")],
    out: Annotated[Path, typer.Option(help="Where to write the training set (.parquet or .csv).")],
    features: Annotated[str | None, typer.Option(help="Comma-separated references: view.feature, view.*")] = None,
    feature_service: Annotated[str | None, typer.Option(help="A feature service instead of --features.")] = None,
    spine_timestamp: Annotated[str, typer.Option(help="The spine's time column.")] = "event_timestamp",
    full_feature_names: Annotated[bool, typer.Option(help="Name columns view__feature.")] = False,
    available_at: Annotated[bool, typer.Option(help="Also require created_timestamp <= spine time.")] = False,
    project_dir: ProjectDir = None, profiles_dir: ProfilesDir = None, target: Target = None,
    json_out: Json = False,
) -> None:
    """Build a point-in-time correct training set in the warehouse and write it to a file."""
    if out.suffix.lower() not in (".parquet", ".pq", ".csv"):
        raise ConfigError(f"--out {out}: write .parquet or .csv")
    refs = [f.strip() for f in features.split(",") if f.strip()] if features else None
    started = time.perf_counter()
    with FeatureStore(project_dir, profiles_dir, target) as store:
        entity = _read_spine(spine)
        result = store.get_historical_features(entity, refs, feature_service=feature_service,
                                               spine_timestamp=spine_timestamp,
                                               full_feature_names=full_feature_names or None,
                                               available_at=available_at)
        with _Progress("point-in-time join", enabled=not json_out):
            table = result.to_arrow()
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix.lower() == ".csv":
        import pyarrow.csv as pacsv

        pacsv.write_csv(table, out)
    else:
        import pyarrow.parquet as pq

        pq.write_table(table, out)
    seconds = time.perf_counter() - started
    summary = {"out": str(out), "rows": table.num_rows, "columns": table.num_columns,
               "features": result.output_names, "seconds": round(seconds, 3)}
    if json_out:
        print_json(summary)
    else:
        typer.echo(f"wrote {table.num_rows:,} rows x {table.num_columns} columns to {out} in {seconds:.2f}s")


@generate_app.command("training-set")
def generate_training_set(
    service: Annotated[str, typer.Argument(help="The feature service (a dbt exposure of type ml).")],
    spine: Annotated[str, typer.Option(help="The spine model (ref name), with keys and a time column.")],
    spine_timestamp: Annotated[str, typer.Option(help="The spine's time column.")] = "event_timestamp",
    out: Annotated[Path | None, typer.Option(help="The .sql file to write (default: models/training/NAME.sql).")]
    = None,
    name: Annotated[str | None, typer.Option(help="Model name (default: SERVICE_training_set).")] = None,
    project_dir: ProjectDir = None, profiles_dir: ProfilesDir = None, target: Target = None,
) -> None:
    """Write a training-set model (and its yml, with docs and tests) for a feature service."""
    from fsdbt.scaffolding import training_set_files

    store = FeatureStore(project_dir, profiles_dir, target)
    model = name or f"{service}_training_set"
    sql_path = out or store.project.root / "models" / "training" / f"{model}.sql"
    if sql_path.exists():
        raise ConfigError(f"{sql_path} exists; remove it or pass --out/--name")
    sql, yml = training_set_files(store.registry, service, spine, spine_timestamp, model)
    sql_path.parent.mkdir(parents=True, exist_ok=True)
    sql_path.write_text(sql, encoding="utf-8")
    yml_path = sql_path.with_suffix(".yml")
    yml_path.write_text(yml, encoding="utf-8")
    info(f"wrote {sql_path} and {yml_path}")
    typer.echo(str(sql_path))
