"""Security: no secret in any output of a failing command, SQL built only from quoted identifiers
(real runs with hostile names on DuckDB, PostgreSQL and Snowflake), and a server that binds to
loopback unless told otherwise. Redis ACL users limited to the key prefix, TLS with a private CA
and bad-password messages are in ``tests/online/test_redis.py``.
"""

from __future__ import annotations

import inspect
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import pyarrow as pa
import pytest

from fsdbt.definitions import Column, Feature, FeatureView, Relation
from fsdbt.dtypes import DType
from fsdbt.offline.historical import build_training_set
from fsdbt.online import open_online_store
from fsdbt.online.base import FieldStatus, ViewRead
from fsdbt.sync.runner import SyncOptions, sync_view
from fsdbt.warehouse.base import Warehouse
from tests.conftest import PROFILES, REPO
from tests.faults import report
from tests.faults.helpers import stop_server
from tests.online.conftest import free_port, start_redis
from tests.test_pit_macro import fakesnow_port

__all__ = ["fakesnow_port"]  # the fixture, imported for pytest

# -- no secret in any output ----------------------------------------------------------------------

SECRET = f"PLANTED-pw-{uuid.uuid4().hex}"
SPINE = "select driver_id, requested_at from main.trips order by trip_id limit 20"
COMMANDS: list[list[str]] = [
    ["sync"], ["sync", "--json"], ["sync", "--full-refresh"],
    ["get", "driver_hourly_stats", "--entity", "driver_id=1001"],
    ["get", "trip_completion_model", "--entity", "driver_id=1001,customer_id=51008", "--json"],
    ["ls"], ["ls", "--json"],
    ["historical", "--feature-service", "trip_completion_model", "--spine-timestamp", "requested_at",
     "--spine", SPINE, "--out", "{tmp}/out.parquet"],
    ["historical", "--features", "driver_hourly_stats.*", "--spine-timestamp", "requested_at",
     "--spine", SPINE, "--out", "{tmp}/out.csv", "--json"],
]


def _closed_port() -> int:
    return free_port()


@pytest.fixture
def wrong_servers(demo_project: dict[str, Any], tmp_path: Path) -> Iterator[dict[str, dict[str, str]]]:
    """Targets whose connections fail, each carrying the planted password in its environment."""
    redis = start_redis(tmp_path / "redis", "--requirepass", "the-right-one")
    base = {**demo_project["env"], "FSDBT_DEBUG": "1", "DBT_LOG_PATH": str(tmp_path / "logs"),
            "DBT_TARGET_PATH": str(tmp_path / "target"), "FSDBT_PUSH_LOG_DIR": str(tmp_path / "push_log"),
            "FSDBT_SQLITE_PATH": str(tmp_path / "online.sqlite")}
    # A private target dir: copy the demo's manifest so commands run without a parse, and let
    # dbt write its own logs and parse artifacts here too.
    (tmp_path / "target").mkdir()
    for name in ("manifest.json", "run_results.json"):
        source = demo_project["target_path"] / name
        if source.exists():
            (tmp_path / "target" / name).write_bytes(source.read_bytes())
    try:
        yield {
            "redis wrong password": {**base, "FSDBT_TARGET": "redis", "FSDBT_REDIS_URL": redis.url,
                                     "FSDBT_REDIS_KEY_PREFIX": "fsdbt-leak", "FSDBT_REDIS_PASSWORD": SECRET},
            "redis url with password, closed port": {
                **base, "FSDBT_TARGET": "redis", "FSDBT_REDIS_KEY_PREFIX": "fsdbt-leak",
                "FSDBT_REDIS_URL": f"redis://fsdbt:{SECRET}@127.0.0.1:{_closed_port()}/0"},
            "postgres closed port": {**base, "FSDBT_TARGET": "postgres", "FSDBT_PG_PORT": str(_closed_port()),
                                     "FSDBT_PG_PASSWORD": SECRET, "FSDBT_PG_SCHEMA": "fsdbt_leak"},
            "postgres unknown user": {**base, "FSDBT_TARGET": "postgres", "FSDBT_PG_USER": "fsdbt_no_such_user",
                                      "FSDBT_PG_PASSWORD": SECRET, "FSDBT_PG_SCHEMA": "fsdbt_leak"},
        }
    finally:
        redis.stop()


