"""HTTP feature server benchmark: `fsdbt serve` on Redis, against the in-process SDK on the same keys.

Builds the demo (small preset, anchored at the current hour so every value is fresh) in a
private DuckDB file, syncs it to Redis under a private key prefix, then for --workers 1 and 2
starts `fsdbt serve` and sends Feast requests for 1 x 30 and 100 x 30 (entities x features:
driver_hourly_stats.* and customer_profile.*, two views) from 1 and 16 keep-alive clients.
The load generator is `wrk` (Debian package) with a Lua script rotating 200 request bodies;
without wrk, a Python client in separate processes. Prints p50/p99/req/s per case and the
in-process `get_online_features` of the same keys, with the load average.

    .venv/bin/python benchmarks/http_bench.py --url redis://127.0.0.1:6379/0 --seconds 5

The Redis keys are deleted at the end; the temporary directory is removed.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

FEATURES = ["driver_hourly_stats:*", "customer_profile:*"]
FEATURE_REFS = ["driver_hourly_stats.*", "customer_profile.*"]
DRIVERS = range(1001, 1201)  # the small preset's 200 drivers
CUSTOMERS = range(50001, 52001)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def build_demo(root: Path, url: str, prefix: str) -> dict[str, str]:
    """The small demo, anchored now, built with dbt in-process and synced to Redis."""
    from fsdbt.definitions import Relation
    from fsdbt.demo.generator import PRESETS, generate
    from fsdbt.warehouse.duckdb import DuckDBWarehouse

    anchor = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0)
    env = {"FSDBT_DUCKDB_PATH": str(root / "demo.duckdb"), "FSDBT_SQLITE_PATH": str(root / "online.sqlite"),
           "DBT_PROFILES_DIR": str(REPO / "profiles"), "FSDBT_TARGET": "redis", "DBT_TARGET_PATH": str(root / "target"),
           "FSDBT_REDIS_URL": url, "FSDBT_REDIS_KEY_PREFIX": prefix, "FSDBT_PUSH_LOG_DIR": str(root / "push_log"),
           "DBT_SEND_ANONYMOUS_USAGE_STATS": "False"}
    os.environ.update(env)
    wh = DuckDBWarehouse(env["FSDBT_DUCKDB_PATH"], read_only=False)
    for name, table in generate(PRESETS["small"], anchor=anchor, seed=7).items():
        wh.load_arrow(table, Relation(None, "raw", name))
    wh.close()
    from dbt.cli.main import dbtRunner

    res = dbtRunner().invoke(["build", "--project-dir", str(REPO), "--quiet", "--no-use-colors",
                              "--select", "driver_hourly_stats", "customer_profile"])
    if not res.success:
        raise SystemExit(f"dbt build failed: {res.exception}")
    from fsdbt.store import FeatureStore

    with FeatureStore(REPO, REPO / "profiles", "redis") as store:
        store.sync(["driver_hourly_stats", "customer_profile"])
    return env


def bodies(size: int, count: int = 200, seed: int = 1) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    return [{"features": FEATURES, "entities": {"driver_id": [rng.choice(DRIVERS) for _ in range(size)],
                                                "customer_id": [rng.choice(CUSTOMERS) for _ in range(size)]}}
            for _ in range(count)]


def wrk_script(path: Path, docs: list[dict[str, Any]]) -> Path:
    lines = ["local bodies = {"]
    for doc in docs:
        text = json.dumps(doc, separators=(",", ":")).replace("\\", "\\\\").replace('"', '\\"')
        lines.append(f'  "{text}",')
    lines += ["}", "local i = 0", 'wrk.method = "POST"', 'wrk.headers["Content-Type"] = "application/json"',
              "request = function()", "  i = i % #bodies + 1",
              '  return wrk.format(nil, "/get-online-features", nil, bodies[i])', "end"]
    path.write_text("\n".join(lines) + "\n")
    return path


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def run_wrk(port: int, script: Path | None, clients: int, seconds: int, path: str = "") -> dict[str, float]:
    threads = min(2, clients)
    extra = ["-s", str(script)] if script is not None else []
    out = subprocess.run(["wrk", "-t", str(threads), "-c", str(clients), "-d", f"{seconds}s", "--latency",
                          *extra, f"http://127.0.0.1:{port}{path}"], capture_output=True, text=True,
                         timeout=seconds + 60).stdout
    found = {m.group(1): float(m.group(2)) * _UNITS[m.group(3)]
             for m in re.finditer(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)}
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    if non2xx:
        raise SystemExit(f"wrk saw {non2xx.group(1)} error responses:\n{out}")
    return {"p50": found.get("50", float("nan")), "p99": found.get("99", float("nan")),
            "rps": float(rps.group(1)) if rps else float("nan")}


def _py_client(port: int, docs: list[bytes], seconds: float, queue: Any) -> None:
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", port)
    samples = []
    deadline = time.perf_counter() + seconds
    i = 0
    while time.perf_counter() < deadline:
        body = docs[i % len(docs)]
        i += 1
        t = time.perf_counter()
        conn.request("POST", "/get-online-features", body, {"Content-Type": "application/json"})
        resp = conn.getresponse()
        resp.read()
        samples.append(time.perf_counter() - t)
        if resp.status != 200:
            raise SystemExit(f"HTTP {resp.status}")
    queue.put(samples)


def run_python(port: int, docs: list[dict[str, Any]], clients: int, seconds: int) -> dict[str, float]:
    import multiprocessing as mp

    raw = [json.dumps(d).encode() for d in docs]
    queue: Any = mp.Queue()
    procs = [mp.Process(target=_py_client, args=(port, raw, seconds, queue)) for _ in range(clients)]
    for p in procs:
        p.start()
    samples = [s for _ in procs for s in queue.get()]
    for p in procs:
        p.join()
    ordered = sorted(samples)
    return {"p50": statistics.median(ordered) * 1000, "p99": ordered[int(len(ordered) * 0.99)] * 1000,
            "rps": len(samples) / seconds}


def in_process(size: int, rounds: int) -> dict[str, float]:
    from fsdbt.store import FeatureStore

    docs = bodies(size)
    with FeatureStore(REPO, REPO / "profiles", "redis") as store:
        for doc in docs[:20]:
            store.get_online_features(FEATURE_REFS, doc["entities"])
        samples = []
        for i in range(rounds):
            doc = docs[i % len(docs)]
            t = time.perf_counter()
            store.get_online_features(FEATURE_REFS, doc["entities"])
            samples.append(time.perf_counter() - t)
    ordered = sorted(samples)
    return {"p50": statistics.median(ordered) * 1000, "p99": ordered[int(len(ordered) * 0.99)] * 1000,
            "rps": len(samples) / sum(samples)}


def serve(port: int, workers: int, log: Path) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen([sys.executable, "-m", "fsdbt", "serve", "--port", str(port), "--workers", str(workers),
                             "--target", "redis", "--project-dir", str(REPO), "--log-level", "warning"],
                            stdout=open(log, "wb"), stderr=subprocess.STDOUT,  # noqa: SIM115 - lives as long as the server
                            start_new_session=True)
    import urllib.request

    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"fsdbt serve exited: {log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health/ready", timeout=1) as r:
                if r.status == 200:
                    time.sleep(1.0 * workers)  # let every worker finish starting
                    return proc
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("fsdbt serve did not become ready within 90 s")


def stop(proc: subprocess.Popen[bytes]) -> None:
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


def cleanup(url: str, prefix: str) -> None:
    import redis

    client = redis.Redis.from_url(url)
    for key in client.scan_iter(match=f"{prefix}:*", count=1000):
        client.unlink(key)
    client.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--seconds", type=int, default=5, help="Duration of each HTTP case.")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 16])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 100])
    parser.add_argument("--client-kind", choices=["wrk", "python"], default="wrk" if shutil.which("wrk") else "python")
    args = parser.parse_args()

    prefix = f"fsdbt-bench-{uuid.uuid4().hex[:8]}"
    root = Path(tempfile.mkdtemp(prefix="fsdbt-http-bench-"))
    rows: list[tuple[str, dict[str, float]]] = []
    try:
        print(f"building the demo in {root} and syncing to {args.url.split('@')[-1]} ...", file=sys.stderr)
        build_demo(root, args.url, prefix)
        for size in args.sizes:
            rows.append((f"in-process get_online_features {size}x30", in_process(size, 3000 if size == 1 else 600)))
        for workers in args.workers:
            port = free_port()
            proc = serve(port, workers, root / f"serve-{workers}.log")
            try:
                if args.client_kind == "wrk":  # the floor: HTTP and uvicorn alone, no store
                    run_wrk(port, None, 1, 1, "/health")
                    rows.append((f"HTTP GET /health, 1 client, {workers} worker(s)",
                                 run_wrk(port, None, 1, args.seconds, "/health")))
                for size in args.sizes:
                    docs = bodies(size)
                    script = wrk_script(root / f"bodies-{size}.lua", docs)
                    for clients in args.clients:
                        run = run_wrk if args.client_kind == "wrk" else run_python
                        target = script if args.client_kind == "wrk" else docs
                        run(port, target, clients, 1)  # warm-up  # type: ignore[arg-type]
                        result = run(port, target, clients, args.seconds)  # type: ignore[arg-type]
                        rows.append((f"HTTP {size}x30, {clients} client(s), {workers} worker(s)", result))
                        print(f"  {rows[-1][0]}: {result}", file=sys.stderr)
            finally:
                stop(proc)
    finally:
        cleanup(args.url, prefix)
        shutil.rmtree(root, ignore_errors=True)
    load = os.getloadavg()
    print(f"\nfsdbt HTTP benchmark ({args.client_kind}, {os.cpu_count()} cores, load average "
          f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f}, {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC)")
    print(f"{'case':<52} {'p50 ms':>8} {'p99 ms':>8} {'req/s':>9}")
    for name, r in rows:
        print(f"{name:<52} {r['p50']:>8.3f} {r['p99']:>8.3f} {r['rps']:>9.0f}")


if __name__ == "__main__":
    main()
