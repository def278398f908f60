"""Child process: one side of one benchmark case, timed after a warm-up; prints one JSON line.

    python benchmarks/cases.py KIND SIDE '{"dataset": {...}, "runs": 5, ...}'

KIND/SIDE: ``pit fsdbt|raw``, ``sync fsdbt|raw``, ``seed fsdbt``, ``online both``,
``http both``. Each runs in its own process so that ``run.py`` reads the process's peak RSS
from outside (``wait4``). The raw sides import only duckdb, pyarrow and redis.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import shutil
import sys
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import FEATURE_REFS, PROFILES, Dataset, emit, log, percentile

PIT_VIEWS = ("driver_hourly_stats", "customer_profile")
SPINE_COLUMNS = "trip_id, driver_id, customer_id, requested_at, city, completed"


def _store(ds: Dataset) -> Any:
    from fsdbt import FeatureStore

    store = FeatureStore(project_dir=ds.project_dir, profiles_dir=PROFILES, target="redis")
    store.registry  # noqa: B018 - load the definitions before timing
    return store


def _dbt_imported() -> bool:
    return any(name == "dbt" or name.startswith("dbt.") for name in sys.modules)


# -- point-in-time join ---------------------------------------------------------------------------

def _checksum(table: Any) -> dict[str, Any]:
    """Row count and per-column non-NULL counts and sums: equal results give equal checksums."""
    import pyarrow.compute as pc

    out: dict[str, Any] = {"rows": table.num_rows, "columns": table.num_columns}
    for name in table.column_names:
        column = table.column(name)
        entry: list[Any] = [len(column) - column.null_count]
        if column.type in ("double", "int64") or str(column.type) in ("double", "int64"):
            total = pc.sum(column).as_py()
            entry.append(round(total, 4) if isinstance(total, float) else total)
        out[name] = entry
    return out


def pit_fsdbt(ds: Dataset, cfg: dict[str, Any]) -> dict[str, Any]:
    store = _store(ds)
    spine = store.warehouse.query_arrow(f"select {SPINE_COLUMNS} from main.trips order by trip_id")
    times = []
    result = None
    for i in range(cfg["warmup"] + cfg["runs"]):
        started = time.perf_counter()
        result = store.get_historical_features(spine, FEATURE_REFS, spine_timestamp="requested_at").to_arrow()
        elapsed = time.perf_counter() - started
        if i >= cfg["warmup"]:
            times.append(elapsed)
        log(f"pit fsdbt run {i}: {elapsed:.3f}s")
    return {"seconds": times, "checksum": _checksum(result), "spine_rows": spine.num_rows,
            "dbt_imported": _dbt_imported()}


def pit_raw_sql(con: Any) -> str:
    """The hand-written query: two ASOF LEFT JOINs, composite (event, created) key, ttl as a filter."""
    def features(view: str, skip: tuple[str, ...]) -> list[str]:
        rows = con.execute("select column_name from information_schema.columns where table_name = ? "
                           "and table_schema = 'main' order by ordinal_position", [view]).fetchall()
        return [r[0] for r in rows if r[0] not in skip]

    driver = features("driver_hourly_stats", ("driver_id", "event_timestamp", "loaded_at"))
    customer = features("customer_profile", ("customer_id", "updated_at"))
    ttl = "d.event_timestamp >= s.requested_at - interval 2 day"
    select = [f"s.{c.strip()}" for c in SPINE_COLUMNS.split(",")]
    select += [f'case when {ttl} then d."{f}" end as "{f}"' for f in driver]
    select += [f'c."{f}"' for f in customer]
    return f"""
        select {', '.join(select)}
        from spine s
        asof left join (
            select *, {{'t': event_timestamp, 'c': coalesce(loaded_at, '-infinity'::timestamp)}} as k
            from main.driver_hourly_stats
        ) d on s.driver_id = d.driver_id
           and {{'t': s.requested_at, 'c': 'infinity'::timestamp}} >= d.k
        asof left join main.customer_profile c
            on s.customer_id = c.customer_id and s.requested_at >= c.updated_at
        order by s.__rid
    """


def pit_raw(ds: Dataset, cfg: dict[str, Any]) -> dict[str, Any]:
    import duckdb
    import pyarrow as pa

    con = duckdb.connect(str(ds.duckdb_path), read_only=True)
    con.execute("SET TimeZone = 'UTC'")
    spine = con.sql(f"select {SPINE_COLUMNS} from main.trips order by trip_id").to_arrow_table()
    sql = pit_raw_sql(con)
    times = []
    result = None
    for i in range(cfg["warmup"] + cfg["runs"]):
        started = time.perf_counter()
        # The row number keeps the spine's order, as fsdbt's result does.
        numbered = spine.append_column("__rid", pa.array(range(spine.num_rows), pa.int64()))
        con.register("spine", numbered)
        result = con.sql(sql).to_arrow_table()
        con.unregister("spine")
        elapsed = time.perf_counter() - started
        if i >= cfg["warmup"]:
            times.append(elapsed)
        log(f"pit raw run {i}: {elapsed:.3f}s")
    return {"seconds": times, "checksum": _checksum(result), "spine_rows": spine.num_rows}


# -- sync -----------------------------------------------------------------------------------------

def sync_fsdbt(ds: Dataset, cfg: dict[str, Any]) -> dict[str, Any]:
    import redis

    store = _store(ds)
    client = redis.Redis.from_url(cfg["redis_url"])
    times, entities, sql = [], 0, {}
    for i in range(cfg["warmup"] + cfg["runs"]):
        client.flushall()
        started = time.perf_counter()
        results = store.sync(cfg["views"], full_refresh=True)
        elapsed = time.perf_counter() - started
        bad = [r.as_dict() for r in results if r.status != "ok"]
        if bad:
            raise SystemExit(f"sync failed: {bad}")
        entities = sum(r.rows_read for r in results)
        sql = {r.view: r.sql for r in results}
        if i >= cfg["warmup"]:
            times.append(elapsed)
        log(f"sync fsdbt run {i}: {entities:,} entities in {elapsed:.2f}s ({entities / elapsed:,.0f}/s)")
    keys = client.dbsize()
    client.flushall()
    return {"seconds": times, "entities": entities, "sql": sql, "redis_keys": keys,
            "entity_columns": {v: list(store.registry.views[v].entities) for v in cfg["views"]},
            "dbt_imported": _dbt_imported()}


def sync_raw(ds: Dataset, cfg: dict[str, Any]) -> dict[str, Any]:
    """redis-py pipeline (no transaction), 1,000 rows per round trip, HSET key mapping per entity,
    rows from the same latest-row query's Arrow batches via to_pylist()."""
    import duckdb
    import redis

    con = duckdb.connect(str(ds.duckdb_path), read_only=True)
    con.execute("SET TimeZone = 'UTC'")
    client = redis.Redis.from_url(cfg["redis_url"])
    times, entities = [], 0
    for i in range(cfg["warmup"] + cfg["runs"]):
        client.flushall()
        started = time.perf_counter()
        entities = 0
        for view, sql in cfg["sql"].items():
            keys = cfg["entity_columns"][view]
            for batch in con.sql(sql).to_arrow_reader(50_000):
                for start in range(0, batch.num_rows, 1000):
                    pipe = client.pipeline(transaction=False)
                    for row in batch.slice(start, 1000).to_pylist():
                        key = f"raw:{view}:" + ":".join(str(row.pop(k)) for k in keys)
                        mapping = {}
                        for name, value in row.items():
                            if value is None:
                                continue  # redis-py refuses None: a NULL feature is left out
                            if isinstance(value, datetime):
                                value = value.isoformat()
                            elif isinstance(value, bool):
                                value = int(value)
                            mapping[name] = value
                        pipe.hset(key, mapping=mapping)
                    pipe.execute()
                entities += batch.num_rows
        elapsed = time.perf_counter() - started
        if i >= cfg["warmup"]:
            times.append(elapsed)
        log(f"sync raw run {i}: {entities:,} entities in {elapsed:.2f}s ({entities / elapsed:,.0f}/s)")
    keys = client.dbsize()
    client.flushall()
    return {"seconds": times, "entities": entities, "redis_keys": keys}


