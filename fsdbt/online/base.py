"""The online store interface, its result types, and the read semantics every store shares.

A store keeps the latest row per entity of each feature view. Reads at ``now`` return what
the point-in-time join would return for a spine row at ``now``: a value per feature with a
status (present, NULL in a present row, not found, outside the view's ttl) and the row's
event time.
"""

from __future__ import annotations

import abc
import enum
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from fsdbt.definitions import FeatureView
from fsdbt.dtypes import DType
from fsdbt.errors import OnlineStoreError, did_you_mean, one_of
from fsdbt.online import codec

if TYPE_CHECKING:
    import pandas


# A sharded sync keeps its state and lock under the view's name + SHARD_MARK + "<i>of<N>".
SHARD_MARK = "#shard"


class FieldStatus(str, enum.Enum):
    """The status of one value in an online read (Feast's names)."""

    PRESENT = "PRESENT"
    NULL_VALUE = "NULL_VALUE"
    NOT_FOUND = "NOT_FOUND"
    OUTSIDE_MAX_AGE = "OUTSIDE_MAX_AGE"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class WriteStats:
    """Rows written (inserted or replaced) and skipped (older, identical, or without key/time)."""

    written: int = 0
    skipped: int = 0

    def __add__(self, other: WriteStats) -> WriteStats:
        return WriteStats(self.written + other.written, self.skipped + other.skipped)


@dataclass(frozen=True)
class ViewRead:
    """Which features of one view a read wants (``features=None``: all of them).

    What a read needs that does not depend on the entity rows (checked names, types, the key
    function) is worked out once per ``ViewRead``; callers that read the
    same shape again (``FeatureStore`` caches them per request shape) pay for it once.
    """

    view: FeatureView
    features: tuple[str, ...] | None = None

    def names(self) -> tuple[str, ...]:
        return self._names

    @cached_property
    def _names(self) -> tuple[str, ...]:
        if self.features is None:
            return self.view.feature_names
        known = self.view.feature_names
        for name in self.features:
            if name not in known:
                raise OnlineStoreError(f"feature view '{self.view.name}' has no feature '{name}'"
                                       f"{did_you_mean(name, known)}; features: {one_of(known)}")
        return tuple(self.features)

    @cached_property
    def dtypes(self) -> tuple[DType, ...]:
        by_name = {f.name: f.dtype for f in self.view.features}
        return tuple(by_name[n] for n in self._names)

    @cached_property
    def key_of(self) -> Callable[[Mapping[str, Any]], str | None]:
        """Entity row -> the view's key text (None: a NULL key); see :func:`codec.key_function`."""
        return codec.key_function(self.view)


@dataclass
class FeatureColumn:
    """One output column: the values of one feature for every entity row."""

    name: str
    view: str
    feature: str
    dtype: DType
    values: list[Any] = field(default_factory=list)
    statuses: list[FieldStatus] = field(default_factory=list)
    event_timestamps: list[datetime | None] = field(default_factory=list)


_ARROW_TYPES: dict[DType, pa.DataType] = {
    DType.INT: pa.int64(),
    DType.FLOAT: pa.float64(),
    DType.STRING: pa.string(),
    DType.BOOL: pa.bool_(),
    DType.TIMESTAMP: pa.timestamp("us", tz="UTC"),
    DType.DATE: pa.date32(),
    DType.UNKNOWN: pa.string(),
}


@dataclass
class OnlineResult:
    """The answer to an online read: join keys as coerced, then one column per feature."""

    entity_columns: dict[str, list[Any]]
    columns: list[FeatureColumn]

    def __len__(self) -> int:
        if self.columns:
            return len(self.columns[0].values)
        return len(next(iter(self.entity_columns.values()), []))

    @property
    def feature_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def to_dict(self) -> dict[str, list[Any]]:
        """Column name -> values, join keys first (a value outside max age or not found is None)."""
        out = {k: list(v) for k, v in self.entity_columns.items()}
        for col in self.columns:
            out[col.name] = list(col.values)
        return out

    @property
    def statuses(self) -> dict[str, list[FieldStatus]]:
        return {c.name: list(c.statuses) for c in self.columns}  # copies: columns may share lists

    @property
    def event_timestamps(self) -> dict[str, list[datetime | None]]:
        return {c.name: list(c.event_timestamps) for c in self.columns}

    def to_arrow(self) -> pa.Table:
        arrays: dict[str, pa.Array] = {k: pa.array(v) for k, v in self.entity_columns.items()}
        for col in self.columns:
            dtype = _ARROW_TYPES.get(col.dtype)
            arrays[col.name] = pa.array(col.values, dtype) if dtype is not None else pa.array(col.values)
        return pa.table(arrays)

    def to_pandas(self) -> pandas.DataFrame:
        return self.to_arrow().to_pandas()