def _run(args: list[str], env: dict[str, str], tmp: Path) -> tuple[int, str]:
    argv = [a.replace("{tmp}", str(tmp)) for a in args]
    proc = subprocess.run([sys.executable, "-m", "fsdbt", *argv, "--project-dir", str(REPO), "--profiles-dir",
                           str(PROFILES)], capture_output=True, text=True, env={**os.environ, **env}, cwd=tmp,
                          timeout=180)
    return proc.returncode, proc.stdout + proc.stderr


def _files_text(*roots: Path) -> str:
    out = []
    for root in roots:
        for path in root.rglob("*") if root.exists() else []:
            if path.is_file() and path.stat().st_size < 50_000_000:
                out.append(path.read_bytes().decode("utf-8", "replace"))
    return "\n".join(out)


def _serve_output(env: dict[str, str], tmp: Path) -> str:
    """Start ``fsdbt serve``, ask it for features and readiness (both fail), stop it; all it said."""
    port = free_port()
    log = tmp / f"serve-{port}.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "fsdbt", "serve", "--port", str(port), "--project-dir",
                                 str(REPO), "--profiles-dir", str(PROFILES), "--store-timeout", "0.5"],
                                env={**os.environ, **env}, stdout=out, stderr=subprocess.STDOUT, cwd=tmp,
                                start_new_session=True)
    bodies = []
    try:
        deadline = time.monotonic() + 60
        while proc.poll() is None and time.monotonic() < deadline:
            try:
                httpx.get(f"http://127.0.0.1:{port}/health", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.2)
        if proc.poll() is None:
            url = f"http://127.0.0.1:{port}"
            for request in (lambda: httpx.get(url + "/health/ready", timeout=10),
                            lambda: httpx.post(url + "/get-online-features", timeout=10, json={
                                "features": ["driver_hourly_stats:conv_rate"], "entities": {"driver_id": [1001]}}),
                            lambda: httpx.post(url + "/push", timeout=10, json={
                                "push_source_name": "driver_hourly_stats", "to": "offline", "df": {}})):
                response = request()
                bodies.append(f"{response.status_code} {response.text} {dict(response.headers)}")
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
    return log.read_text(errors="replace") + "\n".join(bodies)


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.timeout(480)
def test_no_command_prints_or_logs_a_planted_password(wrong_servers: dict[str, dict[str, str]],
                                                      tmp_path: Path) -> None:
    jobs = [(name, args) for name in wrong_servers for args in COMMANDS]
    with ThreadPoolExecutor(max_workers=3) as pool:
        runs = list(pool.map(lambda job: (job, _run(job[1], wrong_servers[job[0]], tmp_path)), jobs))
    failures = 0
    for (name, args), (code, output) in runs:
        report.count("bad inputs tried")
        assert SECRET not in output, f"{name}: fsdbt {' '.join(args)} printed the password:\n{output}"
        failures += code != 0
    # The commands that need the broken connection failed (a password never appears either way).
    assert failures >= len(wrong_servers) * 5, [(job, code) for job, (code, _) in runs]
    for name, env in wrong_servers.items():
        served = _serve_output(env, tmp_path)
        report.count("bad inputs tried")
        assert SECRET not in served, f"{name}: fsdbt serve printed the password:\n{served}"
    logs = _files_text(tmp_path / "logs", tmp_path / "target", REPO / "logs")
    assert logs.strip(), "dbt wrote no log to search"
    assert SECRET not in logs, "a log file holds the password"


# -- hostile names, real runs ---------------------------------------------------------------------

HOSTILE = ['a"b', "Mixed Case", "o'brien"]
# fakesnow (not Snowflake) fails to create a table whose name, or whose varchar column's name,
# holds a single quote: the Snowflake run leaves out the string feature and the view o'brien.
KEY, TS, CREATED, VALUE, LABEL = "o'brien", "Mixed Case", "created a\"t", 'a"b', 'label "x"'
T = datetime(2026, 3, 1, 10)


