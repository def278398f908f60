"""``fsdbt serve`` (the HTTP feature server) and ``fsdbt push`` (push rows from a file)."""

from __future__ import annotations

import ipaddress
import json
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from fsdbt.cli.options import Json, ProfilesDir, ProjectDir, Target
from fsdbt.cli.output import info, print_json, print_table
from fsdbt.errors import ConfigError
from fsdbt.store import FeatureStore


def register(app: typer.Typer) -> None:
    app.command("serve")(serve_command)
    app.command("push")(push_command)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def serve_command(
    host: Annotated[str, typer.Option(help="Address to bind; loopback unless told otherwise "
                                      "(0.0.0.0 for every interface).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 6566,
    workers: Annotated[int, typer.Option(help="Worker processes (each has its own connections and metrics).",
                                         min=1)] = 1,
    token_env: Annotated[str, typer.Option(
        "--token-env", help="Environment variable holding the bearer token; when it is set, every endpoint "
        "but /health needs 'Authorization: Bearer <token>'.")] = "FSDBT_SERVER_TOKEN",
    max_body_bytes: Annotated[int, typer.Option(help="Largest request body accepted (413 above).")] = 8 * 1024 * 1024,
    max_entities: Annotated[int, typer.Option(help="Most entity rows per get-online-features request.")] = 10_000,
    max_push_rows: Annotated[int, typer.Option(help="Most rows per push.")] = 100_000,
    store_timeout: Annotated[float, typer.Option(help="Online store socket timeout in seconds (a slow store "
                                                 "answers 503 instead of holding a worker).")] = 1.0,
    reload_interval: Annotated[float, typer.Option(
        help="Seconds between looks for a new target/manifest.json (written by dbt build/parse); new "
        "definitions are served without a restart. 0: never.", min=0)] = 10.0,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "info",
    access_log: Annotated[bool, typer.Option("--access-log/--no-access-log",
                                             help="Log every request (costs throughput).")] = False,
    project_dir: ProjectDir = None, profiles_dir: ProfilesDir = None, target: Target = None,
) -> None:
    """Serve online features over HTTP, JSON-compatible with Feast's feature server."""
    try:
        import uvicorn  # noqa: F401 - checked here, started below in a fresh process image

        from fsdbt.server.app import ServerSettings
    except ImportError as exc:
        raise ConfigError(f"fsdbt serve needs the server extra: pip install 'fsdbt[server]' ({exc.name} "
                          f"is missing)") from None
    # Parse (if stale) and check the definitions once here, not in every worker.
    with FeatureStore(project_dir, profiles_dir, target) as store:
        registry = store.registry
        root = store.project.root
        profiles = store.project.profiles_dir
        target_name = store.target.name
        online_type = store.target.online_store.get("type")
    settings = ServerSettings(project_dir=str(root), profiles_dir=str(profiles), target=target_name,
                              token_env=token_env, max_body_bytes=max_body_bytes, max_entities=max_entities,
                              max_push_rows=max_push_rows, store_timeout=store_timeout,
                              reload_seconds=reload_interval)
    os.environ.update(settings.to_env())  # the workers' factory reads its settings from here
    secured = bool(os.environ.get(token_env))
    if not _is_loopback(host) and not secured:
        info(f"fsdbt serve: warning: listening on {host} without a token; set {token_env} to require one")
    info(f"fsdbt serve: {len(registry.views)} feature views, {len(registry.services)} services, online store "
         f"{online_type}, target '{target_name}'; http://{host}:{port} (docs at /docs, auth "
         f"{'on' if secured else 'off'}, {workers} worker(s))")
    # The check above loaded definitions and modules the serving process need not keep (with
    # --workers N the supervisor would hold them for nothing): uvicorn starts in a fresh image,
    # same pid, its settings in the environment.
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, [
        sys.executable, "-m", "uvicorn", "fsdbt.server.app:create_app", "--factory", "--host", host,
        "--port", str(port), "--workers", str(workers), "--log-level", log_level,
        "--access-log" if access_log else "--no-access-log", "--timeout-keep-alive", "30", "--no-server-header"])


def _read_rows(path: Path) -> Any:
    if not path.is_file():
        raise ConfigError(f"--file {path} does not exist")
    suffix = path.suffix.lower()
    if suffix in (".parquet", ".pq"):
        import pyarrow.parquet as pq

        return pq.read_table(path)
    if suffix in (".jsonl", ".ndjson", ".json"):
        rows = []
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
        if suffix == ".json" and text.lstrip().startswith(("[", "{")):
            try:
                doc = json.loads(text)
            except json.JSONDecodeError as exc:
                raise ConfigError(f"{path} is not valid JSON: {exc}") from None
            return doc
        for number, line in enumerate(text.splitlines(), 1):
            if line.strip():
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError as exc:
                    raise ConfigError(f"{path}:{number}: not a JSON object: {exc}") from None
        return rows
    if suffix == ".csv":
        import pyarrow.csv as pacsv

        return pacsv.read_csv(path)
    raise ConfigError(f"--file {path}: use a .jsonl (one JSON object per line), .json, .parquet or .csv file")


def push_command(
    view: Annotated[str, typer.Argument(help="The feature view (or '<view>_push_source').")],
    file: Annotated[Path, typer.Option("--file", "-f", help="Rows: .jsonl, .json, .parquet or .csv.")],
    to: Annotated[str, typer.Option(help="online, offline or online_and_offline.")] = "online",
    project_dir: ProjectDir = None, profiles_dir: ProfilesDir = None, target: Target = None,
    json_out: Json = False,
) -> None:
    """Push rows of one feature view online (never over newer data) and/or to the offline push log."""
    rows = _read_rows(file)
    with FeatureStore(project_dir, profiles_dir, target) as store:
        result = store.push(view, rows, to=to)
    if json_out:
        print_json(result.as_dict())
    else:
        print_table(f"Push to {result.view}", ["rows", "to", "online written", "online skipped", "offline"],
                    [[f"{result.rows:,}", result.to, f"{result.written:,}", f"{result.skipped:,}",
                      result.offline or "-"]])