# One fetched row: the stored event-time text, then the stored text of each requested
# feature in request order (None: NULL). Texts are bytes from Redis, str from SQLite.
# A row that was not found is None instead.
Fetched = tuple[Any, ...]


@dataclass(frozen=True)
class ReadPlan:
    """A read, resolved: per view the features wanted and every entity row's key text."""

    reads: tuple[ViewRead, ...]
    names: tuple[tuple[str, ...], ...]  # features per read
    keys: tuple[Sequence[str | None], ...]  # per read, per entity row (None: a NULL key)
    entity_columns: dict[str, list[Any]]
    output_names: tuple[tuple[str, ...], ...]


def plan_read(view_reads: Iterable[ViewRead], entity_rows: Sequence[Mapping[str, Any]],
              full_feature_names: bool = False) -> ReadPlan:
    """Check a read and compute every key; raises with the missing join key or clashing name."""
    reads = tuple(view_reads)
    join_keys: list[str] = []
    for r in reads:
        for k in r.view.entities:
            if k not in join_keys:
                join_keys.append(k)
    codec.row_dicts(join_keys, entity_rows)
    names = tuple(r.names() for r in reads)
    output: list[tuple[str, ...]] = []
    seen: dict[str, str] = {}
    for r, feats in zip(reads, names):
        outs = tuple(f"{r.view.name}__{f}" if full_feature_names else f for f in feats)
        for out in outs:
            if out in seen or out in join_keys:
                where = seen.get(out, "the join keys")
                raise OnlineStoreError(f"output column '{out}' of view '{r.view.name}' clashes with "
                                       f"{where}; ask for full feature names (view__feature)")
            seen[out] = f"view '{r.view.name}'"
        output.append(outs)
    keys = tuple(list(map(r.key_of, entity_rows)) for r in reads)
    entity_columns: dict[str, list[Any]] = {}
    for k in join_keys:
        view = next(r.view for r in reads if k in r.view.entities)
        dtype = view.column(k).dtype if any(c.name == k for c in view.columns) else DType.UNKNOWN
        if dtype == DType.INT:  # the keys above were checked already: only coerce what is not an int
            entity_columns[k] = [v if type(v) is int else _typed_key(v, dtype, k)
                                 for v in (row.get(k) for row in entity_rows)]
        else:
            entity_columns[k] = [row.get(k) for row in entity_rows]
    return ReadPlan(reads, names, keys, entity_columns, tuple(output))


def _typed_key(value: Any, dtype: DType, column: str) -> Any:
    if value is None or dtype != DType.INT:
        return value
    return int(codec.key_text(value, dtype, column) or 0)


def assemble(plan: ReadPlan, fetched: Sequence[Sequence[Fetched | None]], now: datetime,
             raw_bytes: bool = False) -> OnlineResult:
    """Apply ttl and decode: ``fetched[i][j]`` is view read i, entity row j (None: not found).

    ``raw_bytes`` says the stored texts arrive as bytes (Redis) rather than str (SQLite).
    """
    present, null, missing, stale = (FieldStatus.PRESENT, FieldStatus.NULL_VALUE, FieldStatus.NOT_FOUND,
                                     FieldStatus.OUTSIDE_MAX_AGE)
    decoders = codec.BYTES_DECODERS if raw_bytes else codec.DECODERS
    parse = codec.parse_timestamp
    columns: list[FeatureColumn] = []
    for r, feats, outs, rows in zip(plan.reads, plan.names, plan.output_names, fetched):
        cutoff: Any = codec.ttl_cutoff(r.view.ttl, now)
        if cutoff is not None and raw_bytes:
            cutoff = cutoff.encode()
        # Byte order of the fixed-width text is time order; the ttl edge is inclusive.
        if cutoff is None:
            row_status = [missing if row is None else present for row in rows]
        else:
            row_status = [missing if row is None else present if row[0] >= cutoff else stale for row in rows]
        events = [None if row is None else parse(row[0]) for row in rows]
        blanked = missing in row_status or stale in row_status
        if blanked:
            blank = (None,) * (len(feats) + 1)
            rows = [row if st is present else blank for row, st in zip(rows, row_status)]
        # Transposing in C and mapping the decoder over whole columns keeps this loop cheap.
        by_feature = list(zip(*rows))[1:] if rows else [() for _ in feats]
        for name, out, dtype, raws in zip(feats, outs, r.dtypes, by_feature):
            decode = decoders[dtype]
            # all() is a cheap first test (only None and empty texts are false).
            if all(raws) or None not in raws:
                values, statuses = list(map(decode, raws)), row_status
            else:
                values = [None if raw is None else decode(raw) for raw in raws]
                statuses = ([null if raw is None else present for raw in raws] if not blanked else
                            [null if st is present and raw is None else st for st, raw in zip(row_status, raws)])
            columns.append(FeatureColumn(out, r.view.name, name, dtype, values, statuses, events))
    return OnlineResult(plan.entity_columns, columns)