def seed_online(ds: Dataset, cfg: dict[str, Any]) -> dict[str, Any]:
    """Fill the private Redis for the read cases: a full sync of the two views (not timed)."""
    import redis

    redis.Redis.from_url(cfg["redis_url"]).flushall()
    store = _store(ds)
    results = store.sync(list(PIT_VIEWS), full_refresh=True)
    bad = [r.as_dict() for r in results if r.status != "ok"]
    if bad:
        raise SystemExit(f"sync failed: {bad}")
    return {"entities": sum(r.rows_read for r in results)}


# -- online reads ---------------------------------------------------------------------------------

def _entity_rows(ds: Dataset, n: int, count: int, seed: int = 7) -> list[list[dict[str, int]]]:
    from fsdbt.demo.generator import PRESETS

    size = PRESETS[ds.preset]
    rng = random.Random(seed)
    return [[{"driver_id": 1001 + rng.randrange(size.drivers), "customer_id": 50_001 + rng.randrange(size.customers)}
             for _ in range(n)] for _ in range(count)]


class RawReader:
    """A plain redis-py pipeline: HGETALL of the same keys, values decoded by feature type."""

    def __init__(self, store: Any, url: str) -> None:
        import redis

        from fsdbt.dtypes import DType

        self.client = redis.Redis.from_url(url)
        decoders = {DType.FLOAT: float, DType.INT: int, DType.BOOL: lambda b: b == b"true"}
        self.views = []
        for name in PIT_VIEWS:
            view = store.registry.views[name]
            gen = int(self.client.hget(f"fsdbt:v1:{name}:_gen", "current") or 0)
            prefix = f"fsdbt:v1:{name}:g{gen}:"
            features = [(f.name.encode(), decoders.get(f.dtype, bytes.decode)) for f in view.features]
            self.views.append((prefix, view.entities[0], features))
            probe = {view.entities[0]: 1001 if name == "driver_hourly_stats" else 50_001}
            expected = store.online.entity_key(view, probe, gen)
            actual = f"{prefix}{{{probe[view.entities[0]]}}}"
            if expected != actual:
                raise SystemExit(f"raw key {actual!r} is not fsdbt's {expected!r}: update RawReader")

    def read(self, rows: list[dict[str, int]]) -> dict[str, list[Any]]:
        pipe = self.client.pipeline(transaction=False)
        for prefix, entity, _ in self.views:
            for row in rows:
                pipe.hgetall(f"{prefix}{{{row[entity]}}}")
        replies = pipe.execute()
        out: dict[str, list[Any]] = {}
        pos = 0
        for _, _, features in self.views:
            chunk = replies[pos:pos + len(rows)]
            pos += len(rows)
            for name, decode in features:
                values = []
                for reply in chunk:
                    raw = reply.get(name)
                    values.append(None if raw is None else decode(raw))
                out[name.decode()] = values
        return out


