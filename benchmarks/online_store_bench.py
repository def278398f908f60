"""Micro-benchmark of the Redis online store against plain redis-py on the same data.

Writes N entities x F features through ``RedisOnlineStore.write_batch`` and through the
baseline (redis-py pipeline, ``transaction=False``, batches of 1,000, ``HSET key mapping`` of
``to_pylist()`` rows); then reads 1 x 30 and 100 x 30 through ``read`` and through a raw
redis-py pipeline of ``HMGET`` on the same keys, and prints a table.

    .venv/bin/python benchmarks/online_store_bench.py --url redis://127.0.0.1:6379/0 \\
        --entities 200000 --features 10

Keys are written under a private prefix and deleted at the end.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pyarrow as pa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fsdbt.definitions import Column, Feature, FeatureView, Relation
from fsdbt.dtypes import DType
from fsdbt.online import ViewRead, open_online_store
from fsdbt.online.redis_store import RedisOnlineStore

T0 = datetime(2024, 5, 1, tzinfo=timezone.utc)
KINDS = (DType.FLOAT, DType.INT, DType.STRING)


def make_view(name: str, n_features: int) -> FeatureView:
    feats = tuple(Feature(f"f{i}", name, KINDS[i % 3]) for i in range(n_features))
    cols = (Column("entity_id", DType.INT), Column("event_timestamp", DType.TIMESTAMP),
            *[Column(f.name, f.dtype) for f in feats])
    return FeatureView(name, f"model.bench.{name}", Relation(None, None, name), ("entity_id",),
                       "event_timestamp", feats, cols, ttl=timedelta(days=30))


def make_batch(view: FeatureView, start: int, n: int) -> pa.RecordBatch:
    ids = list(range(start, start + n))
    data: dict[str, Any] = {
        "entity_id": pa.array(ids, pa.int64()),
        "event_timestamp": pa.array([T0 - timedelta(seconds=i % 3600) for i in ids], pa.timestamp("us", tz="UTC")),
    }
    for j, f in enumerate(view.features):
        if f.dtype == DType.FLOAT:
            data[f.name] = pa.array([(i * 7 + j) / 13 for i in ids], pa.float64())
        elif f.dtype == DType.INT:
            data[f.name] = pa.array([i * 31 + j for i in ids], pa.int64())
        else:
            data[f.name] = pa.array([f"city-{(i + j) % 977}" for i in ids], pa.string())
    return pa.record_batch(data)


def timed(fn: Callable[[], Any]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return statistics.median(ordered) * 1000, p99 * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--cluster", action="store_true")
    parser.add_argument("--entities", type=int, default=200_000)
    parser.add_argument("--features", type=int, default=10)
    parser.add_argument("--batch-rows", type=int, default=10_000, help="rows per write_batch call")
    parser.add_argument("--read-features", type=int, default=30)
    parser.add_argument("--iterations", type=int, default=2_000)
    args = parser.parse_args()

    prefix = f"fsdbt-bench-{uuid.uuid4().hex[:8]}"
    store = open_online_store({"type": "redis", "url": args.url, "cluster": args.cluster, "key_prefix": prefix})
    assert isinstance(store, RedisOnlineStore)
    client: Any = store._client  # the same connection settings for the baseline
    view = make_view("bench_write", args.features)
    batches = [make_batch(view, s, min(args.batch_rows, args.entities - s))
               for s in range(0, args.entities, args.batch_rows)]
    results: list[tuple[str, str, str]] = []

    def baseline_write() -> None:
        for batch in batches:
            for start in range(0, len(batch), 1000):
                pipe = client.pipeline(transaction=False)
                for row in batch.slice(start, 1000).to_pylist():
                    key = f"{prefix}:raw:{row.pop('entity_id')}"
                    row["event_timestamp"] = row["event_timestamp"].isoformat()
                    pipe.hset(key, mapping=row)
                pipe.execute()

    def store_write() -> None:
        for batch in batches:
            store.write_batch(view, batch)

    try:
        t_base = timed(baseline_write)
        t_store = timed(store_write)
        t_rerun = timed(store_write)  # every row identical: all skipped
        n = args.entities
        results += [
            (f"write {n:,} x {args.features}: redis-py HSET pipeline", f"{n / t_base:,.0f} entities/s",
             f"{t_base:.2f} s"),
            (f"write {n:,} x {args.features}: fsdbt write_batch", f"{n / t_store:,.0f} entities/s",
             f"{t_store:.2f} s ({t_base / t_store:.1f}x)"),
            (f"rerun {n:,} x {args.features}: fsdbt (all skipped)", f"{n / t_rerun:,.0f} entities/s",
             f"{t_rerun:.2f} s"),
        ]

        rview = make_view("bench_read", args.read_features)
        store.write_batch(rview, make_batch(rview, 0, 10_000))
        names = [f.name for f in rview.features]
        for size in (1, 100):
            samples_store: list[float] = []
            samples_raw: list[float] = []
            samples_all: list[float] = []
            for it in range(args.iterations):
                ids = [(it * 7919 + k * 101) % 10_000 for k in range(size)]
                rows = [{"entity_id": i} for i in ids]
                keys = [store.entity_key(rview, r, 0) for r in rows]
                started = time.perf_counter()
                res = store.read([ViewRead(rview)], rows, T0)
                samples_store.append(time.perf_counter() - started)
                started = time.perf_counter()
                pipe = client.pipeline(transaction=False)
                for key in keys:
                    pipe.hmget(key, ["_event_ts", *names])
                raw = pipe.execute()
                samples_raw.append(time.perf_counter() - started)
                started = time.perf_counter()
                pipe = client.pipeline(transaction=False)
                for key in keys:
                    pipe.hgetall(key)
                whole = pipe.execute()
                samples_all.append(time.perf_counter() - started)
                assert len(res) == size and len(raw) == size and len(whole) == size
            s50, s99 = percentiles(samples_store)
            r50, r99 = percentiles(samples_raw)
            a50, a99 = percentiles(samples_all)
            best99 = min(r99, a99)
            results += [
                (f"read {size} x {args.read_features}: redis-py pipelined HMGET (raw bytes)",
                 f"p50 {r50:.3f} ms", f"p99 {r99:.3f} ms"),
                (f"read {size} x {args.read_features}: redis-py pipelined HGETALL (raw bytes)",
                 f"p50 {a50:.3f} ms", f"p99 {a99:.3f} ms"),
                (f"read {size} x {args.read_features}: fsdbt read (decoded, ttl, statuses)",
                 f"p50 {s50:.3f} ms", f"p99 {s99:.3f} ms ({s99 / best99:.2f}x best raw p99)"),
            ]
    finally:
        for view_name in ("bench_write", "bench_read"):
            store.teardown(view_name)
        for key in client.scan_iter(match=f"{prefix}:raw:*", count=5000):
            client.unlink(key)
        store.close()

    width = max(len(r[0]) for r in results)
    print(f"{'case'.ljust(width)}  {'rate / p50':>22}  {'time / p99'}")
    for case, a, b in results:
        print(f"{case.ljust(width)}  {a:>22}  {b}")


if __name__ == "__main__":
    main()
