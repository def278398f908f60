"""Runs a sync: for each view, stream the latest rows out of the warehouse into the online store.

Per view (docs/decisions/0003-incremental-sync.md):

- **full refresh** (first sync, ``--full-refresh``, or a changed definition): every entity's
  latest row goes into a new generation, made current at once when complete. A crash leaves
  the previous generation readable; the next sync of the view deletes the abandoned one. The
  N shards of a sharded run (``--shard i/N``) build one generation together: each writes its
  part, and the last to finish makes it current.
- **incremental**: views with a ``created_timestamp`` read only rows created at or after the
  last sync's high-water mark (late rows with old event times included); views without one
  read every entity's latest row. Either way the store writes a row only when it is newer
  (or a correction), so unchanged entities are not rewritten and reruns are idempotent.

The mark advances only after every row of the view is written. A second sync of a view is
refused by the view's lock (unless the holder was a process of this machine that has died).
Memory is bounded by the batch size: rows stream from the warehouse in Arrow batches. With a
memory limit (``--max-memory-mb``), the sync reads small batches, measures the process RSS
before each write and halves the write batch whenever the RSS is above the limit; when even
the smallest batch does not fit, it stops with a clear error, as a crash would (the previous
state stays readable, the high-water mark does not move).
"""

from __future__ import annotations

import contextlib
import gc
import os
import socket
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from fsdbt.definitions import FeatureView
from fsdbt.errors import FsdbtError, OnlineStoreError
from fsdbt.online.base import SHARD_MARK, OnlineStore, WriteStats
from fsdbt.sync.plan import Shard, definition_hash, latest_rows_sql
from fsdbt.warehouse.base import Warehouse

LOCK_SECONDS = 120.0
# A sharded full refresh begun longer ago than this is abandoned, not joined, by the next run's shards.
SHARDED_BUILD_STALE = timedelta(hours=24)
DEFAULT_BATCH_ROWS = 50_000
MIN_BATCH_ROWS = 1_024  # under a memory limit, batches shrink to no fewer rows than this


class MemoryLimitError(FsdbtError):
    """The sync cannot stay under its memory limit, even with the smallest batches."""


@dataclass
class ViewSync:
    """What happened to one view."""

    view: str
    status: str = "ok"  # ok | refused | failed | dry-run | locked
    mode: str = ""  # full | incremental
    rows_read: int = 0
    written: int = 0
    skipped: int = 0
    seconds: float = 0.0
    message: str = ""
    sql: str | None = None
    batch_rows: int | None = None  # under a memory limit: the last (smallest) write batch size

    @property
    def rows_per_second(self) -> float:
        return self.rows_read / self.seconds if self.seconds else 0.0

    def as_dict(self) -> dict[str, Any]:
        out = {k: v for k, v in self.__dict__.items() if v is not None}
        out["rows_per_second"] = round(self.rows_per_second, 1)
        out["seconds"] = round(self.seconds, 3)
        return out


@dataclass
class SyncOptions:
    full_refresh: bool = False
    dry_run: bool = False
    shard: Shard | None = None
    batch_rows: int = DEFAULT_BATCH_ROWS
    now: datetime | None = None
    max_memory_mb: int | None = None  # halve the batches while the process RSS is above this
    owner: str = field(default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}")


Progress = Callable[[str, int, float], None]


def state_key(view: FeatureView, shard: Shard | None) -> str:
    """Where the sync keeps a view's state and lock: one per shard, since shards run independently."""
    if shard is None or shard.count == 1:
        return view.name
    return f"{view.name}{SHARD_MARK}{shard.index}of{shard.count}"


