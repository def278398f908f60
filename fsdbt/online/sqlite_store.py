"""The embedded online store: one SQLite file (WAL mode), for quickstarts and notebooks.

Same semantics as the Redis store. Values are stored as the same text (a JSON object of
feature name -> text per row, NULL features absent), so both stores decode alike. Reads run
in one transaction, which gives them a snapshot: a full refresh is never seen half-applied.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pyarrow as pa

from fsdbt.definitions import FeatureView
from fsdbt.errors import ConfigError, OnlineStoreError
from fsdbt.online import codec
from fsdbt.online.base import (
    SHARD_MARK,
    Fetched,
    OnlineResult,
    OnlineStore,
    ViewRead,
    WriteStats,
    as_batches,
    assemble,
    plan_read,
)

LAYOUT_VERSION = 1
_MAX_VARS = 500  # bind parameters per IN (...) list, well under SQLite's limit

SCHEMA = """
CREATE TABLE IF NOT EXISTS fsdbt_online_layout (version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS fsdbt_online_rows (
    view TEXT NOT NULL,
    generation INTEGER NOT NULL,
    entity_key TEXT NOT NULL,
    event_ts TEXT NOT NULL,
    created_ts TEXT NOT NULL,
    payload TEXT NOT NULL,
    PRIMARY KEY (view, generation, entity_key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS fsdbt_online_views (
    view TEXT PRIMARY KEY,
    current INTEGER NOT NULL DEFAULT 0,
    next INTEGER NOT NULL DEFAULT 0,
    building INTEGER,
    building_since TEXT,
    building_shards INTEGER,
    building_started TEXT,
    building_done TEXT,
    state TEXT,
    lock_owner TEXT,
    lock_expires REAL
);
"""

# Text comparison in SQLite is byte order (BINARY collation), which is time order for the
# fixed-width timestamps; ties on both times rewrite only when the content differs.
UPSERT = """
INSERT INTO fsdbt_online_rows (view, generation, entity_key, event_ts, created_ts, payload)
VALUES (?, ?, ?, ?, ?, ?)
ON CONFLICT (view, generation, entity_key) DO UPDATE SET
    event_ts = excluded.event_ts, created_ts = excluded.created_ts, payload = excluded.payload
WHERE excluded.event_ts > fsdbt_online_rows.event_ts
   OR (excluded.event_ts = fsdbt_online_rows.event_ts
       AND (excluded.created_ts > fsdbt_online_rows.created_ts
            OR (excluded.created_ts = fsdbt_online_rows.created_ts
                AND excluded.payload <> fsdbt_online_rows.payload)))
"""


class SqliteOnlineStore(OnlineStore):
    """Feature values in a SQLite file; one connection per thread."""

    def __init__(self, path: str | Path, *, timeout_seconds: float = 30.0, write_chunk_rows: int = 10_000) -> None:
        self.path = str(path)
        self.timeout_seconds = timeout_seconds
        self.write_chunk_rows = write_chunk_rows
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._guard = threading.Lock()
        if self.path == ":memory:":
            raise ConfigError("the SQLite online store needs a file path (each thread has its own "
                              "connection, and ':memory:' would give each its own empty database)")
        with self._errors("open"):
            con = self._con()
            con.executescript(SCHEMA)
            # Files made before sharded full refreshes lack their columns: add them.
            have = {r[1] for r in con.execute("PRAGMA table_info(fsdbt_online_views)")}
            for column, kind in (("building_shards", "INTEGER"), ("building_started", "TEXT"),
                                 ("building_done", "TEXT")):
                if column not in have:
                    con.execute(f"ALTER TABLE fsdbt_online_views ADD COLUMN {column} {kind}")
        with self._errors("open"), self._tx(immediate=True) as con:
            row = con.execute("SELECT version FROM fsdbt_online_layout").fetchone()
            if row is None:
                con.execute("INSERT INTO fsdbt_online_layout VALUES (?)", (LAYOUT_VERSION,))
            elif row[0] != LAYOUT_VERSION:
                raise OnlineStoreError(f"online store file {self.path} has layout version {row[0]}; this "
                                       f"fsdbt reads version {LAYOUT_VERSION}: delete the file and sync again")

    def __repr__(self) -> str:
        return f"SqliteOnlineStore({self.path!r})"

    # -- plumbing --------------------------------------------------------------------------
    def _con(self) -> sqlite3.Connection:
        con: sqlite3.Connection | None = getattr(self._local, "con", None)
        if con is None:
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            con = sqlite3.connect(self.path, timeout=self.timeout_seconds, isolation_level=None,
                                  check_same_thread=False)
            con.execute("PRAGMA journal_mode=WAL")
            con.execute("PRAGMA synchronous=NORMAL")  # durable at checkpoints; the warehouse is the truth
            self._local.con = con
            with self._guard:
                self._all.append(con)
        return con

    @contextmanager
    def _tx(self, immediate: bool = False) -> Iterator[sqlite3.Connection]:
        con = self._con()
        con.execute("BEGIN IMMEDIATE" if immediate else "BEGIN")
        try:
            yield con
        except BaseException:
            con.execute("ROLLBACK")
            raise
        con.execute("COMMIT")

    @contextmanager
    def _errors(self, action: str) -> Iterator[None]:
        try:
            yield
        except sqlite3.Error as exc:
            raise OnlineStoreError(f"SQLite online store {self.path}: {action} failed: {exc}") from None

    def _ensure_view(self, con: sqlite3.Connection, view_name: str) -> None:
        con.execute("INSERT OR IGNORE INTO fsdbt_online_views (view) VALUES (?)", (view_name,))

    # -- writes ----------------------------------------------------------------------------
    def write_batch(self, view: FeatureView, batch: pa.RecordBatch | pa.Table,
                    generation: int | None = None) -> WriteStats:
        names = view.feature_names
        written = total = 0
        with self._errors(f"write to view '{view.name}'"):
            for chunk in as_batches(batch, self.write_chunk_rows):
                total += len(chunk)
                keys, event, created, values = codec.encoded_columns(view, chunk)
                mask = codec.usable_rows(keys, event)
                if mask is not None:
                    keys, event, created = keys.filter(mask), event.filter(mask), created.filter(mask)
                    values = [v.filter(mask) for v in values]
                cols = [v.to_pylist() for v in values]
                rows = []
                for i, (k, e, c) in enumerate(zip(keys.to_pylist(), event.to_pylist(), created.to_pylist())):
                    payload = {n: col[i] for n, col in zip(names, cols) if col[i] is not None}
                    rows.append((k, e, c, json.dumps(payload, ensure_ascii=False, separators=(",", ":"))))
                with self._tx(immediate=True) as con:
                    if generation is None:
                        # A live write (a push, an incremental sync) also goes into a generation
                        # being built, in the same transaction as the read of the pointers, so a
                        # full refresh running meanwhile keeps it when it flips.
                        found = con.execute("SELECT current, building FROM fsdbt_online_views WHERE view = ?",
                                            (view.name,)).fetchone()
                        gens = [int(found[0]), *([int(found[1])] if found[1] is not None else [])] \
                            if found else [0]
                    else:
                        gens = [generation]
                    for n, gen in enumerate(gens):
                        before = con.total_changes
                        con.executemany(UPSERT, [(view.name, gen, *row) for row in rows])
                        if n == 0:
                            written += con.total_changes - before
        return WriteStats(written, total - written)

    # -- generations -----------------------------------------------------------------------
    def current_generation(self, view_name: str) -> int:
        with self._errors(f"read the generation of view '{view_name}'"):
            row = self._con().execute("SELECT current FROM fsdbt_online_views WHERE view = ?",
                                      (view_name,)).fetchone()
        return int(row[0]) if row else 0

    def begin_refresh(self, view: FeatureView) -> int:
        with self._errors(f"begin a full refresh of view '{view.name}'"), self._tx(immediate=True) as con:
            self._ensure_view(con, view.name)
            current, nxt = con.execute("SELECT current, next FROM fsdbt_online_views WHERE view = ?",
                                       (view.name,)).fetchone()
            # Anything but the current generation is an abandoned build or leftover: drop it.
            con.execute("DELETE FROM fsdbt_online_rows WHERE view = ? AND generation <> ?",
                        (view.name, current))
            new = max(int(nxt), int(current)) + 1
            con.execute("UPDATE fsdbt_online_views SET next = ?, building = ?, building_since = ?, "
                        "building_shards = NULL, building_started = NULL, building_done = NULL WHERE view = ?",
                        (new, new, codec.format_timestamp(datetime.now(timezone.utc)), view.name))
            return new

    def join_refresh(self, view: FeatureView, shard: int, shards: int, stale_after: timedelta) -> tuple[int, bool]:
        now = datetime.now(timezone.utc)
        with self._errors(f"join the sharded full refresh of view '{view.name}'"), self._tx(immediate=True) as con:
            self._ensure_view(con, view.name)
            current, nxt, building, since, count, started = con.execute(
                "SELECT current, next, building, building_since, building_shards, building_started "
                "FROM fsdbt_online_views WHERE view = ?", (view.name,)).fetchone()
            if building is not None and count == shards and since is not None \
                    and since >= codec.format_timestamp(now - stale_after):
                parts = set((started or "").split(",")) - {""}
                if str(shard) in parts:
                    return int(building), False
                con.execute("UPDATE fsdbt_online_views SET building_started = ? WHERE view = ?",
                            (",".join(sorted(parts | {str(shard)}, key=int)), view.name))
                return int(building), True
            # Anything but the current generation is an abandoned build: drop it.
            con.execute("DELETE FROM fsdbt_online_rows WHERE view = ? AND generation <> ?", (view.name, current))
            new = max(int(nxt), int(current)) + 1
            con.execute("UPDATE fsdbt_online_views SET next = ?, building = ?, building_since = ?, "
                        "building_shards = ?, building_started = ?, building_done = '' WHERE view = ?",
                        (new, new, codec.format_timestamp(now), shards, str(shard), view.name))
            return new, True

    def finish_shard(self, view: FeatureView, generation: int, shard: int) -> tuple[int, int]:
        with self._errors(f"finish shard {shard} of the full refresh of view '{view.name}'"), \
                self._tx(immediate=True) as con:
            row = con.execute("SELECT building, building_shards, building_done FROM fsdbt_online_views "
                              "WHERE view = ?", (view.name,)).fetchone()
            if row is None or row[0] != generation:
                raise OnlineStoreError(
                    f"view '{view.name}': generation {generation} is not being built; a full refresh without "
                    f"--shard, or a newer sharded one, replaced it: run this shard again")
            done = (set((row[2] or "").split(",")) - {""}) | {str(shard)}
            con.execute("UPDATE fsdbt_online_views SET building_done = ? WHERE view = ?",
                        (",".join(sorted(done, key=int)), view.name))
            return len(done), int(row[1])

    def commit_refresh(self, view: FeatureView, generation: int) -> int:
        with self._errors(f"commit generation {generation} of view '{view.name}'"):
            with self._tx(immediate=True) as con:
                row = con.execute("SELECT current, building FROM fsdbt_online_views WHERE view = ?",
                                  (view.name,)).fetchone()
                if row is None or row[1] != generation:
                    raise OnlineStoreError(
                        f"view '{view.name}': generation {generation} is not being built (building: "
                        f"{row[1] if row else None}); another refresh replaced it, or begin_refresh "
                        f"was not called")
                old = int(row[0])
                con.execute("UPDATE fsdbt_online_views SET current = ?, building = NULL, building_since = NULL, "
                            "building_shards = NULL, building_started = NULL, building_done = NULL WHERE view = ?",
                            (generation, view.name))
            with self._tx(immediate=True) as con:
                cur = con.execute("DELETE FROM fsdbt_online_rows WHERE view = ? AND generation = ?",
                                  (view.name, old))
                return int(cur.rowcount)

    def discard_abandoned_refresh(self, view: FeatureView) -> int:
        with self._errors(f"remove an abandoned refresh of view '{view.name}'"), self._tx(immediate=True) as con:
            row = con.execute("SELECT current, building, building_shards FROM fsdbt_online_views WHERE view = ?",
                              (view.name,)).fetchone()
            if row is None or row[1] is None or row[2] is not None:
                return 0  # a sharded build's shards hold their own locks, not the view's: leave it to them
            cur = con.execute("DELETE FROM fsdbt_online_rows WHERE view = ? AND generation > ?",
                              (view.name, int(row[0])))
            con.execute("UPDATE fsdbt_online_views SET building = NULL, building_since = NULL WHERE view = ?",
                        (view.name,))
            return int(cur.rowcount)

    # -- state and lock --------------------------------------------------------------------
    def get_state(self, view_name: str) -> dict[str, Any] | None:
        with self._errors(f"read the state of view '{view_name}'"):
            row = self._con().execute("SELECT state FROM fsdbt_online_views WHERE view = ?",
                                      (view_name,)).fetchone()
        return None if row is None or row[0] is None else dict(json.loads(row[0]))

    def set_state(self, view_name: str, state: Mapping[str, Any]) -> None:
        text = json.dumps(dict(state), sort_keys=True, default=str)
        with self._errors(f"store the state of view '{view_name}'"), self._tx(immediate=True) as con:
            self._ensure_view(con, view_name)
            con.execute("UPDATE fsdbt_online_views SET state = ? WHERE view = ?", (text, view_name))

    def acquire_lock(self, view_name: str, owner: str, ttl_seconds: float) -> bool:
        now = time.time()
        with self._errors(f"take the lock of view '{view_name}'"), self._tx(immediate=True) as con:
            self._ensure_view(con, view_name)
            cur = con.execute(
                "UPDATE fsdbt_online_views SET lock_owner = ?, lock_expires = ? WHERE view = ? AND "
                "(lock_owner IS NULL OR lock_owner = ? OR lock_expires <= ?)",
                (owner, now + ttl_seconds, view_name, owner, now))
            return cur.rowcount == 1

    def release_lock(self, view_name: str, owner: str) -> bool:
        with self._errors(f"release the lock of view '{view_name}'"), self._tx(immediate=True) as con:
            cur = con.execute("UPDATE fsdbt_online_views SET lock_owner = NULL, lock_expires = NULL "
                              "WHERE view = ? AND lock_owner = ? AND lock_expires > ?",
                              (view_name, owner, time.time()))
            return cur.rowcount == 1

    def lock_holder(self, view_name: str) -> str | None:
        with self._errors(f"read the lock of view '{view_name}'"):
            row = self._con().execute("SELECT lock_owner FROM fsdbt_online_views WHERE view = ? AND "
                                      "lock_expires > ?", (view_name, time.time())).fetchone()
        return None if row is None or row[0] is None else str(row[0])

    # -- reads -----------------------------------------------------------------------------
    def read(self, view_reads: Iterable[ViewRead], entity_rows: Sequence[Mapping[str, Any]],
             now: datetime | None = None, *, full_feature_names: bool = False) -> OnlineResult:
        plan = plan_read(view_reads, entity_rows, full_feature_names)
        now = codec.as_utc(now)
        fetched: list[list[Fetched | None]] = []
        with self._errors("read online features"), self._tx() as con:
            for r, feats, keys in zip(plan.reads, plan.names, plan.keys):
                row = con.execute("SELECT current FROM fsdbt_online_views WHERE view = ?",
                                  (r.view.name,)).fetchone()
                gen = int(row[0]) if row else 0
                wanted = sorted({k for k in keys if k is not None})
                found: dict[str, tuple[str, str]] = {}
                for start in range(0, len(wanted), _MAX_VARS):
                    part = wanted[start:start + _MAX_VARS]
                    marks = ",".join("?" * len(part))
                    for key, event, payload in con.execute(
                            f"SELECT entity_key, event_ts, payload FROM fsdbt_online_rows WHERE view = ? "
                            f"AND generation = ? AND entity_key IN ({marks})", (r.view.name, gen, *part)):
                        found[key] = (event, payload)
                out: list[Fetched | None] = []
                for key in keys:
                    hit = found.get(key) if key is not None else None
                    if hit is None:
                        out.append(None)
                    else:
                        values = json.loads(hit[1])
                        out.append((hit[0], *map(values.get, feats)))
                fetched.append(out)
        return assemble(plan, fetched, now)

    # -- teardown, health ------------------------------------------------------------------
    def teardown(self, view_name: str) -> int:
        with self._errors(f"delete view '{view_name}'"), self._tx(immediate=True) as con:
            rows = con.execute("DELETE FROM fsdbt_online_rows WHERE view = ?", (view_name,)).rowcount
            shards = view_name + SHARD_MARK  # the sharded syncs' state and locks
            meta = con.execute("DELETE FROM fsdbt_online_views WHERE view = ? OR substr(view, 1, ?) = ?",
                               (view_name, len(shards), shards)).rowcount
            return int(rows) + int(meta)

    def ping(self) -> bool:
        with self._errors("ping"):
            return bool(self._con().execute("SELECT 1").fetchone() == (1,))

    def close(self) -> None:
        with self._guard:
            for con in self._all:
                con.close()
            self._all.clear()
        self._local = threading.local()
