"""Text encoding shared by every online store: entity keys, feature values, timestamps.

Values are stored as text so that any client can read them (see ``docs/redis-layout.md``):
ints in decimal, floats as their shortest round-trip text, decimals with their scale,
strings as UTF-8, bools as ``true``/``false``, timestamps as fixed-width ISO-8601 UTC with
microseconds (``2024-01-02T03:04:05.000006Z``), dates as ``2024-01-02``.

The fixed width of the timestamp text is what makes byte order equal time order, so the
conditional upsert compares event times as plain strings (in Lua and in SQLite).
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from fsdbt.definitions import FeatureView
from fsdbt.dtypes import DType
from fsdbt.errors import FsdbtError, OnlineStoreError, a_or_an

EVENT_FIELD = "_event_ts"
CREATED_FIELD = "_created_ts"
RESERVED_FIELDS = (EVENT_FIELD, CREATED_FIELD)

# Characters that would make a key ambiguous: the escape itself, the hash-tag braces and
# the separator between segments and between the values of a composite key.
_ESCAPES = (("%", "%25"), ("{", "%7B"), ("}", "%7D"), (":", "%3A"))
_ISO_Z = sys.version_info >= (3, 11)  # datetime.fromisoformat reads a trailing "Z" as UTC
TS_FORMAT = "%Y-%m-%dT%H:%M:%S"  # Arrow's %S carries the fraction of the unit (µs here)


class EntityKeyError(FsdbtError, ValueError):
    """An entity row is missing a join key, or a key value cannot be read as the key's type."""

    exit_code = 2


# -- entity keys ----------------------------------------------------------------------------

def escape(text: str) -> str:
    """Percent-escape ``%``, ``{``, ``}`` and ``:`` so that a key segment is unambiguous.

    >>> escape("a:b{c}%")
    'a%3Ab%7Bc%7D%25'
    """
    for raw, esc in _ESCAPES:
        if raw in text:
            text = text.replace(raw, esc)
    return text


def escape_array(arr: pa.Array) -> pa.Array:
    """:func:`escape` over a string array, vectorized."""
    for raw, esc in _ESCAPES:
        arr = pc.replace_substring(arr, raw, esc)
    return arr


def format_timestamp(value: datetime) -> str:
    """Fixed-width ISO-8601 UTC text; a naive datetime means UTC."""
    if value.tzinfo is not None:
        value = value.astimezone(timezone.utc).replace(tzinfo=None)
    return value.strftime("%Y-%m-%dT%H:%M:%S.%f") + "Z"


def parse_timestamp(text: str | bytes) -> datetime:
    """Read stored timestamp text (``...Z``, or with an offset) as an aware UTC datetime."""
    if isinstance(text, bytes):
        text = text.decode()
    if text[-1:] == "Z":  # what fsdbt writes; read with the offset (replace(tzinfo=) costs 5x more)
        return datetime.fromisoformat(text if _ISO_Z else text[:-1] + "+00:00")
    value = datetime.fromisoformat(text)
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def key_text(value: Any, dtype: DType, column: str) -> str | None:
    """The canonical text of one join-key value, coerced by the key column's type.

    Returns None for a NULL key (which matches nothing, as in the point-in-time join).
    Raises :class:`EntityKeyError` naming ``column`` when the value cannot have that type.
    """
    if value is None:
        return None
    try:
        if dtype == DType.INT or (dtype == DType.UNKNOWN and isinstance(value, int)
                                  and not isinstance(value, bool)):
            return str(_as_int(value))
        if dtype == DType.STRING:
            return value if isinstance(value, str) else _generic_text(value)
        if dtype == DType.DATE:
            if isinstance(value, datetime):
                return value.date().isoformat()
            return (value if isinstance(value, date) else date.fromisoformat(str(value))).isoformat()
        if dtype == DType.TIMESTAMP:
            if isinstance(value, str):
                value = datetime.fromisoformat(value.replace("Z", "+00:00"))
            return format_timestamp(value)
        if dtype == DType.BOOL:
            return _as_bool(value)
        if dtype == DType.FLOAT:
            return _float_text(float(value))
        if dtype == DType.DECIMAL:
            return _decimal_text(Decimal(str(value)))
    except (ValueError, TypeError, InvalidOperation, AttributeError):
        raise EntityKeyError(f"join key '{column}' must be {a_or_an(str(dtype))} value; got {value!r}") from None
    return _generic_text(value)