def sync_view(view: FeatureView, warehouse: Warehouse, online: OnlineStore, options: SyncOptions,
              progress: Progress | None = None) -> ViewSync:
    """Sync one view; errors come back in the result, not as exceptions (the others go on)."""
    started = time.perf_counter()
    result = ViewSync(view.name)
    now = options.now or datetime.now(timezone.utc)
    sharded = options.shard is not None and options.shard.count > 1
    key = state_key(view, options.shard)
    locked = False
    guard: MemoryGuard | None = None
    try:
        state = online.get_state(key) or {}
        definition = definition_hash(view)
        full = options.full_refresh or not state or state.get("definition") != definition
        since = None
        if not full and view.created_timestamp and state.get("watermark"):
            since = datetime.fromisoformat(state["watermark"])
        result.mode = "full" if full else "incremental"
        query = latest_rows_sql(view, warehouse.DIALECT, now=now, since=since, shard=options.shard)
        result.sql = query.sql(warehouse.DIALECT)
        if options.dry_run:
            result.status = "dry-run"
            return result
        if options.max_memory_mb is not None:
            guard = MemoryGuard(view.name, options.max_memory_mb, options.batch_rows)
            guard.check(started=False)  # before the lock and a new generation: refuse having done nothing
        if not _take_lock(online, key, options.owner):
            holder = online.lock_holder(key)
            result.status = "locked"
            result.message = (f"another sync of '{view.name}' is running{f' ({holder})' if holder else ''}; "
                              f"run again when it has finished (if that sync died on another machine, "
                              f"its lock expires by itself within {int(LOCK_SECONDS)}s)")
            return result
        locked = True
        generation: int | None = None
        if full and sharded:
            # The shards of one run build one generation together; the last to finish switches it in.
            assert options.shard is not None
            generation, _ = online.join_refresh(view, options.shard.index, options.shard.count, SHARDED_BUILD_STALE)
        elif full:
            generation = online.begin_refresh(view)
        if not full and not sharded:
            # Holding the view's lock, no refresh is being built: one begun is a dead sync's leftover.
            removed = online.discard_abandoned_refresh(view)
            if removed:
                result.message = f"removed {removed:,} rows of an unfinished full refresh"
        stats = WriteStats()
        high_water: Any = None
        last_lock = time.monotonic()
        batches = guard.batches(warehouse, result.sql) if guard is not None else \
            warehouse.stream_arrow(result.sql, options.batch_rows)
        for batch in batches:
            if batch.num_rows == 0:
                continue
            result.rows_read += batch.num_rows
            stats = stats + online.write_batch(view, batch, generation=generation)
            if view.created_timestamp:
                high_water = _max(high_water, batch.column(view.created_timestamp))
            if time.monotonic() - last_lock > LOCK_SECONDS / 4:
                if not online.acquire_lock(key, options.owner, LOCK_SECONDS):
                    raise OnlineStoreError(f"lost the lock of '{view.name}' (this sync stalled for over "
                                           f"{int(LOCK_SECONDS)}s and another took over); run it again")
                last_lock = time.monotonic()
            if progress:
                progress(view.name, result.rows_read, time.perf_counter() - started)
        if generation is not None and sharded:
            assert options.shard is not None
            done, count = online.finish_shard(view, generation, options.shard.index)
            if done == count:
                online.commit_refresh(view, generation)
                result.message = f"the last of {count} shards: the rebuilt view is served now"
            else:
                result.message = (f"{done} of {count} shards have rebuilt their part; the view switches to the "
                                  f"rebuilt one when every shard has (run each with the same --shard i/{count})")
        elif generation is not None:
            online.commit_refresh(view, generation)
        result.written, result.skipped = stats.written, stats.skipped
        if guard is not None:
            result.batch_rows = guard.rows
            if guard.halvings:
                halved = (f"the process RSS went above --max-memory-mb {guard.limit_mb}: batches "
                          f"halved {guard.halvings} time(s), to {guard.rows:,} rows")
                result.message = f"{result.message}; {halved}" if result.message else halved
        watermark = _iso(high_water) if high_water is not None else state.get("watermark")
        if full and high_water is None:
            watermark = None
        online.set_state(key, {
            "definition": definition, "watermark": watermark, "synced_at": now.isoformat(),
            "mode": result.mode, "rows": result.rows_read, "shard": str(options.shard) if sharded else None,
        })
    except FsdbtError as exc:
        result.status, result.message = "failed", str(exc)
        if guard is not None:
            result.batch_rows = guard.rows
    finally:
        if locked:
            with contextlib.suppress(FsdbtError):  # the lock expires by itself
                online.release_lock(key, options.owner)
        result.seconds = time.perf_counter() - started
    return result


def sync_views(views: Sequence[FeatureView], warehouse: Warehouse, online: OnlineStore, options: SyncOptions,
               progress: Progress | None = None) -> list[ViewSync]:
    if not options.dry_run and not online.ping():
        raise OnlineStoreError("the online store does not answer; nothing was synced (check that it runs and "
                               "the target's online_store settings)")
    return [sync_view(view, warehouse, online, options, progress) for view in views]


def process_rss_bytes() -> int | None:
    """This process's resident set size (Linux ``/proc``; elsewhere its peak, from ``getrusage``)."""
    try:
        with open("/proc/self/statm", encoding="ascii") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        pass
    try:
        import resource
    except ImportError:
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak) * (1 if sys.platform == "darwin" else 1024)


