"""Feast's feature-server JSON, translated without I/O: request documents in, response bytes out.

Requests (as Feast's ``POST /get-online-features`` takes them)::

    {"features": ["driver_hourly_stats:conv_rate", ...] | "feature_service": "driver_ranking",
     "entities": {"driver_id": [1001, 1002]}, "full_feature_names": false}

Responses (Feast 0.6x: ``GetOnlineFeaturesResponse`` through ``MessageToDict`` with Feast's
plain-JSON ``Value``), columnar, join keys first::

    {"metadata": {"feature_names": ["driver_id", "conv_rate"]},
     "results": [{"values": [1001, 1002], "statuses": ["PRESENT", "PRESENT"],
                  "event_timestamps": ["1970-01-01T00:00:00Z", "1970-01-01T00:00:00Z"]},
                 {"values": [0.61, null], "statuses": ["PRESENT", "NOT_FOUND"],
                  "event_timestamps": ["2026-01-01T09:00:00Z", "1970-01-01T00:00:00Z"]}]}

Everything here is pure so that the tests can check the translation without a server.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any

import orjson

from fsdbt.definitions import Feature
from fsdbt.dtypes import DType
from fsdbt.errors import ConfigError, ContractError, ContractErrors, did_you_mean, one_of
from fsdbt.online.base import OnlineResult, ViewRead

EPOCH = "1970-01-01T00:00:00Z"
_EPOCH_DT = datetime(1970, 1, 1, tzinfo=timezone.utc)
ONLINE_KEYS = ("features", "feature_service", "entities", "full_feature_names")
PUSH_KEYS = ("push_source_name", "feature_view", "df", "to", "allow_registry_cache", "transform_on_write")


class WireError(Exception):
    """A request the server refuses: HTTP status, a stable code, a message and the field at fault."""

    def __init__(self, status: int, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field

    def body(self) -> bytes:
        return error_body(self.code, self.message, self.field)


def error_body(code: str, message: str, field: str | None = None) -> bytes:
    return orjson.dumps({"error": {"code": code, "message": message, "field": field}})


def load_json(body: bytes) -> Any:
    if not body:
        raise WireError(400, "invalid_json", "the request body is empty; send a JSON object")
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise WireError(400, "invalid_json", f"the request body is not valid JSON: {exc}") from None


def _object(doc: Any, allowed: Sequence[str]) -> Mapping[str, Any]:
    if not isinstance(doc, dict):
        raise WireError(422, "invalid_request", f"the request body must be a JSON object; got {_kind(doc)}")
    for key in doc:
        if key not in allowed:
            raise WireError(422, "unknown_field", f"unknown field '{key}'{did_you_mean(key, allowed)}; "
                            f"fields: {one_of(allowed)}", key)
    return doc


def _kind(value: Any) -> str:
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean", int: "a number",
            float: "a number", type(None): "null"}.get(type(value), type(value).__name__)


# -- get-online-features -------------------------------------------------------------------------

@dataclass(frozen=True)
class OnlineRequest:
    """A checked ``get-online-features`` request."""

    features: tuple[str, ...] | None
    feature_service: str | None
    entities: dict[str, list[Any]]
    full_feature_names: bool | None
    rows: int

    @property
    def shape(self) -> tuple[Any, ...]:
        """What the resolved feature list depends on (the cache key)."""
        return (self.features, self.feature_service, self.full_feature_names, tuple(self.entities))


def parse_online_request(doc: Any, max_entities: int) -> OnlineRequest:
    body = _object(doc, ONLINE_KEYS)
    features = body.get("features")
    service = body.get("feature_service")
    if features is not None and service is not None:
        raise WireError(422, "invalid_request", "send either 'features' or 'feature_service', not both",
                        "feature_service")
    if features is None and service is None:
        raise WireError(422, "missing_field", "send 'features' (a list like [\"view:feature\"]) or "
                        "'feature_service' (a service name)", "features")
    feats: tuple[str, ...] | None = None
    if features is not None:
        if not isinstance(features, list) or not features:
            raise WireError(422, "invalid_type", f"'features' must be a non-empty list of strings like "
                            f"\"view:feature\"; got {_kind(features)}", "features")
        for i, ref in enumerate(features):
            if not isinstance(ref, str):
                raise WireError(422, "invalid_type", f"features[{i}] must be a string like \"view:feature\"; "
                                f"got {_kind(ref)}", f"features[{i}]")
        feats = tuple(features)
    if service is not None and (not isinstance(service, str) or not service):
        raise WireError(422, "invalid_type", f"'feature_service' must be a service name; got {_kind(service)}",
                        "feature_service")
    full = body.get("full_feature_names")
    if full is not None and not isinstance(full, bool):
        raise WireError(422, "invalid_type", f"'full_feature_names' must be true or false; got {_kind(full)}",
                        "full_feature_names")
    entities = body.get("entities")
    if not isinstance(entities, dict) or not entities:
        raise WireError(422, "missing_field" if entities is None else "invalid_type",
                        "'entities' must be an object of join key to a list of values, e.g. "
                        "{\"driver_id\": [1001, 1002]}", "entities")
    count = _column_lengths(entities, "entities", "entity row", "a scalar join-key value")
    if count > max_entities:
        raise WireError(413, "too_many_entities", f"a request may ask for at most {max_entities:,} entity rows; "
                        f"got {count:,}: split it into smaller requests", "entities")
    return OnlineRequest(feats, service, entities, full, count)


_TS_CACHE: dict[datetime, str] = {}


def _utc_text(value: datetime | None) -> str:
    """RFC 3339 UTC with ``Z``, fractional seconds only when non-zero (3 or 6 digits, as protobuf)."""
    if value is None:
        return EPOCH
    text = _TS_CACHE.get(value)
    if text is not None:
        return text
    utc = value.astimezone(timezone.utc) if value.tzinfo is not None and value.utcoffset() else value
    micro = utc.microsecond
    head = f"{utc.year:04d}-{utc.month:02d}-{utc.day:02d}T{utc.hour:02d}:{utc.minute:02d}:{utc.second:02d}"
    if micro == 0:
        text = head + "Z"
    elif micro % 1000 == 0:
        text = f"{head}.{micro // 1000:03d}Z"
    else:
        text = f"{head}.{micro:06d}Z"
    # Rows of a view share few distinct event times (hourly, daily): remember them.
    if len(_TS_CACHE) >= 100_000:
        _TS_CACHE.clear()
    _TS_CACHE[value] = text
    return text


def _epoch_seconds(value: Any) -> Any:
    # Feast's UNIX_TIMESTAMP values are whole seconds since the epoch (int64).
    if not isinstance(value, datetime):
        return value
    aware = value if value.tzinfo is not None else value.replace(tzinfo=timezone.utc)
    return int((aware - _EPOCH_DT).total_seconds() // 1)


def _number(value: Any) -> Any:
    return float(value) if isinstance(value, Decimal) else value


def _date_text(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


_VALUE_MAP: dict[DType, Callable[[Any], Any]] = {
    DType.TIMESTAMP: _epoch_seconds, DType.DECIMAL: _number, DType.DATE: _date_text,
}


@dataclass(frozen=True)
class ReadShape:
    """A request shape resolved once: what to read, and how to lay the columns out."""

    reads: tuple[ViewRead, ...]
    join_keys: tuple[str, ...]
    feature_names: tuple[str, ...]  # output names, in the requested order
    order: tuple[int, ...]  # output position i takes read column order[i]
    value_maps: tuple[Callable[[Any], Any] | None, ...]
    metadata: bytes  # the serialized {"feature_names": [...]} object
    full: bool  # full feature names (view__feature)


def resolve_shape(resolve: Callable[..., tuple[tuple[Feature, ...], bool]], views: Mapping[str, Any],
                  req: OnlineRequest) -> ReadShape:
    """Resolve a request's features (``resolve`` is ``FeatureStore.resolve_features``)."""
    try:
        if req.feature_service is not None:
            chosen, full = resolve(None, feature_service=req.feature_service,
                                   full_feature_names=req.full_feature_names)
        else:
            chosen, full = resolve(list(req.features or ()), full_feature_names=req.full_feature_names)
    except (ContractError, ContractErrors, ConfigError) as exc:
        field = "feature_service" if req.feature_service is not None else "features"
        text = str(exc)
        code = "unknown_feature_service" if "feature service" in text and field == "feature_service" \
            else "unknown_feature" if "unknown" in text else "invalid_features"
        raise WireError(422, code, text, field) from None
    by_view: dict[str, list[str]] = {}
    for feature in chosen:
        by_view.setdefault(feature.view, []).append(feature.name)
    reads = tuple(ViewRead(views[v], tuple(names)) for v, names in by_view.items())
    read_order = [(r.view.name, name) for r in reads for name in (r.features or ())]
    position = {key: i for i, key in enumerate(read_order)}
    order = tuple(position[(f.view, f.name)] for f in chosen)
    join_keys: list[str] = []
    for r in reads:
        for k in r.view.entities:
            if k not in join_keys:
                join_keys.append(k)
    given = list(req.entities)
    for key in join_keys:
        if key not in req.entities:
            raise WireError(422, "missing_entity", f"'entities' lacks the join key '{key}' needed by feature "
                            f"view '{next(r.view.name for r in reads if key in r.view.entities)}'"
                            f"{did_you_mean(key, given)}; join keys: {one_of(join_keys)}", "entities")
    for key in given:
        if key not in join_keys:
            raise WireError(422, "unknown_entity", f"'{key}' is not a join key of the requested features"
                            f"{did_you_mean(key, join_keys)}; join keys: {one_of(join_keys)}", f"entities.{key}")
    names = tuple(f.full_name if full else f.name for f in chosen)
    maps = tuple(_VALUE_MAP.get(f.dtype) for f in chosen)
    metadata = orjson.dumps({"feature_names": [*join_keys, *names]})
    return ReadShape(reads, tuple(join_keys), names, order, maps, metadata, full)