def _as_int(value: Any) -> int:
    if isinstance(value, bool):
        raise TypeError("bool is not an integer key")
    if isinstance(value, int):
        return value
    if isinstance(value, (bytes, str)):
        return int(value.strip())
    if isinstance(value, (float, Decimal)):
        if value != value or value in (math.inf, -math.inf) or value != int(value):
            raise ValueError("not integral")
        return int(value)
    return int(value)  # numpy integers and the like


def _as_bool(value: Any) -> str:
    if isinstance(value, str):
        low = value.strip().lower()
        if low in ("true", "1", "t", "yes"):
            return "true"
        if low in ("false", "0", "f", "no"):
            return "false"
        raise ValueError(low)
    return "true" if bool(value) else "false"


def _float_text(value: float) -> str:
    # Arrow writes integral floats without ".0"; Python must produce the same key text.
    if value.is_integer() and abs(value) < 1e16:
        return str(int(value))
    return repr(value)


def _decimal_text(value: Decimal) -> str:
    # 12.50, 12.5 and 12.500 are one key; integral decimals read like ints.
    if not value.is_finite():
        raise ValueError("not finite")
    if value == value.to_integral_value():
        return str(int(value))
    return format(value.normalize(), "f")


def _generic_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return _float_text(value)
    if isinstance(value, Decimal):
        return _decimal_text(value)
    if isinstance(value, datetime):
        return format_timestamp(value)
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def entity_key(view: FeatureView, row: Mapping[str, Any]) -> str | None:
    """The escaped, ``:``-joined key of ``row`` for ``view`` (None if a key value is NULL).

    >>> from fsdbt.definitions import Column, FeatureView, Relation
    >>> v = FeatureView("v", "model.p.v", Relation(None, None, "v"), ("a", "b"), "ts", (),
    ...                 (Column("a", DType.INT), Column("b", DType.STRING)))
    >>> entity_key(v, {"a": "7", "b": "x:y"})
    '7:x%3Ay'
    """
    parts = []
    for name in view.entities:
        if name not in row:
            raise EntityKeyError(f"entity row is missing join key '{name}' needed by feature view "
                                 f"'{view.name}' (keys: {', '.join(view.entities)}); got keys: "
                                 f"{', '.join(map(str, row)) or '(none)'}")
        text = key_text(row[name], _column_dtype(view, name), name)
        if text is None:
            return None
        parts.append(escape(text))
    return ":".join(parts)


def _column_dtype(view: FeatureView, name: str) -> DType:
    for col in view.columns:
        if col.name == name:
            return col.dtype
    return DType.UNKNOWN


def key_function(view: FeatureView) -> Callable[[Mapping[str, Any]], str | None]:
    """:func:`entity_key` for one view, with a shortcut for the common one-key cases.

    A plain int (or, for a string key, a string without characters to escape) is its own
    key text; anything else takes the general path, with its checks and errors.
    """
    def general(row: Mapping[str, Any]) -> str | None:
        return entity_key(view, row)

    if len(view.entities) != 1:
        return general
    name = view.entities[0]
    dtype = _column_dtype(view, name)
    if dtype in (DType.INT, DType.UNKNOWN):
        def int_key(row: Mapping[str, Any]) -> str | None:
            value = row.get(name) if type(row) is dict else None
            return str(value) if type(value) is int else general(row)
        return int_key
    if dtype == DType.STRING:
        def str_key(row: Mapping[str, Any]) -> str | None:
            value = row.get(name) if type(row) is dict else None
            if type(value) is str and "%" not in value and "{" not in value and "}" not in value \
                    and ":" not in value:
                return value
            return general(row)
        return str_key
    return general


