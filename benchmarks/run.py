"""fsdbt's benchmarks, each figure beside its raw limit measured in the same run.

    .venv/bin/python benchmarks/run.py                  # everything (make bench)
    .venv/bin/python benchmarks/run.py --quick          # fewer repetitions, fewer cases (make bench-quick)
    .venv/bin/python benchmarks/run.py --cases pit_medium,online_1x30 --out benchmarks/results/two-cases.json

Data comes from the demo generator (seeded), cached under ``benchmarks/.cache/`` by
preset, seed and anchor, and is built with dbt in-process once per size. Every case runs in
child processes (``cases.py``), after a warm-up; the parent reads each child's peak RSS.
Redis cases use a private ``redis-server`` on a free port (no persistence), stopped at the end.
The result is a table on stdout and a JSON record (``benchmarks/results/latest.json``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import (
    BENCH,
    REPO,
    SEED,
    Dataset,
    default_anchor,
    free_port,
    load_average,
    log,
    run_child,
    summary,
)


@dataclass(frozen=True)
class Case:
    name: str
    kind: str  # pit | sync | online | http
    preset: str
    params: dict[str, Any] = field(default_factory=dict)
    target: str = ""


CASES = [
    Case("pit_medium", "pit", "medium", target="<= 1.3x raw time; peak RSS <= raw + 300 MB"),
    Case("pit_large", "pit", "large", target="<= 1.3x raw time; peak RSS <= raw + 300 MB"),
    Case("sync_manyent", "sync", "manyent", {"views": ["driver_hourly_stats", "customer_profile"]},
         target=">= 2x raw entities/s; peak RSS < 400 MB"),
    Case("sync_1m", "sync", "sync1m", {"views": ["entity_stats_1m"]},
         target=">= 2x raw entities/s; peak RSS < 400 MB"),
    Case("online_1x30", "online", "manyent", {"entities": 1}, target="p99 <= 1.5x raw; p99 < 0.5 ms"),
    Case("online_100x30", "online", "manyent", {"entities": 100}, target="p99 <= 1.5x raw; p99 < 4 ms"),
    Case("http_1x30", "http", "manyent", {"entities": 1},
         target="1 client: p50 < 0.7 ms, p99 < 1.5 ms; 16 clients: req/s grows with --workers"),
    Case("http_100x30", "http", "manyent", {"entities": 100},
         target="1 client: p99 < 10 ms; 16 clients: req/s grows with --workers"),
]
QUICK = ["pit_medium", "sync_manyent", "online_1x30", "online_100x30", "http_1x30"]

# pit/sync: (rounds, warm-up, runs). Each round runs an fsdbt child and a raw child, in
# alternating order, so that a change in the machine's load hits both sides alike.
# online/http: (warm-up requests, timed requests, blocks), per number of entities per request.
REPS: dict[str, dict[str, Any]] = {
    "full": {"pit": (2, 1, 3), "pit_large": (1, 1, 3), "sync": (3, 0, 1), "sync_1m": (2, 0, 1),
             "online": {1: (300, 5000, 5), 100: (100, 1500, 5)}, "http": {1: (300, 3000, 5), 100: (100, 1000, 5)}},
    "quick": {"pit": (1, 1, 3), "pit_large": (1, 1, 2), "sync": (2, 0, 1), "sync_1m": (1, 0, 1),
              "online": {1: (200, 2000, 4), 100: (50, 500, 4)}, "http": {1: (200, 1500, 3), 100: (50, 400, 2)}},
}
# http at 16 clients: the 1-worker and the 2-worker servers run side by side and take turns under
# wrk, rounds of this many seconds (1 worker first in even rounds, 2 workers first in odd ones),
# after a 1 s warm-up of each; each side's figure is its median round.
HTTP_ROUNDS: dict[str, dict[str, int]] = {"full": {"wrk_rounds": 3, "wrk_round_seconds": 2},
                                          "quick": {"wrk_rounds": 3, "wrk_round_seconds": 1}}


# -- environment -----------------------------------------------------------------------------------

def machine() -> dict[str, Any]:
    cpu = ""
    with open("/proc/cpuinfo", encoding="utf-8") as fh:
        for line in fh:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem_kb = 0
    with open("/proc/meminfo", encoding="utf-8") as fh:
        for line in fh:
            if line.startswith("MemTotal"):
                mem_kb = int(line.split()[1])
    os_name = platform.platform()
    try:
        with open("/etc/os-release", encoding="utf-8") as fh:
            fields = dict(ln.rstrip().split("=", 1) for ln in fh if "=" in ln)
            os_name = f"{fields.get('PRETTY_NAME', '').strip(chr(34))} ({platform.release()})"
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_gb": round(mem_kb / 1024 / 1024, 1),
            "load_average_start": load_average(), "os": os_name}


def versions(redis_url: str | None) -> dict[str, Any]:
    from importlib import metadata

    out: dict[str, Any] = {"python": platform.python_version()}
    for dist in ("fsdbt", "duckdb", "pyarrow", "redis", "hiredis", "dbt-core", "dbt-duckdb", "sqlglot",
                 "starlette", "uvicorn", "orjson"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = None
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True,
                                text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "fsdbt"], cwd=REPO, capture_output=True,
                               text=True).stdout.strip()
        out["fsdbt_commit"] = commit + ("+local changes" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        out["fsdbt_commit"] = None
    if redis_url:
        import redis

        out["redis_server"] = redis.Redis.from_url(redis_url).info("server")["redis_version"]
    return out


class PrivateRedis:
    """A redis-server of our own on a free port, without persistence."""

    def __init__(self) -> None:
        exe = shutil.which("redis-server")
        if exe is None:
            raise SystemExit("redis-server is not installed; the sync, online and http cases need it")
        self.port = free_port()
        self.dir = BENCH / ".cache" / f"redis-{self.port}"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen([exe, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                                      "--appendonly", "no", "--dir", str(self.dir), "--protected-mode", "yes"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.url = f"redis://127.0.0.1:{self.port}/0"
        import redis

        deadline = time.monotonic() + 10
        while True:
            try:
                redis.Redis.from_url(self.url).ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    raise SystemExit(f"the private redis-server on port {self.port} did not start") from None
                time.sleep(0.05)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


# -- cases -------------------------------------------------------------------------------------------

def child(kind: str, side: str, cfg: dict[str, Any]) -> tuple[dict[str, Any], float]:
    return run_child([str(BENCH / "cases.py"), kind, side, json.dumps(cfg)])


def alternate(kind: str, rounds: int, cfg: dict[str, Any], raw_extra: Any) -> tuple[dict[str, list[Any]], float, float]:
    """Rounds of one fsdbt child and one raw child (fsdbt first in even rounds, raw first in odd
    ones; the first round always starts with fsdbt, whose output the raw side may need)."""
    fs_runs: list[float] = []
    raw_runs: list[float] = []
    fs_rss = raw_rss = 0.0
    last: dict[str, Any] = {}
    for r in range(rounds):
        for side in (("fsdbt", "raw") if r % 2 == 0 else ("raw", "fsdbt")):
            if side == "fsdbt":
                out, rss = child(kind, "fsdbt", cfg)
                fs_runs += out["seconds"]
                fs_rss = max(fs_rss, rss)
                last["fsdbt"] = out
            else:
                out, rss = child(kind, "raw", {**cfg, **raw_extra(last["fsdbt"])})
                raw_runs += out["seconds"]
                raw_rss = max(raw_rss, rss)
                last["raw"] = out
    return {"fsdbt_runs": fs_runs, "raw_runs": raw_runs, **last}, fs_rss, raw_rss


def run_case(case: Case, ds: Dataset, mode: str, redis_url: str | None) -> dict[str, Any]:
    base = {"dataset": ds.as_dict(), "redis_url": redis_url, **case.params}
    load_before = load_average()
    reps = REPS[mode]
    if case.kind == "pit":
        rounds, warmup, runs = reps.get(case.name.replace("pit_medium", "pit"), reps["pit"])
        got, fs_rss, raw_rss = alternate("pit", rounds, {**base, "warmup": warmup, "runs": runs}, lambda fs: {})
        value, raw_value = summary(got["fsdbt_runs"])["median"], summary(got["raw_runs"])["median"]
        fig = {"value": value, "unit": "s", "raw": raw_value, "ratio": value / raw_value,
               "seconds": value, "raw_seconds": raw_value, "runs": got["fsdbt_runs"], "raw_runs": got["raw_runs"],
               "peak_rss_mb": fs_rss, "raw_peak_rss_mb": raw_rss, "spine_rows": got["fsdbt"]["spine_rows"],
               "same_result": got["fsdbt"]["checksum"] == got["raw"]["checksum"],
               "dbt_imported": got["fsdbt"]["dbt_imported"]}
        fig["met"] = fig["ratio"] <= 1.3 and fs_rss <= raw_rss + 300
    elif case.kind == "sync":
        rounds, warmup, runs = reps.get(case.name, reps["sync"])
        got, fs_rss, raw_rss = alternate("sync", rounds, {**base, "warmup": warmup, "runs": runs},
                                         lambda fs: {"sql": fs["sql"], "entity_columns": fs["entity_columns"]})
        entities = got["fsdbt"]["entities"]
        rates = [entities / s for s in got["fsdbt_runs"]]
        raw_rates = [got["raw"]["entities"] / s for s in got["raw_runs"]]
        value, raw_value = summary(rates)["median"], summary(raw_rates)["median"]
        fig = {"value": value, "unit": "entities/s", "raw": raw_value, "ratio": value / raw_value,
               "entities_per_s": value, "raw_entities_per_s": raw_value, "entities": entities,
               "seconds": summary(got["fsdbt_runs"])["median"], "raw_seconds": summary(got["raw_runs"])["median"],
               "runs": rates, "raw_runs": raw_rates, "peak_rss_mb": fs_rss, "raw_peak_rss_mb": raw_rss,
               "same_count": entities == got["raw"]["entities"], "redis_keys": got["fsdbt"]["redis_keys"],
               "dbt_imported": got["fsdbt"]["dbt_imported"]}
        fig["met"] = fig["ratio"] >= 2 and fs_rss < 400
    elif case.kind == "online":
        warmup, iterations, blocks = reps["online"][case.params["entities"]]
        out, rss = child("online", "both", {**base, "warmup": warmup, "iterations": iterations, "blocks": blocks})
        fig = {"value": out["p99_ms"], "unit": "ms (p99)", "raw": out["raw_p99_ms"],
               "ratio": out["p99_ms"] / out["raw_p99_ms"], "ratio_p50": out["p50_ms"] / out["raw_p50_ms"],
               **{k: out[k] for k in ("p50_ms", "p99_ms", "raw_p50_ms", "raw_p99_ms", "runs", "raw_runs",
                                      "samples", "present_share_first_request", "dbt_imported")},
               "peak_rss_mb": rss}
        limit = 0.5 if case.params["entities"] == 1 else 4.0
        fig["met"] = fig["ratio"] <= 1.5 and out["p99_ms"] < limit
    else:
        warmup, requests, blocks = reps["http"][case.params["entities"]]
        out, rss = child("http", "both", {**base, "warmup": warmup, "requests": requests, "blocks": blocks,
                                          "concurrency": [1, 16], **HTTP_ROUNDS[mode]})
        if not out.get("available"):
            fig = {"value": None, "unit": "ms (p99)", "raw": None, "ratio": None, "available": False,
                   "reason": out.get("reason"), "peak_rss_mb": None, "runs": [], "met": None}
        else:
            fig = {"value": out["p99_ms"], "unit": "ms (p99, 1 client)", "raw": out["raw_p99_ms"],
                   "ratio": out["p99_ms"] / out["raw_p99_ms"], "available": True,
                   **{k: out[k] for k in ("p50_ms", "p99_ms", "raw_p50_ms", "raw_p99_ms", "req_per_s", "runs")},
                   "clients_16": out.get("c16"), "clients_16_workers2": out.get("c16_w2"),
                   "workers_speedup_16": _speedup(out.get("c16"), out.get("c16_w2")),
                   "peak_rss_mb": out.get("server_peak_rss_mb"),
                   "client_peak_rss_mb": rss, "command": out.get("command"),
                   "reference_form": out.get("reference_form")}
            if case.params["entities"] == 1:
                one_client = out["p50_ms"] < 0.7 and out["p99_ms"] < 1.5
            else:
                one_client = out["p99_ms"] < 10
            speedup = fig["workers_speedup_16"]
            fig["met"] = one_client and speedup is not None and speedup > 1
    fig["target"] = case.target
    fig["load_average"] = {"before": load_before, "after": load_average()}
    return fig


def _speedup(one: dict[str, Any] | None, two: dict[str, Any] | None) -> float | None:
    """req/s with 2 workers over req/s with 1, at the same number of clients; None if either is missing."""
    if not one or not two or not one.get("req_per_s") or not two.get("req_per_s"):
        return None
    return float(two["req_per_s"]) / float(one["req_per_s"])


def _workers_text(fig: dict[str, Any]) -> str:
    """'16 clients: 1 worker 3,100 req/s, 2 workers 3,500 req/s (1.12x)', and which client made the load."""
    c16, w2 = fig.get("clients_16"), fig.get("clients_16_workers2")
    if not c16:
        return ""
    text = f"16 clients: 1 worker {c16['req_per_s']:,.0f} req/s"
    speedup = _speedup(c16, w2)
    if w2 and speedup is not None:
        text += f", 2 workers {w2['req_per_s']:,.0f} req/s ({speedup:.2f}x)"
        if w2.get("server_peak_rss_mb"):
            text += (f" [2-worker server: peak RSS {w2['server_peak_rss_mb']:.0f} MB summed over "
                     f"{w2['server_processes']} processes]")
        if w2.get("workers_started", 2) < 2:
            text += f" [its log confirmed {w2['workers_started']} of 2 workers started]"
    elif w2:
        text += f", 2 workers n/a ({str(w2.get('reason', ''))[:60]})"
    client = c16.get("client", "")
    text += f" (client: {'wrk' if client.startswith('wrk') else client}"
    rounds = c16.get("rounds")
    if rounds:  # records before the alternating rounds have one long run per server
        length = f"{c16['round_seconds']} s " if c16.get("round_seconds") else ""
        paired = "alternating " if w2 and w2.get("rounds") else ""
        text += f"; median of {len(rounds)} {paired}{length}rounds"
    return text + ")"


# -- output --------------------------------------------------------------------------------------------

def _fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "n/a"
    if unit.startswith("entities"):
        return f"{value:,.0f}/s"
    if unit.startswith("ms"):
        return f"{value:.3f} ms"
    return f"{value:.2f} s"


def table(figures: dict[str, dict[str, Any]]) -> str:
    head = ("case", "fsdbt median", "min", "max", "raw limit", "ratio", "peak RSS", "detail", "target", "met")
    rows = []
    for name, fig in figures.items():
        unit = fig["unit"]
        runs = fig.get("runs") or [None]
        valid = [r for r in runs if r is not None]
        lo = min(valid) if valid else None
        hi = max(valid) if valid else None
        if fig.get("available") is False:
            detail = fig.get("reason", "not available")[:60]
        elif unit.startswith("ms"):
            detail = f"p50 {fig['p50_ms']:.3f} / raw p50 {fig['raw_p50_ms']:.3f} ms"
            c16 = fig.get("clients_16")
            if "req_per_s" in fig:
                detail += f"; {fig['req_per_s']:,.0f} req/s"
            if c16:
                detail += (f"; 16 clients, 1 worker: p50 {c16['p50_ms']:.2f} p99 {c16['p99_ms']:.2f} ms; "
                           f"{_workers_text(fig)}")
        elif unit == "s":
            detail = f"raw peak {fig['raw_peak_rss_mb']:.0f} MB; same result: {fig['same_result']}"
        else:
            detail = f"{fig['entities']:,} entities in {fig['seconds']:.2f} s (raw {fig['raw_seconds']:.2f} s)"
        rss = fig.get("peak_rss_mb")
        rows.append((name, _fmt(fig["value"], unit), _fmt(lo, unit), _fmt(hi, unit), _fmt(fig["raw"], unit),
                     "n/a" if fig["ratio"] is None else f"{fig['ratio']:.2f}x",
                     "n/a" if rss is None else f"{rss:.0f} MB", detail, fig["target"],
                     {True: "yes", False: "NO", None: "n/a"}[fig["met"]]))
    widths = [max(len(str(r[i])) for r in [head, *rows]) for i in range(len(head))]
    lines = [" | ".join(str(c).ljust(w) for c, w in zip(head, widths))]
    lines.append("-|-".join("-" * w for w in widths))
    lines += [" | ".join(str(c).ljust(w) for c, w in zip(r, widths)) for r in rows]
    return "\n".join(lines)


def markdown(record: dict[str, Any]) -> str:
    """The table of a JSON record as Markdown (for docs/performance.md)."""
    rows = ["| case | fsdbt | raw limit (same run) | ratio | peak RSS | target | met |",
            "|---|---|---|---|---|---|---|"]
    for name, fig in record["figures"].items():
        if fig.get("available") is False:
            rows.append(f"| `{name}` | not available: {fig.get('reason', '')[:80]} | | | | {fig['target']} | n/a |")
            continue
        unit = fig["unit"]
        if unit.startswith("ms"):
            value = f"p50 {fig['p50_ms']:.2f} / p99 {fig['p99_ms']:.2f} ms"
            raw = f"p50 {fig['raw_p50_ms']:.2f} / p99 {fig['raw_p99_ms']:.2f} ms"
            if fig.get("clients_16"):
                c16 = fig["clients_16"]
                value += (f"; {fig['req_per_s']:,.0f} req/s; 16 clients, 1 worker: p50 {c16['p50_ms']:.2f} / "
                          f"p99 {c16['p99_ms']:.2f} ms; {_workers_text(fig)}")
            ratio = f"{fig['ratio']:.2f}x (p99)"
            if "ratio_p50" in fig:
                ratio += f", {fig['ratio_p50']:.2f}x (p50)"
        elif unit == "s":
            value = f"{fig['seconds']:.2f} s (min {min(fig['runs']):.2f}, max {max(fig['runs']):.2f})"
            raw = f"{fig['raw_seconds']:.2f} s, peak {fig['raw_peak_rss_mb']:.0f} MB"
            ratio = f"{fig['ratio']:.2f}x"
        else:
            value = (f"{fig['entities_per_s']:,.0f} entities/s (min {min(fig['runs']):,.0f}, "
                     f"max {max(fig['runs']):,.0f})")
            raw = f"{fig['raw_entities_per_s']:,.0f} entities/s"
            ratio = f"{fig['ratio']:.2f}x"
        rss = "n/a" if fig.get("peak_rss_mb") is None else f"{fig['peak_rss_mb']:.0f} MB"
        load = fig["load_average"]["before"][0]
        rows.append(f"| `{name}` (load {load:.1f}) | {value} | {raw} | {ratio} | {rss} | {fig['target']} | "
                    f"{'yes' if fig['met'] else 'no'} |")
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="the quick set of cases, fewer repetitions (< 5 min)")
    parser.add_argument("--cases", help=f"comma-separated, from: {', '.join(c.name for c in CASES)}")
    parser.add_argument("--out", default=str(BENCH / "results" / "latest.json"), help="where to write the JSON record")
    parser.add_argument("--anchor", help="end of the generated history, ISO-8601 UTC (default: midnight today)")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--markdown", metavar="JSON", help="print the table of a JSON record as Markdown and exit")
    args = parser.parse_args()
    if args.markdown:
        print(markdown(json.loads(Path(args.markdown).read_text())))
        return

    mode = "quick" if args.quick else "full"
    by_name = {c.name: c for c in CASES}
    names = args.cases.split(",") if args.cases else (QUICK if args.quick else list(by_name))
    unknown = [n for n in names if n not in by_name]
    if unknown:
        parser.error(f"unknown case(s) {', '.join(unknown)}; choose from {', '.join(by_name)}")
    cases = [by_name[n] for n in by_name if n in names]  # the canonical order
    anchor = default_anchor() if not args.anchor else datetime.fromisoformat(args.anchor.replace("Z", "+00:00"))
    if anchor.tzinfo is None:
        anchor = anchor.replace(tzinfo=timezone.utc)
    started = time.perf_counter()
    record: dict[str, Any] = {"machine": machine(), "mode": mode, "started_at": datetime.now(timezone.utc).isoformat()}
    datasets: dict[str, Dataset] = {}
    prepared: dict[str, Any] = {}
    for case in cases:
        if case.preset in datasets:
            continue
        # The synthetic 1M table has no time window: its cache does not move with the anchor.
        when = datetime(2026, 1, 1, tzinfo=timezone.utc) if case.preset == "sync1m" else anchor
        ds = datasets[case.preset] = Dataset(case.preset, args.seed, when)
        log(f"preparing {ds.key} ...")
        info, rss = run_child([str(BENCH / "prepare.py"), json.dumps(ds.as_dict())])
        prepared[ds.key] = {"done": info["done"], "seconds": info["seconds"], "peak_rss_mb": rss}
        log(f"{ds.key}: {', '.join(info['done'])}")
    record["datasets"] = prepared

    redis_server = PrivateRedis() if any(c.kind in ("sync", "online", "http") for c in cases) else None
    figures: dict[str, Any] = {}
    try:
        record["versions"] = versions(redis_server.url if redis_server else None)
        seeded = None
        for case in cases:
            ds = datasets[case.preset]
            url = redis_server.url if redis_server else None
            if case.kind in ("online", "http") and seeded != ds.key:
                log(f"seeding the private redis with {ds.key} ...")
                child("seed", "fsdbt", {"dataset": ds.as_dict(), "redis_url": url})
                seeded = ds.key
            if case.kind == "sync":
                seeded = None  # the sync cases flush the database
            log(f"running {case.name} (load average {load_average()}) ...")
            t0 = time.perf_counter()
            try:
                figures[case.name] = run_case(case, ds, mode, url)
            except RuntimeError as exc:  # a failed child: say so in the record, run the other cases
                figures[case.name] = {"value": None, "unit": "", "raw": None, "ratio": None, "available": False,
                                      "reason": f"failed: {exc}"[:300], "peak_rss_mb": None, "runs": [],
                                      "met": None, "target": case.target,
                                      "load_average": {"before": load_average(), "after": load_average()}}
                seeded = None
            figures[case.name]["wall_seconds"] = round(time.perf_counter() - t0, 1)
            log(f"{case.name}: done in {time.perf_counter() - t0:.0f}s")
    finally:
        if redis_server:
            redis_server.stop()
    record["machine"]["load_average_end"] = load_average()
    record["figures"] = figures
    record["total_seconds"] = round(time.perf_counter() - started, 1)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(record, indent=2, default=str) + "\n")
    m = record["machine"]
    print(f"fsdbt benchmarks ({mode}) on {m['cpu']}, {m['cores']} cores, {m['memory_gb']} GB, {m['os']}")
    print(f"load average at start {m['load_average_start']}, at end {m['load_average_end']}; "
          f"total {record['total_seconds']:.0f} s; JSON: {out}")
    print(table(figures))


if __name__ == "__main__":
    main()