def entity_rows(req: OnlineRequest, keys: Sequence[str]) -> list[dict[str, Any]]:
    columns = [req.entities[k] for k in keys]
    return [dict(zip(keys, values)) for values in zip(*columns)]


def online_response(shape: ReadShape, result: OnlineResult) -> bytes:
    """Feast's columnar response for ``result`` (read with ``shape.reads``)."""
    n = len(next(iter(result.entity_columns.values()), []))
    present = ["PRESENT"] * n
    epochs = [EPOCH] * n
    results: list[Any] = []
    for key in shape.join_keys:
        results.append({"values": result.entity_columns[key], "statuses": present, "event_timestamps": epochs})
    texts: dict[int, list[str]] = {}  # columns of one view share their event-time list
    cols = result.columns
    for idx, value_map in zip(shape.order, shape.value_maps):
        col = cols[idx]
        events = col.event_timestamps
        stamp = texts.get(id(events))
        if stamp is None:
            stamp = texts[id(events)] = list(map(_utc_text, events))
        values = col.values if value_map is None else [None if v is None else value_map(v) for v in col.values]
        results.append({"values": values, "statuses": col.statuses, "event_timestamps": stamp})
    return b'{"metadata":' + shape.metadata + b',"results":' + orjson.dumps(results) + b"}"