def key_array(view: FeatureView, batch: pa.RecordBatch) -> pa.Array:
    """The entity key text of every row of ``batch`` (null where a key value is NULL)."""
    parts = []
    for name in view.entities:
        arr = _column(batch, name, view)
        dtype = _column_dtype(view, name)
        parts.append(escape_array(_key_text_array(arr, dtype, name)))
    if len(parts) == 1:
        return parts[0]
    return pc.binary_join_element_wise(*parts, ":")


def _key_text_array(arr: pa.Array, dtype: DType, name: str) -> pa.Array:
    t = arr.type
    if pa.types.is_dictionary(t):
        arr, t = arr.dictionary_decode(), arr.type.value_type
    if pa.types.is_integer(t) and dtype in (DType.INT, DType.UNKNOWN, DType.DECIMAL):
        return pc.cast(arr, pa.string())
    if (pa.types.is_string(t) or pa.types.is_large_string(t)) and dtype in (DType.STRING, DType.UNKNOWN):
        return pc.cast(arr, pa.string())
    if pa.types.is_decimal(t) and t.scale == 0 and dtype in (DType.INT, DType.UNKNOWN):
        return pc.cast(arr, pa.string())
    if pa.types.is_date(t) and dtype in (DType.DATE, DType.UNKNOWN):
        return pc.cast(arr, pa.string())
    if pa.types.is_timestamp(t) and dtype in (DType.TIMESTAMP, DType.UNKNOWN):
        return timestamp_text_array(arr)
    # Anything else goes through the same Python coercion as reads, so both sides agree.
    return pa.array([key_text(v, dtype, name) for v in arr.to_pylist()], pa.string())


# -- feature values ---------------------------------------------------------------------------

def timestamp_text_array(arr: pa.Array) -> pa.Array:
    """Fixed-width ISO-8601 UTC text with microseconds; naive timestamps mean UTC."""
    # A cast to naive microseconds keeps the UTC instant (and truncates nanoseconds).
    naive = pc.cast(arr, pa.timestamp("us"), safe=False)
    # Arrow renders a naive timestamp[us] as fixed-width 'YYYY-MM-DD HH:MM:SS.ffffff'; turning
    # the space into 'T' gives the same text as strftime about ten times faster.
    text = pc.replace_substring(pc.cast(naive, pa.string()), " ", "T", max_replacements=1)
    return pc.binary_join_element_wise(text, "Z", "")


def value_text_array(arr: pa.Array, column: str, view: str) -> pa.Array:
    """The stored text of a feature column (nulls stay null)."""
    t = arr.type
    if pa.types.is_dictionary(t):
        arr, t = arr.dictionary_decode(), t.value_type
    if pa.types.is_timestamp(t):
        return timestamp_text_array(arr)
    if (pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t)
            or pa.types.is_boolean(t) or pa.types.is_string(t) or pa.types.is_large_string(t)
            or pa.types.is_date(t) or pa.types.is_null(t)):
        return pc.cast(arr, pa.string())
    raise OnlineStoreError(f"feature '{column}' of view '{view}' has Arrow type {t}, which the online "
                           f"store cannot hold; cast it in the model to a number, string, bool, "
                           f"date or timestamp")


def _column(batch: pa.RecordBatch, name: str, view: FeatureView) -> pa.Array:
    idx = batch.schema.get_field_index(name)
    if idx < 0:
        raise OnlineStoreError(f"rows for feature view '{view.name}' lack column '{name}'; "
                               f"columns given: {', '.join(batch.schema.names)}")
    return batch.column(idx)