def online_both(ds: Dataset, cfg: dict[str, Any]) -> dict[str, Any]:
    store = _store(ds)
    raw = RawReader(store, cfg["redis_url"])
    n = cfg["entities"]
    requests = _entity_rows(ds, n, 1000)
    fs_samples: list[float] = []
    raw_samples: list[float] = []
    total = cfg["warmup"] + cfg["iterations"]
    check = store.get_online_features(FEATURE_REFS, requests[0])
    present = sum(s.name == "PRESENT" for c in check.columns for s in c.statuses)
    if len(check.columns) != 30:
        raise SystemExit(f"expected 30 features, got {len(check.columns)}")
    clock = time.perf_counter
    for i in range(total):
        rows = requests[i % len(requests)]
        # Alternate which goes first, so neither always finds a warmer cache.
        order = (0, 1) if i % 2 else (1, 0)
        for which in order:
            started = clock()
            if which == 0:
                store.get_online_features(FEATURE_REFS, rows)
            else:
                raw.read(rows)
            elapsed = clock() - started
            if i >= cfg["warmup"]:
                (fs_samples if which == 0 else raw_samples).append(elapsed * 1000)
    blocks = cfg["blocks"]
    size = len(fs_samples) // blocks
    runs = [percentile(fs_samples[b * size:(b + 1) * size], 0.99) for b in range(blocks)]
    raw_runs = [percentile(raw_samples[b * size:(b + 1) * size], 0.99) for b in range(blocks)]
    return {"p50_ms": percentile(fs_samples, 0.5), "p99_ms": percentile(fs_samples, 0.99),
            "raw_p50_ms": percentile(raw_samples, 0.5), "raw_p99_ms": percentile(raw_samples, 0.99),
            "runs": runs, "raw_runs": raw_runs, "samples": len(fs_samples),
            "present_share_first_request": round(present / (30 * n), 3), "dbt_imported": _dbt_imported()}


