"""The Redis online store (standalone or Redis Cluster). The only module that imports ``redis``.

Layout (``docs/redis-layout.md`` is the reference; ``P`` is the key prefix, ``V`` the
escaped view name)::

    P:v1:V:g<gen>:{<key>}   hash: feature name -> text, plus _event_ts and _created_ts
    P:v1:V:_gen             hash: current, next, building, building_since (+ building_shards,
                            building_started, building_done for a sharded full refresh)
    P:v1:V:_state           string: JSON state of the sync
    P:v1:V:_lock            string: lock owner, with an expiry
    P:v1:V:_pushed:<gen>    set: entity keys written live while <gen> was being built

The hot paths (writes and reads) build RESP by hand and pipeline it on one connection per
node: redis-py's per-command packing would cost more than the server's work. Writes run a
Lua script that compares event/created times, so the condition holds without a round trip
per entity.
"""

from __future__ import annotations

import binascii
import json
import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from operator import itemgetter
from typing import Any
from urllib.parse import urlsplit

import pyarrow as pa
import pyarrow.compute as pc
import redis
import redis.exceptions as rex
from redis.cluster import ClusterNode, RedisCluster

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

try:  # hiredis: replies are taken from its reader directly (see _read_replies)
    import redis._parsers.hiredis as _hiredis_parser
except ImportError:  # pragma: no cover - redis-py without this module: the public path
    _hiredis_parser = None  # type: ignore[assignment]
_HIREDIS_PARSER: Any = getattr(_hiredis_parser, "_HiredisParser", None)
_NOT_ENOUGH_DATA: Any = getattr(_hiredis_parser, "NOT_ENOUGH_DATA", None)

LAYOUT_VERSION = "v1"
HMGET_MAX_FIELDS = 4  # above this many fields per row, reads use HGETALL (measured: 2.5x faster at 31)
SLOTS = 16384

# KEYS: entity keys. ARGV, per entity: m, event time, created time ('' if none), then m
# arguments: the field/value pairs of the non-NULL features (a NULL feature is absent).
# The pairs go to HSET as they are (unpack of an ARGV range): building tables in Lua per
# entity costs more than the HSET itself.
# Times are fixed-width text; comparing them byte by byte is comparing instants. Lua's own
# string "<" uses the server's collation locale, hence the explicit byte loop.
CMP_LUA = """
local function cmp(a, b)
  if a == b then return 0 end
  local la, lb = #a, #b
  local n = la < lb and la or lb
  for i = 1, n do
    local x, y = string.byte(a, i), string.byte(b, i)
    if x ~= y then if x < y then return -1 else return 1 end end
  end
  if la < lb then return -1 else return 1 end
end
"""
WRITE_SCRIPT = CMP_LUA + """
local written = 0
local pos = 1
for i = 1, #KEYS do
  local key = KEYS[i]
  local m = tonumber(ARGV[pos])
  local ev, cr = ARGV[pos + 1], ARGV[pos + 2]
  local s, e = pos + 3, pos + 2 + m
  pos = e + 1
  local cur = redis.call('HMGET', key, '_event_ts', '_created_ts')
  local c = 1
  if cur[1] then
    c = cmp(ev, cur[1])
    if c == 0 then c = cmp(cr, cur[2] or '') end
    if c == 0 then
      -- Same event and created time: write only if the content differs (reruns are no-ops).
      local want = 1 + m / 2
      if cr ~= '' then want = want + 1 end
      if redis.call('HLEN', key) ~= want then
        c = 1
      elseif m > 0 then
        local names = {}
        for k = s, e, 2 do names[#names + 1] = ARGV[k] end
        local old = redis.call('HMGET', key, unpack(names))
        for k = 1, #names do
          if old[k] ~= ARGV[s + 2 * k - 1] then c = 1; break end
        end
      end
    end
  end
  if c > 0 then
    -- The row is taken whole: fields that are NULL now must not survive from the old row.
    if cur[1] then redis.call('DEL', key) end
    if cr ~= '' then
      redis.call('HSET', key, '_event_ts', ev, '_created_ts', cr, unpack(ARGV, s, e))
    else
      redis.call('HSET', key, '_event_ts', ev, unpack(ARGV, s, e))
    end
    written = written + 1
  end
end
return written
"""

# KEYS[1] = an entity's row in the current generation, KEYS[2] = its row in the generation
# being built (one hash tag: one slot). Copies the first over the second when it is newer
# (the write script's order: event time, then created time). Returns 1 if it copied.
CARRY_SCRIPT = CMP_LUA + """
local src = redis.call('HGETALL', KEYS[1])
if #src == 0 then return 0 end
local ev, cr
for i = 1, #src, 2 do
  if src[i] == '_event_ts' then ev = src[i + 1] elseif src[i] == '_created_ts' then cr = src[i + 1] end
end
if not ev then return 0 end
local cur = redis.call('HMGET', KEYS[2], '_event_ts', '_created_ts')
if cur[1] then
  local c = cmp(ev, cur[1])
  if c == 0 then c = cmp(cr or '', cur[2] or '') end
  if c <= 0 then return 0 end
end
redis.call('DEL', KEYS[2])
redis.call('HSET', KEYS[2], unpack(src))
return 1
"""

# KEYS[1] = the view's _gen hash. ARGV[1] = generation to commit. Returns the old current.
COMMIT_SCRIPT = """
local building = redis.call('HGET', KEYS[1], 'building')
if building ~= ARGV[1] then
  return redis.error_reply('FSDBT generation ' .. ARGV[1] .. ' is not being built (building: '
    .. tostring(building) .. ')')
end
local old = redis.call('HGET', KEYS[1], 'current') or '0'
redis.call('HSET', KEYS[1], 'current', ARGV[1])
redis.call('HDEL', KEYS[1], 'building', 'building_since', 'building_shards', 'building_started', 'building_done')
return old
"""