def hostile_view(name: str, schema: str | None, database: str | None = None, label: bool = True) -> FeatureView:
    columns = ((KEY, DType.INT), (TS, DType.TIMESTAMP), (CREATED, DType.TIMESTAMP), (VALUE, DType.FLOAT),
               (LABEL, DType.STRING))[: 5 if label else 4]
    return FeatureView(name=name, unique_id=f"model.hostile.{name}", relation=Relation(database, schema, name),
                       entities=(KEY,), timestamp=TS, created_timestamp=CREATED, ttl=timedelta(days=1),
                       columns=tuple(Column(n, t) for n, t in columns),
                       features=(Feature(VALUE, name, DType.FLOAT), Feature(LABEL, name, DType.STRING))[
                           : 2 if label else 1])


def hostile_rows(offset: float, label: bool = True) -> pa.Table:
    h = timedelta(hours=1)
    table = pa.table({
        KEY: pa.array([1, 1, 2, 2], pa.int64()),
        TS: pa.array([T, T + 2 * h, T + h, T + h], pa.timestamp("us")),
        CREATED: pa.array([T, T + 2 * h, T + h, T + 2 * h], pa.timestamp("us")),  # entity 2: a correction
        VALUE: pa.array([1 + offset, 2 + offset, 3 + offset, 4 + offset], pa.float64()),
        LABEL: pa.array(["o'ld \"1\"", "new", None, "fixed; drop table x"], pa.string()),
    })
    return table if label else table.drop_columns([LABEL])


def run_hostile(warehouse: Warehouse, schema: str | None, database: str | None, tmp_path: Path,
                label: bool = True, names: tuple[str, ...] = tuple(HOSTILE)) -> None:
    views = {name: hostile_view(name, schema, database, label) for name in names}
    for i, name in enumerate(names):
        warehouse.load_arrow(hostile_rows(10.0 * i, label), views[name].relation)
    spine = pa.table({KEY: pa.array([1, 1, 2, 3, None], pa.int64()),
                      "spine 'ts'": pa.array([T + timedelta(hours=1), T + timedelta(hours=3), T + timedelta(hours=2),
                                              T, T], pa.timestamp("us")),
                      'row "id"': pa.array(["a", "b", "c", "d", "e"])})
    features = [f for v in views.values() for f in v.features]
    result = build_training_set(warehouse, views, features, spine, spine_timestamp="spine 'ts'",
                                full_feature_names=True).to_arrow().to_pylist()
    assert [r['row "id"'] for r in result] == ["a", "b", "c", "d", "e"]
    for i, name in enumerate(names):
        off = 10.0 * i
        assert [r[f"{name}__{VALUE}"] for r in result] == [1 + off, 2 + off, 4 + off, None, None], name
        if label:
            assert [r[f"{name}__{LABEL}"] for r in result] == ["o'ld \"1\"", "new", "fixed; drop table x", None, None]
    now = datetime(2026, 3, 1, 13, tzinfo=timezone.utc)
    with open_online_store({"type": "sqlite", "path": str(tmp_path / f"hostile-{uuid.uuid4().hex[:6]}.db")}) as online:
        for i, name in enumerate(names):
            done = sync_view(views[name], warehouse, online, SyncOptions(now=now))
            assert done.status == "ok" and done.written == 2, (name, done.message)
            read = online.read([ViewRead(views[name])], [{KEY: 1}, {KEY: 2}, {KEY: 3}], now)
            assert read.to_dict()[VALUE] == [2 + 10.0 * i, 4 + 10.0 * i, None]
            if label:
                assert read.to_dict()[LABEL] == ["new", "fixed; drop table x", None]
            assert read.statuses[VALUE] == [FieldStatus.PRESENT, FieldStatus.PRESENT, FieldStatus.NOT_FOUND]
            again = sync_view(views[name], warehouse, online, SyncOptions(now=now))
            assert again.status == "ok" and again.mode == "incremental" and again.written == 0
            report.count("keys checked", 3)
    report.count("bad inputs tried", len(names))


def test_hostile_names_duckdb(tmp_path: Path) -> None:
    from fsdbt.warehouse.duckdb import DuckDBWarehouse

    with DuckDBWarehouse(str(tmp_path / "hostile.duckdb"), read_only=False) as warehouse:
        run_hostile(warehouse, "o'brien \"schema\"", None, tmp_path)