# -- push ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class PushRequest:
    source: str
    df: dict[str, list[Any]]
    to: str
    rows: int


def parse_push_request(doc: Any, max_rows: int) -> PushRequest:
    body = _object(doc, PUSH_KEYS)
    source = body.get("push_source_name", body.get("feature_view"))
    if "push_source_name" in body and "feature_view" in body:
        raise WireError(422, "invalid_request", "send either 'push_source_name' or 'feature_view', not both",
                        "feature_view")
    if not isinstance(source, str) or not source:
        raise WireError(422, "missing_field" if source is None else "invalid_type",
                        "'push_source_name' (or 'feature_view') must name the feature view to push to",
                        "push_source_name")
    for flag in ("allow_registry_cache", "transform_on_write"):
        if flag in body and not isinstance(body[flag], bool):
            raise WireError(422, "invalid_type", f"'{flag}' must be true or false", flag)
    to = body.get("to", "online")
    if to not in ("online", "offline", "online_and_offline"):
        raise WireError(422, "invalid_value", f"'to' must be 'online', 'offline' or 'online_and_offline'; "
                        f"got {to!r}{did_you_mean(str(to), ('online', 'offline', 'online_and_offline'))}", "to")
    df = body.get("df")
    if not isinstance(df, dict) or not df:
        raise WireError(422, "missing_field" if df is None else "invalid_type",
                        "'df' must be an object of column name to a list of values, e.g. "
                        "{\"driver_id\": [1001], \"event_timestamp\": [\"2026-01-01T10:00:00Z\"], ...}", "df")
    count = _column_lengths(df, "df", "row", "a scalar")
    if count > max_rows:
        raise WireError(413, "too_many_rows", f"a push may carry at most {max_rows:,} rows; got {count:,}: "
                        f"split it into smaller pushes", "df")
    return PushRequest(source, df, to, count)


def _column_lengths(columns: dict[str, Any], field: str, row: str, scalar: str) -> int:
    """Check a columnar object (name -> list of scalars, all one length); returns the length."""
    count = -1
    for name, values in columns.items():
        if not isinstance(values, list):
            raise WireError(422, "invalid_type", f"{field}.{name} must be a list of values (one per {row}); "
                            f"got {_kind(values)}", f"{field}.{name}")
        if count < 0:
            count = len(values)
        elif len(values) != count:
            lengths = ", ".join(f"{k}={len(v) if isinstance(v, list) else '?'}" for k, v in columns.items())
            raise WireError(422, "invalid_request", f"the {field} lists have different lengths: {lengths}",
                            f"{field}.{name}")
        for i, value in enumerate(values):
            if isinstance(value, (dict, list)):
                raise WireError(422, "invalid_type", f"{field}.{name}[{i}] must be {scalar}; got {_kind(value)}",
                                f"{field}.{name}[{i}]")
    return count