# -- HTTP -----------------------------------------------------------------------------------------

class HttpClient:
    """A minimal keep-alive HTTP/1.1 client on a raw socket: the client costs as little as it can."""

    def __init__(self, port: int) -> None:
        import socket

        self.sock = socket.create_connection(("127.0.0.1", port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""

    def post(self, request: bytes) -> tuple[int, bytes]:
        self.sock.sendall(request)
        return read_response(self)

    def recv(self) -> bytes:
        data = self.sock.recv(1 << 16)
        if not data:
            raise ConnectionError("the server closed the connection")
        return data


def request_bytes(path: str, body: bytes) -> bytes:
    return (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode() + body


def _parse_head(head: bytes) -> tuple[int, int]:
    lines = head.split(b"\r\n")
    status = int(lines[0].split()[1])
    length = -1
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    if length < 0:
        raise ConnectionError("response without Content-Length (chunked responses are not supported here)")
    return status, length


def read_response(conn: HttpClient) -> tuple[int, bytes]:
    while b"\r\n\r\n" not in conn.buf:
        conn.buf += conn.recv()
    head, _, rest = conn.buf.partition(b"\r\n\r\n")
    status, length = _parse_head(head)
    while len(rest) < length:
        rest += conn.recv()
    conn.buf = rest[length:]
    return status, rest[:length]


async def _async_client(port: int, requests: list[bytes], count: int, offset: int,
                        latencies: list[float]) -> None:
    import asyncio

    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    clock = time.perf_counter
    try:
        for i in range(count):
            started = clock()
            writer.write(requests[(offset + i) % len(requests)])
            head = await reader.readuntil(b"\r\n\r\n")
            status, length = _parse_head(head[:-4])
            await reader.readexactly(length)
            if status != 200:
                raise ConnectionError(f"HTTP {status}")
            latencies.append((clock() - started) * 1000)
    finally:
        writer.close()


def _concurrent(port: int, requests: list[bytes], clients: int, per_client: int) -> tuple[list[float], float]:
    import asyncio

    latencies: list[float] = []

    async def main() -> None:
        await asyncio.gather(*(_async_client(port, requests, per_client, k * 97, latencies) for k in range(clients)))

    started = time.perf_counter()
    asyncio.run(main())
    return latencies, time.perf_counter() - started


@contextlib.contextmanager
def _wrk_script(docs: list[bytes]) -> Iterator[str]:
    """A ``wrk`` Lua script rotating the request bodies (a temporary file, removed on exit)."""
    import tempfile

    lines = ["local bodies = {"] + [f"  {json.dumps(d.decode())}," for d in docs] + ["}"]
    lines += ["local i = 0", 'wrk.method = "POST"', 'wrk.headers["Content-Type"] = "application/json"',
              "request = function()", "  i = i % #bodies + 1",
              '  return wrk.format(nil, "/get-online-features", nil, bodies[i])', "end"]
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as fh:
        fh.write("\n".join(lines) + "\n")
        script = fh.name
    try:
        yield script
    finally:
        os.unlink(script)


def _wrk(port: int, script: str, clients: int, seconds: int) -> dict[str, Any]:
    """One ``wrk`` run: its latency percentiles, req/s and non-2xx responses."""
    import re
    import subprocess

    text = subprocess.run(["wrk", "-t", "2", "-c", str(clients), "-d", f"{seconds}s", "--latency", "-s", script,
                           f"http://127.0.0.1:{port}"], capture_output=True, text=True, check=True).stdout
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}

    def pct(label: str) -> float:
        found = re.search(rf"^\s*{label}%\s+([\d.]+)(us|ms|s)\s*$", text, re.M)
        if not found:
            raise SystemExit(f"cannot read the {label}th percentile from wrk:\n{text}")
        return float(found.group(1)) * scale[found.group(2)]

    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    rate = re.search(r"Requests/sec:\s+([\d.]+)", text)
    return {"p50_ms": pct("50"), "p99_ms": pct("99"), "req_per_s": float(rate.group(1)) if rate else None,
            "errors": int(errors.group(1)) if errors else 0}


def _serve_command(port: int, ds: Dataset, workers: int = 1) -> list[str] | None:
    """``fsdbt serve`` with the options its --help offers, or None when the command does not exist
    (or, for ``workers`` > 1, has no --workers)."""
    import subprocess

    exe = str(Path(sys.executable).with_name("fsdbt"))
    probe = subprocess.run([exe, "serve", "--help"], capture_output=True, text=True,
                           env={**os.environ, "COLUMNS": "200"})
    if probe.returncode != 0:
        return None
    help_text = probe.stdout
    command = [exe, "serve"]
    # Log level info: each worker logs its "Application startup complete", which _start_server counts.
    for flag, value in (("--host", "127.0.0.1"), ("--port", str(port)), ("--project-dir", str(ds.project_dir)),
                        ("--profiles-dir", str(PROFILES)), ("--target", "redis"), ("--log-level", "info")):
        if flag in help_text:
            command += [flag, value]
    if "--no-access-log" in help_text:
        command.append("--no-access-log")
    if "--port" not in help_text:
        return None
    if workers > 1:
        if "--workers" not in help_text:
            return None
        command += ["--workers", str(workers)]
    return command


class NotServing(Exception):
    """``fsdbt serve`` did not come up; the message says why."""


def _start_server(command: list[str], port: int, workers: int = 1) -> tuple[Any, HttpClient, int]:
    """Start ``fsdbt serve``; wait until it accepts a connection and, with several workers, until
    their log says they have started (the supervisor listens before they are ready).

    Returns (process, connected client, workers whose startup the log confirmed), or raises
    NotServing after stopping what it started.
    """
    import subprocess
    import tempfile

    # A file, not a pipe: nobody reads it once the server runs. The server keeps its own descriptor.
    with tempfile.TemporaryFile() as log_file:
        server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=log_file, env=os.environ.copy())

        def server_log() -> str:
            log_file.seek(0)
            return log_file.read().decode(errors="replace")

        def fail(reason: str) -> NotServing:
            if server.poll() is None:
                server.kill()
                server.wait()
            return NotServing(f"{reason}: {server_log()[-2000:]}")

        client = None
        deadline = time.monotonic() + 60
        while True:
            if server.poll() is not None:
                raise fail(f"`fsdbt serve` exited with {server.returncode}")
            if client is None:
                with contextlib.suppress(OSError):
                    client = HttpClient(port)
            started = server_log().count("Application startup complete")
            if client is not None and (workers == 1 or started >= workers):
                return server, client, max(started, 1)
            if time.monotonic() > deadline:
                if client is None:
                    raise fail("`fsdbt serve` did not listen within 60 s")
                return server, client, started  # listening; the caller records how many workers the log confirmed
            time.sleep(0.2)


def _peak_rss_tree(pid: int) -> tuple[float, int] | None:
    """Sum of the peak RSS (VmHWM, MB) of a process and its descendants (shared pages count in
    each), and their number, read while they run: with --workers, wait4 on the supervisor gives
    the largest single process only."""
    total_kb = processes = 0
    pending = [pid]
    try:
        while pending:
            current = pending.pop()
            processes += 1
            with open(f"/proc/{current}/status", encoding="utf-8") as fh:
                total_kb += next((int(ln.split()[1]) for ln in fh if ln.startswith("VmHWM:")), 0)
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children", encoding="utf-8") as fh:
                    pending += [int(c) for c in fh.read().split()]
    except (OSError, ValueError):
        return None
    return round(total_kb / 1024, 1), processes


def _stop(proc: Any, sig: int) -> float | None:
    """Stop a child we started and return its peak RSS in MB (from wait4, so it is its own)."""
    import signal

    os.kill(proc.pid, sig)  # not proc.send_signal: it would reap an exited child before wait4 reads it
    deadline = time.monotonic() + 15
    while True:
        pid, _, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            proc.returncode = 0
            return round(usage.ru_maxrss / 1024, 1)
        if time.monotonic() > deadline:
            os.kill(proc.pid, signal.SIGKILL)
            deadline = time.monotonic() + 15
        time.sleep(0.05)


def http_both(ds: Dataset, cfg: dict[str, Any]) -> dict[str, Any]:
    import signal

    from harness import free_port

    port = free_port()
    command = _serve_command(port, ds)
    if command is None:
        return {"available": False, "reason": "`fsdbt serve` is not available in this checkout"}
    store = _store(ds)
    names = [(f.view, f.name) for f in store.resolve_features(FEATURE_REFS)[0]]
    n = cfg["entities"]
    entity_sets = _entity_rows(ds, n, 500, seed=11)

    # The in-process read of the same requests: the HTTP server's floor.
    inproc: list[float] = []
    for i in range(cfg["warmup"] + cfg["requests"]):
        rows = entity_sets[i % len(entity_sets)]
        started = time.perf_counter()
        store.get_online_features(FEATURE_REFS, rows)
        if i >= cfg["warmup"]:
            inproc.append((time.perf_counter() - started) * 1000)
    store.close()

    def documents(separator: str) -> list[bytes]:
        feats = [f"{v}{separator}{f}" for v, f in names]
        return [json.dumps({
            "features": feats,
            "entities": {"driver_id": [r["driver_id"] for r in rows], "customer_id": [r["customer_id"] for r in rows]},
        }).encode() for rows in entity_sets]

    try:
        server, client, _ = _start_server(command, port)
    except NotServing as exc:
        return {"available": False, "reason": str(exc)}
    out: dict[str, Any] = {"available": True, "command": " ".join(Path(c).name if i == 0 else c
                                                               for i, c in enumerate(command))}
    server2: Any = None  # the --workers 2 server, while it runs
    two: dict[str, Any] = {}
    try:
        requests: list[bytes] = []
        docs: list[bytes] = []
        for separator in (":", "."):  # Feast's view:feature first
            docs = documents(separator)
            candidate = [request_bytes("/get-online-features", d) for d in docs]
            status, body = client.post(candidate[0])
            if status == 200:
                requests = candidate
                out["reference_form"] = f"view{separator}feature"
                out["response_keys"] = sorted(json.loads(body))[:10]
                break
            out[f"status_{separator}"] = [status, body[:300].decode(errors="replace")]
        if not requests:
            return {**out, "available": False, "reason": "`fsdbt serve` refused the Feast-style request"}
        # One client, sequential requests on one keep-alive connection.
        latencies: list[float] = []
        clock = time.perf_counter
        started_all = clock()
        for i in range(cfg["warmup"] + cfg["requests"]):
            if i == cfg["warmup"]:
                started_all = clock()
            started = clock()
            status, _ = client.post(requests[i % len(requests)])
            if status != 200:
                raise SystemExit(f"HTTP {status}")
            if i >= cfg["warmup"]:
                latencies.append((clock() - started) * 1000)
        wall = clock() - started_all
        blocks = cfg["blocks"]
        size = len(latencies) // blocks
        out.update({
            "p50_ms": percentile(latencies, 0.5), "p99_ms": percentile(latencies, 0.99),
            "req_per_s": len(latencies) / wall,
            "runs": [percentile(latencies[b * size:(b + 1) * size], 0.99) for b in range(blocks)],
            "raw_p50_ms": percentile(inproc, 0.5), "raw_p99_ms": percentile(inproc, 0.99),
        })
        client.sock.close()
        # Many clients: the most clients on this server and, at the same time, on a second one with
        # --workers 2 (req/s should grow with workers), in alternating rounds so that a change in the
        # machine's load hits both alike; fewer (but > 1) clients on this server alone.
        most = max(cfg["concurrency"])
        for clients in sorted(c for c in cfg["concurrency"] if 1 < c < most):
            out[f"c{clients}"] = {**_load_rounds({"w1": port}, docs, requests, clients, cfg)["w1"], "workers": 1}
        if most > 1:
            server2, two, port2 = _start_two_workers(ds, requests[0])
            out[f"c{most}_w2"] = two
            ports = {"w1": port, "w2": port2} if server2 is not None else {"w1": port}
            loads = _load_rounds(ports, docs, requests, most, cfg)
            out[f"c{most}"] = {**loads["w1"], "workers": 1}
            if "w2" in loads:
                two.update(loads["w2"])
    finally:
        try:
            if server2 is not None:
                tree = _peak_rss_tree(server2.pid)
                if tree:
                    two["server_peak_rss_mb"], two["server_processes"] = tree  # sum over the processes
                two["largest_process_peak_rss_mb"] = _stop(server2, signal.SIGINT)
        finally:
            out["server_peak_rss_mb"] = _stop(server, signal.SIGINT)
    return out


def _load_rounds(ports: dict[str, int], docs: list[bytes], requests: list[bytes], clients: int,
                 cfg: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Closed-loop clients, each on its own keep-alive connection, against each server of ``ports``
    (label -> port) in ``cfg["wrk_rounds"]`` alternating rounds (A B, B A, A B, ...) after a warm-up of
    each: wrk (C) when it is installed, so that the client does not take the CPU the servers need;
    else asyncio in this process.

    Per label: req/s of the median round (by req/s) with that round's p50/p99, every round's
    figures (``rounds``) and the non-2xx responses over all rounds.
    """
    rounds, seconds = cfg["wrk_rounds"], cfg["wrk_round_seconds"]
    labels = list(ports)
    got: dict[str, list[dict[str, Any]]] = {label: [] for label in labels}
    with contextlib.ExitStack() as stack:
        if shutil.which("wrk"):
            script = stack.enter_context(_wrk_script(docs))
            client = f"wrk -t 2 -c {clients} -d {seconds}s"

            def one(port: int, warm: bool) -> dict[str, Any]:
                return _wrk(port, script, clients, 1 if warm else seconds)
        else:
            client = "python asyncio (wrk is not installed)"

            def one(port: int, warm: bool) -> dict[str, Any]:
                per_client = max(5, cfg["warmup"] // clients) if warm else max(20, cfg["requests"] // clients // rounds)
                lat, wall = _concurrent(port, requests, clients, per_client)
                return {"p50_ms": percentile(lat, 0.5), "p99_ms": percentile(lat, 0.99), "req_per_s": len(lat) / wall,
                        "requests": len(lat), "errors": 0}

        for label in labels:
            one(ports[label], True)
        for r in range(rounds):
            for position, label in enumerate(labels if r % 2 == 0 else labels[::-1]):
                got[label].append({**one(ports[label], False), "round": r, "position": position})
    out: dict[str, dict[str, Any]] = {}
    for label, runs in got.items():
        rated = sorted((x for x in runs if x["req_per_s"] is not None), key=lambda x: x["req_per_s"])
        median = rated[(len(rated) - 1) // 2] if rated else {"p50_ms": None, "p99_ms": None, "req_per_s": None}
        out[label] = {"p50_ms": median["p50_ms"], "p99_ms": median["p99_ms"], "req_per_s": median["req_per_s"],
                      "errors": sum(x["errors"] for x in runs), "client": client,
                      "alternating_with": [other for other in labels if other != label],
                      "round_seconds": seconds if client.startswith("wrk") else None, "rounds": runs}
    return out


def _start_two_workers(ds: Dataset, request: bytes) -> tuple[Any, dict[str, Any], int]:
    """``fsdbt serve --workers 2`` on a free port, checked with one request: (process, record, port),
    or (None, record saying why, port) with nothing left running."""
    import signal

    from harness import free_port

    port = free_port()
    command = _serve_command(port, ds, workers=2)
    if command is None:
        return None, {"available": False, "reason": "`fsdbt serve --help` offers no --workers"}, port
    try:
        server, client, started = _start_server(command, port, workers=2)
    except NotServing as exc:
        return None, {"available": False, "reason": str(exc)[:500]}, port
    result: dict[str, Any] = {"available": True, "workers": 2, "workers_started": started}
    try:
        status, body = client.post(request)
        client.sock.close()
    except BaseException:
        _stop(server, signal.SIGINT)
        raise
    if status != 200:
        return None, {**result, "available": False, "reason": f"HTTP {status}: {body[:300].decode(errors='replace')}",
                      "largest_process_peak_rss_mb": _stop(server, signal.SIGINT)}, port
    return server, result, port


KINDS = {
    ("pit", "fsdbt"): pit_fsdbt, ("pit", "raw"): pit_raw,
    ("sync", "fsdbt"): sync_fsdbt, ("sync", "raw"): sync_raw, ("seed", "fsdbt"): seed_online,
    ("online", "both"): online_both, ("http", "both"): http_both,
}

if __name__ == "__main__":
    kind, side, raw_cfg = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
    dataset = Dataset.from_dict(raw_cfg["dataset"])
    os.environ.update(dataset.env(raw_cfg.get("redis_url")))
    emit(KINDS[(kind, side)](dataset, raw_cfg))