@pytest.mark.postgres
def test_hostile_names_postgres(tmp_path: Path) -> None:
    from fsdbt.warehouse.postgres import PostgresWarehouse

    schema = f"fsdbt_hostile_{uuid.uuid4().hex[:8]}"
    settings = {"host": "127.0.0.1", "port": 5432, "user": "postgres", "dbname": "test"}
    with PostgresWarehouse(settings) as warehouse:
        try:
            run_hostile(warehouse, schema, None, tmp_path)
        finally:
            warehouse.execute(f'drop schema if exists "{schema}" cascade')


@pytest.mark.snowflake
@pytest.mark.timeout(180)  # the connector retries a failing server for minutes
def test_hostile_names_snowflake(fakesnow_port: int, tmp_path: Path) -> None:
    from fsdbt.warehouse.snowflake import SnowflakeWarehouse

    schema = f"fsdbt_hostile_{uuid.uuid4().hex[:8]}"
    settings = {"host": "127.0.0.1", "port": fakesnow_port, "protocol": "http", "account": "fakesnow",
                "user": "fake", "password": "snow", "database": "fsdbt_pit", "schema": schema,
                "warehouse": "fakesnow", "role": "fakesnow"}
    with SnowflakeWarehouse(settings) as warehouse:
        warehouse.execute(f"create schema if not exists fsdbt_pit.{schema}")
        run_hostile(warehouse, schema, "fsdbt_pit", tmp_path, label=False, names=('a"b', "Mixed Case"))


# -- the server binds to loopback --------------------------------------------------------------

def _listening(port: int) -> list[str]:
    """Local addresses listening on ``port`` (from /proc/net/tcp, IPv4)."""
    found = []
    with open("/proc/net/tcp", encoding="ascii") as fh:
        for line in fh.readlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, port_hex = local.split(":")
            if state == "0A" and int(port_hex, 16) == port:
                found.append(socket.inet_ntoa(bytes.fromhex(address)[::-1]))
    return found


@pytest.mark.slow
def test_server_binds_loopback_by_default_and_warns_elsewhere_without_a_token(demo_project: dict[str, Any],
                                                                             tmp_path: Path) -> None:
    from fsdbt.cli.serve import serve_command

    assert inspect.signature(serve_command).parameters["host"].default == "127.0.0.1"
    env = {**os.environ, **demo_project["env"]}
    env.pop("FSDBT_SERVER_TOKEN", None)

    def start(*args: str, extra: dict[str, str] | None = None) -> tuple[subprocess.Popen[str], int]:
        port = free_port()
        proc = subprocess.Popen([sys.executable, "-m", "fsdbt", "serve", "--port", str(port), "--project-dir",
                                 str(REPO), "--profiles-dir", str(PROFILES), *args], env={**env, **(extra or {})},
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd=tmp_path,
                                start_new_session=True)
        return proc, port

    def startup_lines(proc: subprocess.Popen[str]) -> str:
        lines = []
        assert proc.stderr is not None
        for line in proc.stderr:  # bounded: the banner comes right after the definitions load
            lines.append(line)
            if line.startswith("fsdbt serve: ") and "feature views" in line:
                break
        return "".join(lines)

    proc, port = start()
    try:
        text = startup_lines(proc)
        assert "warning" not in text and f"http://127.0.0.1:{port}" in text
        deadline = time.monotonic() + 60
        while not _listening(port):
            assert proc.poll() is None and time.monotonic() < deadline, "fsdbt serve did not listen within 60 s"
            time.sleep(0.2)
        assert set(_listening(port)) == {"127.0.0.1"}
    finally:
        stop_server(proc)
    for extra, warned in (({}, True), ({"FSDBT_SERVER_TOKEN": "t0ken"}, False)):
        proc, port = start("--host", "0.0.0.0", extra=extra)
        try:
            text = startup_lines(proc)
        finally:
            stop_server(proc)  # at once: never left listening on every interface
        assert ("fsdbt serve: warning: listening on 0.0.0.0 without a token; set FSDBT_SERVER_TOKEN" in text) \
            is warned, text
        assert "t0ken" not in text