class OnlineStore(abc.ABC):
    """Latest row per entity of each feature view, with generations for full refreshes.

    Every method is safe to call from several threads.
    """

    @abc.abstractmethod
    def write_batch(self, view: FeatureView, batch: pa.RecordBatch | pa.Table,
                    generation: int | None = None) -> WriteStats:
        """Conditional upsert of ``batch`` into ``generation`` (None: the current one).

        Per entity, a row replaces the stored one iff its event time is later, or equal with a
        later created time, or both equal and its content differs. The row is taken whole.
        Rows with a NULL key or NULL event time are skipped.
        """

    @abc.abstractmethod
    def current_generation(self, view_name: str) -> int:
        """The generation readers see (0 before the first full refresh)."""

    @abc.abstractmethod
    def begin_refresh(self, view: FeatureView) -> int:
        """Start a full refresh: clean abandoned generations and return a new, empty one.

        The caller should hold the view's lock: two refreshes of one view must not overlap.
        """

    @abc.abstractmethod
    def commit_refresh(self, view: FeatureView, generation: int) -> int:
        """Make ``generation`` current at once, then remove the previous one.

        Returns the number of old keys (rows) removed or scheduled for removal.
        """

    @abc.abstractmethod
    def join_refresh(self, view: FeatureView, shard: int, shards: int, stale_after: timedelta) -> tuple[int, bool]:
        """Join, or begin, the full refresh that the ``shards`` sharded syncs of a view build together.

        A build for the same number of shards begun less than ``stale_after`` ago is joined;
        otherwise a new one begins (an older build is abandoned and removed). Returns the
        generation, and whether this shard is new to the build (its part of it is empty).
        """

    @abc.abstractmethod
    def finish_shard(self, view: FeatureView, generation: int, shard: int) -> tuple[int, int]:
        """Record that ``shard`` wrote its part of ``generation``; returns (shards done, shards).

        The caller commits the generation (``commit_refresh``) when all are done. Raises
        OnlineStoreError when the generation is no longer being built.
        """

    @abc.abstractmethod
    def discard_abandoned_refresh(self, view: FeatureView) -> int:
        """Remove a refresh that was begun and never committed (its builder died); returns rows removed.

        Only for a caller that holds the view's lock: a live builder holds it for the whole build.
        """

    @abc.abstractmethod
    def get_state(self, view_name: str) -> dict[str, Any] | None:
        """The JSON state the sync stored with the view (None if none)."""

    @abc.abstractmethod
    def set_state(self, view_name: str, state: Mapping[str, Any]) -> None:
        """Store a JSON-serializable state with the view (watermarks and the like)."""

    @abc.abstractmethod
    def acquire_lock(self, view_name: str, owner: str, ttl_seconds: float) -> bool:
        """Take (or extend, for the same owner) the view's lock; False if someone else holds it."""

    @abc.abstractmethod
    def release_lock(self, view_name: str, owner: str) -> bool:
        """Release the lock if ``owner`` holds it; returns whether it did."""

    def lock_holder(self, view_name: str) -> str | None:
        """The owner of the view's unexpired lock (None: free, or the store cannot tell)."""
        return None

    @abc.abstractmethod
    def read(self, view_reads: Iterable[ViewRead], entity_rows: Sequence[Mapping[str, Any]],
             now: datetime | None = None, *, full_feature_names: bool = False) -> OnlineResult:
        """Online features for ``entity_rows`` as of ``now`` (default: the current time)."""

    @abc.abstractmethod
    def teardown(self, view_name: str) -> int:
        """Delete everything of one view (all generations, state, lock, and the state and lock of
        each shard, kept under ``<view><SHARD_MARK>...``); returns keys deleted."""

    @abc.abstractmethod
    def ping(self) -> bool:
        """True when the store answers; raises OnlineStoreError saying why when it does not."""

    @abc.abstractmethod
    def close(self) -> None:
        """Release connections."""

    def __enter__(self) -> OnlineStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def as_batches(data: pa.RecordBatch | pa.Table, max_rows: int) -> Iterable[pa.RecordBatch]:
    """Slices of at most ``max_rows`` rows, so memory stays bounded whatever the caller passes."""
    batches = data.to_batches(max_chunksize=max_rows) if isinstance(data, pa.Table) else [data]
    for batch in batches:
        for start in range(0, len(batch), max_rows):
            yield batch.slice(start, max_rows)