class MemoryGuard:
    """Keeps a sync under ``limit_mb`` of RSS by halving its write batches (down to ``min_rows``).

    Rows are read from the warehouse in batches of ``min_rows`` and regrouped into write
    batches of ``rows``; before each write the RSS is measured (after a collection when it is
    high). Above the limit the batch size halves; at ``min_rows`` and still above, the sync
    stops with :class:`MemoryLimitError`. The limit covers the whole process, so a limit below
    what the process holds before the first row refuses at once.
    """

    def __init__(self, view: str, limit_mb: int, rows: int, min_rows: int = MIN_BATCH_ROWS) -> None:
        if limit_mb < 1:
            raise MemoryLimitError(f"--max-memory-mb must be at least 1; got {limit_mb}")
        self.view = view
        self.limit_mb = limit_mb
        self.min_rows = max(1, min(min_rows, rows))
        self.rows = max(rows, self.min_rows)
        self.halvings = 0

    def _over(self) -> int | None:
        """The RSS in bytes when above the limit (after freeing what can be freed), else None."""
        rss = process_rss_bytes()
        limit = self.limit_mb * 1024 * 1024
        if rss is None or rss <= limit:
            return None
        gc.collect()
        pa.default_memory_pool().release_unused()
        rss = process_rss_bytes()
        return rss if rss is not None and rss > limit else None

    def check(self, started: bool) -> None:
        """Before a write: halve the batch size if over the limit; refuse if it cannot shrink."""
        rss = self._over()
        if rss is None:
            return
        if self.rows <= self.min_rows or not started:
            what = (f"with batches of {self.rows:,} rows" if started
                    else "before reading a row (the process alone is larger)")
            raise MemoryLimitError(
                f"the sync of '{self.view}' needs more memory than --max-memory-mb {self.limit_mb}: the process "
                f"uses {rss / 1048576:,.0f} MB {what}; nothing more was written (the previous state stays "
                f"readable and a rerun resumes); raise the limit or give the sync more memory")
        self.rows = max(self.min_rows, self.rows // 2)
        self.halvings += 1

    def batches(self, warehouse: Warehouse, sql: str) -> Iterator[pa.RecordBatch]:
        """The query's rows in write batches of ``self.rows`` (which may shrink between batches)."""
        pending: list[pa.RecordBatch] = []
        count = 0
        pieces = warehouse.stream_arrow(sql, self.min_rows)
        done = False
        while not done:
            piece = next(pieces, None)
            done = piece is None
            if piece is not None and piece.num_rows:
                pending.append(piece)
                count += piece.num_rows
            while count and (count >= self.rows or done):
                self.check(started=True)  # may shrink self.rows
                batch = pa.concat_batches(pending) if len(pending) > 1 else pending[0]
                rest = batch.slice(self.rows)
                pending, count = ([rest], rest.num_rows) if rest.num_rows else ([], 0)
                yield batch.slice(0, self.rows)


def _take_lock(online: OnlineStore, key: str, owner: str) -> bool:
    """Take the view's lock; a lock left by a dead sync on this machine is taken over at once."""
    if online.acquire_lock(key, owner, LOCK_SECONDS):
        return True
    holder = online.lock_holder(key)
    if holder is None or not _died_here(holder):
        return False
    # Its process is gone (killed, crashed): waiting for the lock to expire would only delay
    # the rerun, and the rerun's conditional writes or new generation repair what it left.
    online.release_lock(key, holder)
    return online.acquire_lock(key, owner, LOCK_SECONDS)


def _died_here(owner: str) -> bool:
    """Whether a lock owner (``host:pid:nonce``) names a process of this machine that has ended."""
    host, _, rest = owner.partition(":")
    pid_text = rest.split(":", 1)[0]
    if os.name != "posix" or host != socket.gethostname() or not pid_text.isdigit():
        return False
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return True
    except (PermissionError, OverflowError):
        return False
    return False


def _max(current: Any, column: pa.Array | pa.ChunkedArray) -> Any:
    value = pc.max(column).as_py()
    if value is None:
        return current
    if current is None:
        return value
    return max(current, value)


def _iso(value: Any) -> str:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return str(value.isoformat())
    return str(value)


def progress_printer(enabled: bool) -> Progress | None:
    """Rows and rows/s per view on stderr, rewritten in place on a terminal."""
    if not enabled or not sys.stderr.isatty():
        return None

    def show(view: str, rows: int, seconds: float) -> None:
        rate = rows / seconds if seconds else 0.0
        sys.stderr.write(f"\r  {view}: {rows:,} rows, {rate:,.0f} rows/s   ")
        sys.stderr.flush()

    return show