# Sharded full refresh: the N shards of one run build one generation together.
# KEYS[1] = the view's _gen hash. ARGV: shard index, shard count, now, oldest building_since to join.
# Returns {generation, 1 if this shard is new to the build (its part is empty), abandoned build or ''}.
JOIN_SCRIPT = CMP_LUA + """
local b = redis.call('HGET', KEYS[1], 'building')
local n = redis.call('HGET', KEYS[1], 'building_shards')
local since = redis.call('HGET', KEYS[1], 'building_since')
if b and n == ARGV[2] and since and cmp(since, ARGV[4]) >= 0 then
  local started = redis.call('HGET', KEYS[1], 'building_started') or ''
  if string.find(',' .. started .. ',', ',' .. ARGV[1] .. ',', 1, true) then return {b, 0, ''} end
  redis.call('HSET', KEYS[1], 'building_started', started == '' and ARGV[1] or (started .. ',' .. ARGV[1]))
  return {b, 1, ''}
end
local cur = tonumber(redis.call('HGET', KEYS[1], 'current') or '0')
local new = redis.call('HINCRBY', KEYS[1], 'next', 1)
if new <= cur then
  new = cur + 1
  redis.call('HSET', KEYS[1], 'next', new)
end
redis.call('HSET', KEYS[1], 'building', new, 'building_since', ARGV[3], 'building_shards', ARGV[2],
           'building_started', ARGV[1], 'building_done', '')
return {tostring(new), 1, b or ''}
"""

# KEYS[1] = the view's _gen hash. ARGV: generation, shard index. Returns {shards done, shard count}.
FINISH_SCRIPT = """
if redis.call('HGET', KEYS[1], 'building') ~= ARGV[1] then
  return redis.error_reply('FSDBT generation ' .. ARGV[1] .. ' is not being built')
end
local done = redis.call('HGET', KEYS[1], 'building_done') or ''
if not string.find(',' .. done .. ',', ',' .. ARGV[2] .. ',', 1, true) then
  done = done == '' and ARGV[2] or (done .. ',' .. ARGV[2])
  redis.call('HSET', KEYS[1], 'building_done', done)
end
local _, commas = string.gsub(done, ',', '')
return {commas + 1, tonumber(redis.call('HGET', KEYS[1], 'building_shards'))}
"""

LOCK_SCRIPT = """
local cur = redis.call('GET', KEYS[1])
if (not cur) or cur == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
"""

UNLOCK_SCRIPT = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


def _bulk(value: bytes) -> bytes:
    return b"$%d\r\n%s\r\n" % (len(value), value)


def _command(*args: bytes) -> bytes:
    return b"*%d\r\n" % len(args) + b"".join(_bulk(a) for a in args)


def _glob_escape(text: str) -> str:
    out = []
    for ch in text:
        if ch in "*?[]\\":
            out.append("\\")
        out.append(ch)
    return "".join(out)


def key_slot(key: bytes) -> int:
    """Redis Cluster's slot of a key (CRC16/XMODEM of the hash tag, or of the whole key)."""
    start = key.find(b"{")
    if start >= 0:
        end = key.find(b"}", start + 1)
        if end > start + 1:
            key = key[start + 1:end]
    return binascii.crc_hqx(key, 0) % SLOTS


def _string_buffers(arr: pa.Array) -> list[Any]:
    """The bytes of a null-free string array, concatenated, without copying."""
    if len(arr) == 0:
        return []
    bufs = arr.buffers()
    offsets = memoryview(bufs[1]).cast("i")
    start, end = offsets[arr.offset], offsets[arr.offset + len(arr)]
    return [memoryview(bufs[2])[start:end]]


def _frag(texts: pa.Array) -> pa.Array:
    """RESP bulk strings for a string array; NULL becomes an empty bulk string."""
    size = pc.cast(pc.binary_length(texts), pa.string())
    out = pc.binary_join_element_wise("$", size, "\r\n", texts, "\r\n", "")
    return pc.fill_null(out, "$0\r\n\r\n") if out.null_count else out


def _hset_commands(key_frags: pa.Array, event: pa.Array, created: pa.Array, pairs: pa.Array,
                   counts: pa.Array) -> pa.Array:
    """Per row, the RESP of ``HSET key _event_ts E [_created_ts C] name value ...``."""
    # An absent created time arrives NULL or empty; either way the field is left out.
    present = pc.fill_null(pc.greater(pc.binary_length(created), 0), False)
    nargs = pc.cast(pc.add(pc.add(counts, pc.multiply(pc.cast(present, pa.int32()), 2)), 4), pa.string())
    created_part = pc.binary_join_element_wise(_bulk(b"_created_ts").decode(), _frag(created), "")
    created_part = pc.if_else(present, created_part, "")
    return pc.binary_join_element_wise("*", nargs, "\r\n" + _bulk(b"HSET").decode(), key_frags,
                                       _bulk(b"_event_ts").decode(), _frag(event), created_part, pairs, "")