def check_fields(view: FeatureView) -> None:
    clash = [f.name for f in view.features if f.name in RESERVED_FIELDS]
    if clash:
        raise OnlineStoreError(f"feature view '{view.name}': feature name(s) {', '.join(clash)} are "
                               f"reserved by the online layout; rename the column(s) in the model")


def encoded_columns(view: FeatureView, batch: pa.RecordBatch
                    ) -> tuple[pa.Array, pa.Array, pa.Array, list[pa.Array]]:
    """Keys, event time, created time ('' when absent) and feature texts of a batch."""
    check_fields(view)
    keys = key_array(view, batch)
    event = timestamp_text_array(_column(batch, view.timestamp, view))
    if view.created_timestamp:
        created = pc.fill_null(timestamp_text_array(_column(batch, view.created_timestamp, view)), "")
    else:
        created = pa.array([""] * len(batch), pa.string())
    values = [value_text_array(_column(batch, f.name, view), f.name, view.name) for f in view.features]
    return keys, event, created, values


def usable_rows(keys: pa.Array, event: pa.Array) -> pa.Array | None:
    """A filter mask of rows with a key and an event time, or None when all are usable."""
    if keys.null_count == 0 and event.null_count == 0:
        return None
    return pc.and_(pc.is_valid(keys), pc.is_valid(event))


# -- decoding ----------------------------------------------------------------------------------

def _decode_bool(raw: bytes | str) -> bool:
    return raw in (b"true", "true")


def _decode_str(raw: bytes | str) -> str:
    return raw.decode() if isinstance(raw, bytes) else raw


def _decode_decimal(raw: bytes | str) -> Decimal:
    return Decimal(_decode_str(raw))


def _decode_date(raw: bytes | str) -> date:
    return date.fromisoformat(_decode_str(raw))


DECODERS: dict[DType, Callable[[Any], Any]] = {
    DType.INT: int,
    DType.FLOAT: float,
    DType.DECIMAL: _decode_decimal,
    DType.STRING: _decode_str,
    DType.BOOL: _decode_bool,
    DType.TIMESTAMP: parse_timestamp,
    DType.DATE: _decode_date,
    DType.UNKNOWN: _decode_str,
}


def _bytes_bool(raw: bytes) -> bool:
    return raw == b"true"


def _bytes_date(raw: bytes) -> date:
    return date.fromisoformat(raw.decode())


def _bytes_decimal(raw: bytes) -> Decimal:
    return Decimal(raw.decode())


# The same, for texts that arrive as bytes (Redis): no type test per value.
BYTES_DECODERS: dict[DType, Callable[[Any], Any]] = {
    DType.INT: int,
    DType.FLOAT: float,
    DType.DECIMAL: _bytes_decimal,
    DType.STRING: bytes.decode,
    DType.BOOL: _bytes_bool,
    DType.TIMESTAMP: parse_timestamp,
    DType.DATE: _bytes_date,
    DType.UNKNOWN: bytes.decode,
}


def ttl_cutoff(ttl: timedelta | None, now: datetime) -> str | None:
    """The oldest event time (as stored text) still fresh at ``now``, edge inclusive."""
    if ttl is None:
        return None
    try:
        return format_timestamp(now - ttl)
    except OverflowError:
        return None


def as_utc(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(timezone.utc)
    return now.replace(tzinfo=timezone.utc) if now.tzinfo is None else now.astimezone(timezone.utc)


def row_dicts(columns: Sequence[str], rows: Sequence[Mapping[str, Any]]) -> None:
    """Check that every entity row is a mapping (a common mistake is passing a list of keys)."""
    for row in rows:
        if type(row) is not dict and not isinstance(row, Mapping):
            raise EntityKeyError(f"an entity row must be a dict of join keys such as "
                                 f"{{{', '.join(repr(c) + ': ...' for c in columns)}}}; got {row!r}")
