"""Shared pieces of the benchmark runner: paths, the data cache, timing helpers, child processes.

Imported by ``run.py`` (the orchestrator) and by ``cases.py`` / ``prepare.py`` (the child
processes). It imports nothing heavy, so a child's peak memory is its own work.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import statistics
import subprocess
import sys
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
CACHE = BENCH / ".cache"
PROFILES = REPO / "profiles"
SYNC1M_PROJECT = BENCH / "sync1m"
SEED = 42

# The 30 features of the point-in-time and online cases: two views, 20 + 10 features.
FEATURE_REFS = ["driver_hourly_stats.*", "customer_profile.*"]


@dataclass(frozen=True)
class Dataset:
    """One cached warehouse: a demo preset (or the synthetic 1M-entity table) built with dbt."""

    preset: str
    seed: int
    anchor: datetime

    @property
    def key(self) -> str:
        return f"{self.preset}-seed{self.seed}-{self.anchor.strftime('%Y%m%dT%H%M')}"

    @property
    def root(self) -> Path:
        return CACHE / self.key

    @property
    def duckdb_path(self) -> Path:
        return self.root / "warehouse.duckdb"

    @property
    def target_path(self) -> Path:
        return self.root / "target"

    @property
    def project_dir(self) -> Path:
        return SYNC1M_PROJECT if self.preset == "sync1m" else REPO

    @property
    def ready_file(self) -> Path:
        return self.root / "ready.json"

    def fingerprint(self) -> str:
        """Changes when the data or its dbt models would change: generator and model sources."""
        digest = hashlib.sha256()
        sources = [REPO / "fsdbt" / "demo" / "generator.py", REPO / "dbt_project.yml"]
        models = (SYNC1M_PROJECT if self.preset == "sync1m" else REPO / "models" / "demo")
        sources += sorted(p for p in models.rglob("*") if p.is_file() and p.suffix in (".sql", ".yml"))
        for path in sources:
            digest.update(str(path.relative_to(REPO)).encode())
            digest.update(path.read_bytes())
        return digest.hexdigest()[:16]

    def env(self, redis_url: str | None = None) -> dict[str, str]:
        """Environment for dbt and FeatureStore on this dataset (target ``redis`` of the repo's profile)."""
        env = {
            "FSDBT_DUCKDB_PATH": str(self.duckdb_path),
            "FSDBT_TARGET": "redis",
            "DBT_TARGET_PATH": str(self.target_path),
            "DBT_LOG_PATH": str(self.root / "logs"),
            "DBT_PROFILES_DIR": str(PROFILES),
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
            "FSDBT_REDIS_KEY_PREFIX": "fsdbt",
        }
        if redis_url:
            env["FSDBT_REDIS_URL"] = redis_url
        return env

    def as_dict(self) -> dict[str, Any]:
        return {"preset": self.preset, "seed": self.seed, "anchor": self.anchor.isoformat()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Dataset:
        return cls(data["preset"], int(data["seed"]), datetime.fromisoformat(data["anchor"]))


def default_anchor() -> datetime:
    """Midnight UTC today: recent enough that the 2-day ttl keeps each driver's latest rows
    fresh for sync and online reads, stable enough that the cache serves a whole day."""
    now = datetime.now(timezone.utc)
    return now.replace(hour=0, minute=0, second=0, microsecond=0)


# -- timing ------------------------------------------------------------------------------------

def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


def summary(values: list[float]) -> dict[str, float]:
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


# -- processes ----------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run_child(args: list[str], env: dict[str, str] | None = None) -> tuple[dict[str, Any], float]:
    """Run ``python <args>`` as a child; returns (the JSON it printed last on stdout, its peak RSS in MB).

    The peak RSS is the child's own ``ru_maxrss``, read by the parent from ``wait4``:
    measured outside the timed process, and per child (``RUSAGE_CHILDREN`` would keep the
    largest of all children so far).
    """
    full_env = {**os.environ, **(env or {}), "PYTHONDONTWRITEBYTECODE": "1"}
    proc = subprocess.Popen([sys.executable, *args], stdout=subprocess.PIPE, stderr=None, env=full_env,
                            cwd=str(REPO))
    assert proc.stdout is not None
    out = proc.stdout.read()  # the child prints its JSON at the end; stderr passes through
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    lines = [ln for ln in out.decode().splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"child {' '.join(args[:3])} failed with exit code {proc.returncode}")
    peak_mb = usage.ru_maxrss / 1024  # Linux: kilobytes
    return json.loads(lines[-1]), round(peak_mb, 1)


def emit(result: dict[str, Any]) -> None:
    """A child's result: one JSON line on stdout (logs go to stderr)."""
    sys.stdout.write(json.dumps(result, default=str) + "\n")
    sys.stdout.flush()


def log(message: str) -> None:
    sys.stderr.write(f"[bench] {message}\n")
    sys.stderr.flush()