def _pairs(view: FeatureView, values: Sequence[pa.Array]) -> tuple[pa.Array, pa.Array]:
    """Per row: the RESP of the non-NULL feature name/value pairs, and how many arguments."""
    frags: list[pa.Array] = []
    count: Any = None
    for feature, texts in zip(view.features, values):
        name = _bulk(feature.name.encode()).decode()
        size = pc.cast(pc.binary_length(texts), pa.string())
        frag = pc.binary_join_element_wise(name + "$", size, "\r\n", texts, "\r\n", "")
        valid = pc.cast(pc.is_valid(texts), pa.int32())
        count = valid if count is None else pc.add(count, valid)
        frags.append(pc.fill_null(frag, "") if frag.null_count else frag)
    n = len(values[0]) if values else 0
    if count is None:
        return pa.array([""] * n, pa.string()), pa.array([0] * n, pa.int32())
    joined = frags[0] if len(frags) == 1 else pc.binary_join_element_wise(*frags, "")
    return joined, pc.multiply(count, 2)


def _read_replies(conn: Any, count: int, out: list[Any]) -> None:
    """Append ``count`` replies read from ``conn`` to ``out``; an error reply as its exception.

    With hiredis (RESP2), replies come straight from the connection's reader: redis-py's
    ``read_response`` per reply costs more than parsing the reply. Any other parser or
    protocol takes redis-py's public path.
    """
    parser = getattr(conn, "_parser", None)
    reader = getattr(parser, "_reader", None)
    if (_HIREDIS_PARSER is None or type(parser) is not _HIREDIS_PARSER or reader is None
            or str(getattr(conn, "protocol", 2) or 2) != "2"):
        for _ in range(count):
            try:
                out.append(conn.read_response())
            except rex.ResponseError as exc:  # an error reply; the stream stays in sync
                out.append(exc)
        return
    gets, append, got = reader.gets, out.append, 0
    fill: Any = parser.read_from_socket
    while got < count:
        reply = gets()
        if reply is _NOT_ENOUGH_DATA:
            fill()
            continue
        if isinstance(reply, rex.ConnectionError):
            raise reply
        append(reply)
        got += 1


Picker = Any  # reply -> Fetched


def _picker(positions: Sequence[int]) -> Picker:
    """A function taking the values at ``positions`` of a flat HGETALL reply (-1: absent, None)."""
    if len(positions) > 1 and -1 not in positions:
        return itemgetter(*positions)

    def pick(reply: list[Any]) -> Fetched:
        return tuple(reply[p] if p >= 0 else None for p in positions)
    return pick


class _ReadShape:
    """How one ``ViewRead`` is fetched: the command per key and how a reply becomes a row.

    Rows are written whole with their fields in feature order (NULLs absent), so the replies
    of a view share a few field layouts: the last one is checked with one list compare and
    its fields picked by position, without building a dict per row.
    """

    __slots__ = ("command", "last", "pickers", "read", "tail", "wanted", "whole")

    def __init__(self, read: ViewRead) -> None:
        self.read = read
        self.wanted = tuple(n.encode() for n in (codec.EVENT_FIELD, *read.names()))
        # HMGET looks each field up by a linear scan of a small hash (listpack encoding), while
        # HGETALL walks it once: past a few fields, fetching the whole row is cheaper.
        self.whole = len(self.wanted) > HMGET_MAX_FIELDS
        verb = b"*2\r\n$7\r\nHGETALL\r\n" if self.whole else b"*%d\r\n$5\r\nHMGET\r\n" % (2 + len(self.wanted))
        self.command = verb + b"$%d\r\n%s%s}\r\n"  # % (length, "P:v1:V:g<N>:{", key)
        self.tail = b"" if self.whole else b"".join(_bulk(n) for n in self.wanted)
        self.last: tuple[list[Any], Picker] | None = None
        self.pickers: dict[tuple[Any, ...], Picker] = {}

    def row(self, reply: Any) -> Fetched | None:
        if not self.whole:
            return tuple(reply) if reply[0] is not None else None
        if not reply:
            return None
        if type(reply) is dict:  # RESP3 answers a map
            return tuple(map(reply.get, self.wanted)) if self.wanted[0] in reply else None
        last = self.last
        if last is not None and reply[0::2] == last[0]:
            return last[1](reply)  # type: ignore[no-any-return]
        names = reply[0::2]
        picker = self.pickers.get(tuple(names))
        if picker is None:
            where = {name: 2 * i + 1 for i, name in enumerate(names)}
            if self.wanted[0] not in where:
                return None  # no event time: not a row fsdbt wrote
            if len(self.pickers) >= 64:
                self.pickers.clear()
            picker = self.pickers[tuple(names)] = _picker([where.get(n, -1) for n in self.wanted])
        self.last = (names, picker)
        return picker(reply)  # type: ignore[no-any-return]


class _Pipe:
    """Raw pipelining over one connection per node, with a bound on unread replies."""

    def __init__(self, store: RedisOnlineStore) -> None:
        self._store = store
        self._conns: dict[str, tuple[Any, Any]] = {}  # node name -> (pool, connection)
        self._pending: deque[tuple[str, int]] = deque()
        self.replies: list[Any] = []

    def _conn(self, node: str) -> Any:
        if node not in self._conns:
            pool = self._store._pool(node)
            self._conns[node] = (pool, pool.get_connection())
        return self._conns[node][1]

    def send(self, node: str, data: list[Any], count: int) -> None:
        # One sendall per command batch: joining the pieces costs less than the syscalls.
        self._conn(node).send_packed_command([b"".join(data)], check_health=False)
        self._pending.append((node, count))

    def drain(self, max_pending: int = 0) -> None:
        while len(self._pending) > max_pending:
            node, count = self._pending.popleft()
            _read_replies(self._conns[node][1], count, self.replies)

    def close(self, broken: bool) -> None:
        for pool, conn in self._conns.values():
            if broken:
                conn.disconnect()
            pool.release(conn)
        self._conns.clear()


