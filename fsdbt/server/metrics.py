"""Prometheus metrics in the text exposition format, without a client library.

Counters and histograms live in this process: with ``--workers N`` each worker keeps its own
and a scrape sees the worker that answered it (label ``pid`` tells them apart).
"""

from __future__ import annotations

import os
import threading
import time
from bisect import bisect_left

# Seconds; dense below 10 ms, where the online path lives.
BUCKETS = (0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class _Histogram:
    __slots__ = ("count", "counts", "sum")

    def __init__(self) -> None:
        self.counts = [0] * (len(BUCKETS) + 1)
        self.count = 0
        self.sum = 0.0

    def observe(self, seconds: float) -> None:
        self.counts[bisect_left(BUCKETS, seconds)] += 1
        self.count += 1
        self.sum += seconds


class Metrics:
    """Request counts by endpoint and status, latency per endpoint, online-store errors."""

    def __init__(self) -> None:
        self.requests: dict[tuple[str, int], int] = {}
        self.latency: dict[str, _Histogram] = {}
        self.store_errors: dict[str, int] = {}
        self.pushed_rows: dict[str, int] = {}
        self.entity_rows = 0
        self.reloads = {"ok": 0, "error": 0}
        self.started = time.time()
        self._lock = threading.Lock()  # pushes and pings run in worker threads

    def observe(self, endpoint: str, status: int, seconds: float) -> None:
        with self._lock:
            key = (endpoint, status)
            self.requests[key] = self.requests.get(key, 0) + 1
            hist = self.latency.get(endpoint)
            if hist is None:
                hist = self.latency[endpoint] = _Histogram()
            hist.observe(seconds)

    def store_error(self, operation: str) -> None:
        with self._lock:
            self.store_errors[operation] = self.store_errors.get(operation, 0) + 1

    def pushed(self, view: str, rows: int) -> None:
        with self._lock:
            self.pushed_rows[view] = self.pushed_rows.get(view, 0) + rows

    def reloaded(self, ok: bool) -> None:
        with self._lock:
            self.reloads["ok" if ok else "error"] += 1

    def render(self) -> bytes:
        pid = str(os.getpid())
        out: list[str] = []
        add = out.append
        with self._lock:
            add("# HELP fsdbt_http_requests_total HTTP requests by endpoint and status code.")
            add("# TYPE fsdbt_http_requests_total counter")
            for (endpoint, status), n in sorted(self.requests.items()):
                add(f'fsdbt_http_requests_total{{endpoint="{_esc(endpoint)}",status="{status}",pid="{pid}"}} {n}')
            add("# HELP fsdbt_http_request_duration_seconds Time to answer a request, by endpoint.")
            add("# TYPE fsdbt_http_request_duration_seconds histogram")
            for endpoint, hist in sorted(self.latency.items()):
                labels = f'endpoint="{_esc(endpoint)}",pid="{pid}"'
                running = 0
                for bound, n in zip(BUCKETS, hist.counts):
                    running += n
                    add(f'fsdbt_http_request_duration_seconds_bucket{{{labels},le="{bound}"}} {running}')
                add(f'fsdbt_http_request_duration_seconds_bucket{{{labels},le="+Inf"}} {hist.count}')
                add(f"fsdbt_http_request_duration_seconds_sum{{{labels}}} {hist.sum:.9f}")
                add(f"fsdbt_http_request_duration_seconds_count{{{labels}}} {hist.count}")
            add("# HELP fsdbt_online_store_errors_total Online store failures (unreachable, timeouts) by operation.")
            add("# TYPE fsdbt_online_store_errors_total counter")
            for op in ("read", "write", "ping"):
                add(f'fsdbt_online_store_errors_total{{operation="{op}",pid="{pid}"}} {self.store_errors.get(op, 0)}')
            add("# HELP fsdbt_pushed_rows_total Rows accepted by /push, by feature view.")
            add("# TYPE fsdbt_pushed_rows_total counter")
            for view, n in sorted(self.pushed_rows.items()):
                add(f'fsdbt_pushed_rows_total{{view="{_esc(view)}",pid="{pid}"}} {n}')
            add("# HELP fsdbt_definitions_reloads_total New manifests loaded (ok) or refused (error).")
            add("# TYPE fsdbt_definitions_reloads_total counter")
            for result in ("ok", "error"):
                add(f'fsdbt_definitions_reloads_total{{result="{result}",pid="{pid}"}} {self.reloads[result]}')
            add("# HELP fsdbt_process_start_time_seconds When this worker started (Unix time).")
            add("# TYPE fsdbt_process_start_time_seconds gauge")
            add(f'fsdbt_process_start_time_seconds{{pid="{pid}"}} {self.started:.3f}')
        return ("\n".join(out) + "\n").encode()


def _esc(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