class RedisOnlineStore(OnlineStore):
    """Feature values in Redis hashes, one per entity and generation; see the module docstring."""

    def __init__(self, url: str = "redis://127.0.0.1:6379/0", *, cluster: bool = False,
                 username: str | None = None, password: str | None = None,
                 ssl_ca_certs: str | None = None, ssl_certfile: str | None = None,
                 ssl_keyfile: str | None = None, key_prefix: str = "fsdbt",
                 socket_timeout: float | None = 5.0, socket_connect_timeout: float | None = 5.0,
                 gc_grace_seconds: float = 10.0, write_chunk_rows: int = 256,
                 encode_rows: int = 4096, max_pending: int = 16) -> None:
        if not key_prefix or any(ch in key_prefix for ch in "{}") or key_prefix != key_prefix.strip():
            raise ConfigError(f"online store key_prefix {key_prefix!r} must be non-empty, without "
                              f"spaces at the ends and without '{{' or '}}' (they mark hash tags)")
        parts = urlsplit(url)
        if parts.scheme not in ("redis", "rediss"):
            raise ConfigError(f"online store url must start with redis:// or rediss://; got "
                              f"'{parts.scheme}://...'")
        self.where = f"{parts.hostname or '127.0.0.1'}:{parts.port or 6379}"
        self._secret = password or parts.password
        self.cluster = cluster
        self.prefix = key_prefix
        self.gc_grace_seconds = gc_grace_seconds
        self.write_chunk_rows = write_chunk_rows
        self.encode_rows = encode_rows
        self.max_pending = max_pending
        self._gens: dict[str, int] = {}  # last generation seen per view, for one-trip reads
        self._shapes: dict[int, _ReadShape] = {}  # per ViewRead (by identity)
        self._fresh: dict[str, int] = {}  # generations this store began and is filling
        self._lock = threading.Lock()
        self._slot_nodes: list[str] | None = None
        self._write_sha: str | None = None
        self._loaded_on: set[str] = set()
        # RESP2: redis-py 8 parses RESP3 replies several times slower (measured 6x on 100 HGETALLs).
        kwargs: dict[str, Any] = {"socket_timeout": socket_timeout, "protocol": 2,
                                  "socket_connect_timeout": socket_connect_timeout}
        if username is not None:
            kwargs["username"] = username
        if password is not None:
            kwargs["password"] = password
        if parts.scheme == "rediss":
            kwargs.update({k: v for k, v in (("ssl_ca_certs", ssl_ca_certs), ("ssl_certfile", ssl_certfile),
                                              ("ssl_keyfile", ssl_keyfile)) if v is not None})
        elif ssl_ca_certs or ssl_certfile or ssl_keyfile:
            raise ConfigError("online store: ssl_* settings need a rediss:// url")
        with self._errors("connect"):
            if cluster:
                self._client: Any = RedisCluster.from_url(url, **kwargs)
            else:
                self._client = redis.Redis.from_url(url, **kwargs)
        self._commit = self._client.register_script(COMMIT_SCRIPT)
        self._join = self._client.register_script(JOIN_SCRIPT)
        self._finish = self._client.register_script(FINISH_SCRIPT)
        self._lock_script = self._client.register_script(LOCK_SCRIPT)
        self._unlock_script = self._client.register_script(UNLOCK_SCRIPT)

    def __repr__(self) -> str:
        return f"RedisOnlineStore({self.where}, cluster={self.cluster}, key_prefix={self.prefix!r})"

    # -- errors ----------------------------------------------------------------------------
    @contextmanager
    def _errors(self, action: str) -> Iterator[None]:
        try:
            yield
        except OnlineStoreError:
            raise
        except (rex.RedisError, OSError) as exc:
            text = str(exc)
            if self._secret:
                text = text.replace(self._secret, "***")
            hint = ""
            if isinstance(exc, rex.AuthenticationError) or "WRONGPASS" in text or "NOAUTH" in text:
                hint = "; check the username and password (from the environment) of the online store"
            elif isinstance(exc, rex.NoPermissionError) or "NOPERM" in text:
                hint = "; the Redis user lacks a permission: grant it the key prefix and commands"
            elif isinstance(exc, (rex.ConnectionError, rex.TimeoutError, OSError)):
                hint = "; is the server running and reachable (url, TLS settings, firewall)?"
            raise OnlineStoreError(f"Redis at {self.where}: {action} failed: {type(exc).__name__}: "
                                   f"{text}{hint}") from None

    # -- keys ------------------------------------------------------------------------------
    def view_prefix(self, view_name: str) -> str:
        """``P:v1:V:``, the start of every key of one view."""
        return f"{self.prefix}:{LAYOUT_VERSION}:{codec.escape(view_name)}:"

    def entity_key(self, view: FeatureView, row: Mapping[str, Any], generation: int) -> str | None:
        """The Redis key of one entity row (for tools and tests)."""
        key = codec.entity_key(view, row)
        return None if key is None else f"{self.view_prefix(view.name)}g{generation}:{{{key}}}"

    def _meta_key(self, view_name: str, what: str) -> str:
        return f"{self.view_prefix(view_name)}_{what}"

    # -- nodes -----------------------------------------------------------------------------
    def _pool(self, node: str) -> Any:
        if not self.cluster:
            return self._client.connection_pool
        target = self._client.get_node(node_name=node)
        if target is None:
            raise rex.ClusterError(f"unknown cluster node {node}")
        return target.redis_connection.connection_pool

    def _node_of_slot(self, slot: int) -> str:
        if not self.cluster:
            return ""
        table = self._slot_nodes
        if table is None:
            manager = self._client.nodes_manager
            table = [manager.get_node_from_slot(s).name for s in range(SLOTS)]
            self._slot_nodes = table
        return table[slot]

    def _primaries(self) -> list[Any]:
        if not self.cluster:
            return [self._client]
        nodes: list[ClusterNode] = self._client.get_primaries()
        return [n.redis_connection for n in nodes]

    def _refresh_topology(self) -> None:
        self._slot_nodes = None
        self._loaded_on.clear()
        if self.cluster:
            self._client.nodes_manager.initialize()

    def _ensure_write_script(self) -> str:
        with self._lock:
            for client in self._primaries():
                name = client.connection_pool.connection_kwargs.get("host", "") + str(
                    client.connection_pool.connection_kwargs.get("port", ""))
                if name not in self._loaded_on:
                    self._write_sha = client.script_load(WRITE_SCRIPT)
                    self._loaded_on.add(name)
            assert self._write_sha is not None
            return self._write_sha

    # -- writes ----------------------------------------------------------------------------
    def write_batch(self, view: FeatureView, batch: pa.RecordBatch | pa.Table,
                    generation: int | None = None) -> WriteStats:
        with self._errors(f"write to view '{view.name}'"):
            if generation is None:
                return self._write_live(view, batch)
            # A generation this store began for a full refresh is empty and receives each
            # entity's latest row once: plain HSETs, no conditional script on the server.
            return self._write_retrying(view, batch, generation, fresh=self._fresh.get(view.name) == generation)

    def _write_live(self, view: FeatureView, batch: pa.RecordBatch | pa.Table) -> WriteStats:
        """A write to what readers see (a push, an incremental sync), carried into a refresh being built.

        The generation pointers are read again after writing, until no new generation shows up,
        so that a full refresh that begins or commits meanwhile still gets the rows. Keys written
        into a generation under construction are listed in ``_pushed:<gen>``: the builder's plain
        HSETs may replace them, and its commit copies the newer rows back (``_carry_pushed``).
        """
        meta = self._meta_key(view.name, "gen")
        done: set[int] = set()
        stats: WriteStats | None = None
        for _ in range(5):  # each pass follows a refresh that began or committed during the last
            current, building = self._client.hmget(meta, "current", "building")
            gens = [int(current or 0)] + ([int(building)] if building is not None else [])
            self._gens[view.name] = gens[0]
            todo = [g for g in gens if g not in done]
            if not todo:
                break
            for gen in todo:
                if building is not None and gen == int(building):
                    self._list_pushed(view, batch, gen)
                written = self._write_retrying(view, batch, gen, fresh=False)
                stats = written if stats is None else stats
                done.add(gen)
        return stats if stats is not None else WriteStats()

    def _list_pushed(self, view: FeatureView, batch: pa.RecordBatch | pa.Table, gen: int) -> None:
        listed = self._meta_key(view.name, f"pushed:{gen}")
        for part in as_batches(batch, 1000):
            keys = [k for k in codec.key_array(view, part).to_pylist() if k is not None]
            if keys:
                self._client.sadd(listed, *keys)

    def _write_retrying(self, view: FeatureView, batch: pa.RecordBatch | pa.Table, gen: int,
                        fresh: bool) -> WriteStats:
        total = 0
        written = 0
        for attempt in range(3):
            sha = "" if fresh else self._ensure_write_script()
            try:
                written_now, total = self._write(view, batch, gen, sha, fresh=fresh)
                written += written_now
                break
            except (rex.NoScriptError, rex.MovedError, rex.AskError, rex.ClusterDownError,
                    rex.TryAgainError) as exc:
                # Writes are conditional and so idempotent: rerunning the batch is safe.
                written += getattr(exc, "fsdbt_written", 0)
                if attempt == 2:
                    raise
                self._refresh_topology()
        return WriteStats(written, total - written)

    def _write(self, view: FeatureView, data: pa.RecordBatch | pa.Table, gen: int,
               sha: str, *, fresh: bool = False) -> tuple[int, int]:
        key_head = f"{self.view_prefix(view.name)}g{gen}:{{"
        head_len = len(key_head.encode()) + 1  # plus the closing brace
        pipe = _Pipe(self)
        total = 0
        broken = True
        step = self.write_chunk_rows
        try:
            # Encode a large slice at once (each Arrow compute call has a fixed cost), then cut
            # it into small scripts so that no single script blocks the server for long.
            for batch in as_batches(data, self.encode_rows):
                total += len(batch)
                keys, event, created, values = codec.encoded_columns(view, batch)
                mask = codec.usable_rows(keys, event)
                if mask is not None:
                    keys, event, created = keys.filter(mask), event.filter(mask), created.filter(mask)
                    values = [v.filter(mask) for v in values]
                if len(keys) == 0:
                    continue
                key_len = pc.cast(pc.add(pc.binary_length(keys), head_len), pa.string())
                key_frags = pc.binary_join_element_wise("$", key_len, "\r\n" + key_head, keys, "}\r\n", "")
                pairs, counts = _pairs(view, values)
                if fresh:
                    cmds = _hset_commands(key_frags, event, created, pairs, counts)
                    if self.cluster:
                        for start in range(0, len(keys), step * 8):
                            self._send_by_node(pipe, cmds.slice(start, step * 8), keys.slice(start, step * 8))
                            pipe.drain(self.max_pending)
                    else:
                        for start in range(0, len(keys), step * 8):
                            part = cmds.slice(start, step * 8)
                            pipe.send("", _string_buffers(part), len(part))
                            pipe.drain(self.max_pending)
                    continue
                m = pc.cast(counts, pa.string())
                args = pc.binary_join_element_wise("$", pc.cast(pc.binary_length(m), pa.string()), "\r\n",
                                                   m, "\r\n", _frag(event), _frag(created), pairs, "")
                if self.cluster:
                    # One script per entity (a script's keys must share a slot), routed by slot.
                    nargs = pc.cast(pc.add(counts, 7), pa.string())
                    cmds = pc.binary_join_element_wise(
                        "*", nargs, "\r\n" + (_bulk(b"EVALSHA") + _bulk(sha.encode()) + _bulk(b"1")).decode(),
                        key_frags, args, "")
                    for start in range(0, len(keys), step * 8):
                        self._send_by_node(pipe, cmds.slice(start, step * 8), keys.slice(start, step * 8))
                        pipe.drain(self.max_pending)
                    continue
                for start in range(0, len(keys), step):
                    n = min(step, len(keys) - start)
                    n_args = 3 + n + 3 * n + int(pc.sum(counts.slice(start, n)).as_py() or 0)
                    head = b"*%d\r\n" % n_args + _bulk(b"EVALSHA") + _bulk(sha.encode()) + \
                        _bulk(str(n).encode())
                    body = [head, *_string_buffers(key_frags.slice(start, n)),
                            *_string_buffers(args.slice(start, n))]
                    pipe.send("", body, 1)
                    pipe.drain(self.max_pending)
            pipe.drain(0)
            broken = False
        finally:
            pipe.close(broken)
        written = 0
        first_error: Exception | None = None
        for reply in pipe.replies:
            if isinstance(reply, Exception):
                first_error = first_error or reply
            else:
                written += 1 if fresh else int(reply)  # HSET answers with a field count
        if first_error is not None:
            first_error.fsdbt_written = written  # type: ignore[attr-defined]
            raise first_error
        return written, total

    def _send_by_node(self, pipe: _Pipe, cmds: pa.Array, tags: pa.Array) -> None:
        nodes = [self._node_of_slot(binascii.crc_hqx(t.encode(), 0) % SLOTS) for t in tags.to_pylist()]
        by_node: dict[str, list[int]] = {}
        for i, node in enumerate(nodes):
            by_node.setdefault(node, []).append(i)
        for node, rows in by_node.items():
            part = cmds.take(pa.array(rows, pa.int32()))
            pipe.send(node, _string_buffers(part), len(rows))

    # -- generations -----------------------------------------------------------------------
    def current_generation(self, view_name: str) -> int:
        with self._errors(f"read the generation of view '{view_name}'"):
            raw = self._client.hget(self._meta_key(view_name, "gen"), "current")
        gen = int(raw) if raw is not None else 0
        self._gens[view_name] = gen
        return gen

    def begin_refresh(self, view: FeatureView) -> int:
        with self._errors(f"begin a full refresh of view '{view.name}'"):
            meta_key = self._meta_key(view.name, "gen")
            current = self.current_generation(view.name)
            # An abandoned build (begun, never committed) is unreadable: delete it now. Only a
            # build leaves 'building' behind, so without it there is nothing to scan for;
            # superseded generations were already set to expire by their commit.
            abandoned = self._client.hget(meta_key, "building")
            if abandoned is not None:
                self._drop_build(view.name, int(abandoned), current)
            new = int(self._client.hincrby(meta_key, "next", 1))
            if new <= current:
                new = current + 1
                self._client.hset(meta_key, "next", new)
            self._client.hset(meta_key, mapping={
                "building": new, "building_since": codec.format_timestamp(datetime.now(timezone.utc))})
            self._client.hdel(meta_key, "building_shards", "building_started", "building_done")
            self._fresh[view.name] = new
            return new

    def join_refresh(self, view: FeatureView, shard: int, shards: int, stale_after: timedelta) -> tuple[int, bool]:
        with self._errors(f"join the sharded full refresh of view '{view.name}'"):
            now = datetime.now(timezone.utc)
            gen_text, new_part, abandoned = self._join(
                keys=[self._meta_key(view.name, "gen")],
                args=[shard, shards, codec.format_timestamp(now), codec.format_timestamp(now - stale_after)])
            gen = int(gen_text)
            if abandoned not in (b"", "", None):
                self._drop_build(view.name, int(abandoned), self.current_generation(view.name), keep=gen)
            if new_part:
                self._fresh[view.name] = gen  # disjoint parts: this shard's is empty, plain HSETs fill it
            else:
                self._fresh.pop(view.name, None)  # a retried part holds rows already: conditional writes
            return gen, bool(new_part)

    def finish_shard(self, view: FeatureView, generation: int, shard: int) -> tuple[int, int]:
        with self._errors(f"finish shard {shard} of the full refresh of view '{view.name}'"):
            done, count = self._gen_script(self._finish, view.name, [generation, shard],
                                           "a full refresh without --shard, or a newer sharded one, replaced "
                                           "it: run this shard again")
            self._fresh.pop(view.name, None)
            return int(done), int(count)

    def commit_refresh(self, view: FeatureView, generation: int) -> int:
        with self._errors(f"commit generation {generation} of view '{view.name}'"):
            self._carry_pushed(view.name, generation)
            old = int(self._gen_script(self._commit, view.name, [generation],
                                       "another refresh replaced it, or begin_refresh was not called"))
            self._gens[view.name] = generation
            self._fresh.pop(view.name, None)
            self._client.delete(self._meta_key(view.name, f"pushed:{generation}"))
            return self._collect(view.name, lambda g: g == old)

    def discard_abandoned_refresh(self, view: FeatureView) -> int:
        with self._errors(f"remove an abandoned refresh of view '{view.name}'"):
            meta_key = self._meta_key(view.name, "gen")
            abandoned, sharded = self._client.hmget(meta_key, "building", "building_shards")
            if abandoned is None or sharded is not None:
                return 0  # a sharded build's shards hold their own locks, not the view's: leave it to them
            removed = self._drop_build(view.name, int(abandoned), self.current_generation(view.name))
            self._client.hdel(meta_key, "building", "building_since")
            self._fresh.pop(view.name, None)
            return removed

    def _gen_script(self, script: Any, view_name: str, args: list[Any], why: str) -> Any:
        """Run a script on the view's ``_gen`` hash; its FSDBT error becomes one naming the view and ``why``."""
        try:
            return script(keys=[self._meta_key(view_name, "gen")], args=args)
        except rex.ResponseError as exc:
            if "FSDBT" in str(exc):
                raise OnlineStoreError(f"view '{view_name}': {str(exc).replace('FSDBT ', '')}; {why}") from None
            raise

    def _drop_build(self, view_name: str, building: int, current: int, keep: int | None = None) -> int:
        """Remove a build nobody reads (every generation newer than ``current`` but ``keep``) and its
        list of live-written keys; returns keys removed."""
        removed = self._collect(view_name, lambda g: g > current and g != keep)
        self._client.delete(self._meta_key(view_name, f"pushed:{building}"))
        return removed

    def _carry_pushed(self, view_name: str, generation: int) -> int:
        """Copy rows written live during the build into it where they are newer; returns rows copied.

        Runs before the flip. Live writes after it go into both generations conditionally (the
        build writes nothing more), so nothing written during the build is lost at the flip.
        """
        listed = self._meta_key(view_name, f"pushed:{generation}")
        current = self.current_generation(view_name)
        copied = 0
        keys: list[bytes] = []
        for member in self._client.sscan_iter(listed, count=1000):
            keys.append(member if isinstance(member, bytes) else str(member).encode())
            if len(keys) >= 1000:
                copied += self._carry(view_name, current, generation, keys)
                keys = []
        if keys:
            copied += self._carry(view_name, current, generation, keys)
        return copied

    def _carry(self, view_name: str, source: int, target: int, keys: list[bytes]) -> int:
        prefix = self.view_prefix(view_name).encode()
        script = CARRY_SCRIPT.encode()
        for attempt in range(3):
            cmds: list[bytes] = []
            nodes: list[str] | None = [] if self.cluster else None
            for key in keys:
                src = b"%sg%d:{%s}" % (prefix, source, key)
                cmds.append(_command(b"EVAL", script, b"2", src, b"%sg%d:{%s}" % (prefix, target, key)))
                if nodes is not None:
                    nodes.append(self._node_of_slot(key_slot(src)))
            try:
                replies = self._roundtrip(cmds, nodes)
            except rex.TryAgainError:
                if attempt == 2:
                    raise
                continue  # the cluster moved slots: regroup by node
            for reply in replies:
                if isinstance(reply, Exception):
                    raise reply
            return sum(int(r) for r in replies)
        return 0

    def _collect(self, view_name: str, doomed: Any) -> int:
        """Remove generations for which ``doomed(gen)`` holds: unlink newer, expire older."""
        current = self._gens.get(view_name, 0)
        prefix = self.view_prefix(view_name).encode()
        count = 0
        unlink: list[bytes] = []
        expire: list[bytes] = []
        for key in self._scan(_glob_escape(prefix.decode()) + "g*"):
            gen_text = key[len(prefix) + 1:].split(b":", 1)[0]
            if not gen_text.isdigit() or not doomed(int(gen_text)):
                continue
            # A superseded generation gets a short expiry rather than an UNLINK, so that a
            # reader that saw the old pointer a moment ago still finds the old rows. A build
            # that was never committed was never read: it goes at once.
            (expire if int(gen_text) < current and self.gc_grace_seconds > 0 else unlink).append(key)
            if len(unlink) + len(expire) >= 1000:
                count += self._remove(unlink, expire)
                unlink, expire = [], []
        return count + self._remove(unlink, expire)

    def _remove(self, unlink: list[bytes], expire: list[bytes]) -> int:
        if not unlink and not expire:
            return 0
        pipe = self._client.pipeline(transaction=False)
        for key in unlink:
            pipe.unlink(key)
        for key in expire:
            pipe.pexpire(key, int(self.gc_grace_seconds * 1000))
        pipe.execute()
        return len(unlink) + len(expire)

    def _scan(self, pattern: str) -> Iterator[bytes]:
        for client in self._primaries():
            yield from client.scan_iter(match=pattern, count=1000)

    # -- state and lock --------------------------------------------------------------------
    def get_state(self, view_name: str) -> dict[str, Any] | None:
        with self._errors(f"read the state of view '{view_name}'"):
            raw = self._client.get(self._meta_key(view_name, "state"))
        return None if raw is None else dict(json.loads(raw))

    def set_state(self, view_name: str, state: Mapping[str, Any]) -> None:
        text = json.dumps(dict(state), sort_keys=True, default=str)
        with self._errors(f"store the state of view '{view_name}'"):
            self._client.set(self._meta_key(view_name, "state"), text)

    def acquire_lock(self, view_name: str, owner: str, ttl_seconds: float) -> bool:
        with self._errors(f"take the lock of view '{view_name}'"):
            got = self._lock_script(keys=[self._meta_key(view_name, "lock")],
                                    args=[owner, max(1, int(ttl_seconds * 1000))])
        return bool(got)

    def release_lock(self, view_name: str, owner: str) -> bool:
        with self._errors(f"release the lock of view '{view_name}'"):
            return bool(self._unlock_script(keys=[self._meta_key(view_name, "lock")], args=[owner]))

    def lock_holder(self, view_name: str) -> str | None:
        with self._errors(f"read the lock of view '{view_name}'"):
            raw = self._client.get(self._meta_key(view_name, "lock"))
        return None if raw is None else raw.decode() if isinstance(raw, bytes) else str(raw)

    # -- reads -----------------------------------------------------------------------------
    def read(self, view_reads: Iterable[ViewRead], entity_rows: Sequence[Mapping[str, Any]],
             now: datetime | None = None, *, full_feature_names: bool = False) -> OnlineResult:
        plan = plan_read(view_reads, entity_rows, full_feature_names)
        now = codec.as_utc(now)
        with self._errors("read online features"):
            fetched = self._fetch(plan.reads, plan.keys)
        return assemble(plan, fetched, now, raw_bytes=True)

    def _shape(self, read: ViewRead) -> _ReadShape:
        shape = self._shapes.get(id(read))
        if shape is None or shape.read is not read:
            if len(self._shapes) >= 1024:  # reads are few per request shape; bound it anyway
                self._shapes.clear()
            shape = self._shapes[id(read)] = _ReadShape(read)
        return shape

    def _fetch(self, reads: Sequence[ViewRead],
               keys: Sequence[Sequence[str | None]]) -> list[list[Fetched | None]]:
        shapes = [self._shape(r) for r in reads]
        view_names = [r.view.name for r in reads]
        gens = [self._gens.get(v, 0) for v in view_names]
        for _ in range(5):
            # Data first, generation pointers last: a pointer that still equals the generation
            # read proves the rows came from one committed generation (see docs/redis-layout.md).
            cmds: list[bytes] = []
            order: list[tuple[int, int]] = []  # (read index, row index) per command
            nodes: list[str] | None = [] if self.cluster else None  # the node of each command
            for i, (view_name, gen, shape) in enumerate(zip(view_names, gens, shapes)):
                head = f"{self.view_prefix(view_name)}g{gen}:{{".encode()
                size, command, tail = len(head) + 1, shape.command, shape.tail
                for j, key in enumerate(keys[i]):
                    if key is not None:
                        kb = key.encode()
                        cmds.append(command % (size + len(kb), head, kb) + tail)
                        order.append((i, j))
                        if nodes is not None:
                            nodes.append(self._node_of_slot(key_slot(head + kb + b"}")))
            for view_name in view_names:
                gen_key = self._meta_key(view_name, "gen").encode()
                cmds.append(_command(b"HGET", gen_key, b"current"))
                if nodes is not None:
                    nodes.append(self._node_of_slot(key_slot(gen_key)))
            try:
                replies = self._roundtrip(cmds, nodes)
            except rex.TryAgainError:
                continue  # the cluster moved slots: regroup the keys by node
            out: list[list[Fetched | None]] = [[None] * len(k) for k in keys]
            for (i, j), reply in zip(order, replies):
                if isinstance(reply, Exception):
                    raise reply
                out[i][j] = shapes[i].row(reply)
            seen = []
            for reply in replies[len(order):]:
                if isinstance(reply, Exception):
                    raise reply
                seen.append(int(reply) if reply is not None else 0)
            for v, g in zip(view_names, seen):
                self._gens[v] = g
            if seen == gens:
                return out
            gens = seen
        raise OnlineStoreError(f"the generation of views {', '.join(view_names)} changed five times during "
                               f"one read; is a full refresh running in a loop?")

    def _roundtrip(self, cmds: list[bytes], nodes: list[str] | None) -> list[Any]:
        """Send ``cmds`` pipelined (to ``nodes[k]`` each, on a cluster) and return the replies in order."""
        per_node: dict[str, list[int]] = {}
        if nodes is None:
            per_node[""] = list(range(len(cmds)))
        else:
            for k, node in enumerate(nodes):
                per_node.setdefault(node, []).append(k)
        pipe = _Pipe(self)
        broken = True
        replies: list[Any] = [None] * len(cmds)
        try:
            if nodes is None:
                pipe.send("", cmds, len(cmds))
            else:
                for node, where in per_node.items():
                    pipe.send(node, [cmds[k] for k in where], len(where))
            for where in per_node.values():  # drain in send order: one node at a time
                pipe.replies = []
                pipe.drain(len(pipe._pending) - 1)
                if nodes is None:
                    replies = pipe.replies
                else:
                    for k, reply in zip(where, pipe.replies):
                        replies[k] = reply
            broken = False
        finally:
            pipe.close(broken)
        if nodes is not None and any(isinstance(r, (rex.MovedError, rex.AskError)) for r in replies):
            self._refresh_topology()
            # The node names changed: the caller's grouping is stale, so regroup by slot.
            raise rex.TryAgainError("cluster topology changed during a read; retry")
        return replies

    # -- teardown, health ------------------------------------------------------------------
    def teardown(self, view_name: str) -> int:
        with self._errors(f"delete view '{view_name}'"):
            shards = self.view_prefix(view_name + SHARD_MARK)[:-1]  # the sharded syncs' state and locks
            deleted = 0
            batch: list[bytes] = []
            for pattern in (self.view_prefix(view_name), shards):
                for key in self._scan(_glob_escape(pattern) + "*"):
                    batch.append(key)
                    if len(batch) >= 1000:
                        deleted += self._unlink(batch)
                        batch = []
            if batch:
                deleted += self._unlink(batch)
            self._gens.pop(view_name, None)
            return deleted

    def _unlink(self, keys: list[bytes]) -> int:
        pipe = self._client.pipeline(transaction=False)
        for key in keys:
            pipe.unlink(key)
        return sum(int(r) for r in pipe.execute())

    def ping(self) -> bool:
        with self._errors("ping"):
            started = time.monotonic()
            ok = bool(self._client.ping())
            self.last_ping_ms = (time.monotonic() - started) * 1000
            return ok

    def close(self) -> None:
        self._client.close()
