"""A brute-force reference for fsdbt's point-in-time join, in plain Python loops.

This is the oracle that the dbt macro (``fsdbt.point_in_time_join``) and the Python SDK
(``get_historical_features``) are both checked against, row for row. It is written for
clarity, not speed: every spine row scans every row of every view.

The semantics (docs/point-in-time.md): for a spine row with entity keys ``K`` and time
``t``, the value of view ``V`` comes from the row ``r`` of ``V`` with ``r.K = K``,
``r.timestamp <= t`` and, if ``V`` has a ttl, ``r.timestamp >= t - ttl`` (both edges
inclusive); among those, the greatest ``r.timestamp``, then the greatest
``r.created_timestamp`` (NULL counts as smaller than any value). The chosen row is taken
whole: a NULL feature in it stays NULL. No such row: all of that view's features are NULL.
SQL NULL rules apply: a NULL key never equals anything and a NULL time never compares, so
a spine row with a NULL key or time gets NULL features and a view row with a NULL key or
timestamp is never chosen. With ``available_at=True`` the row must also have
``r.created_timestamp <= t``; a view without created_timestamp adds no condition, and a row
whose created_timestamp is NULL is never available.

If two rows of a view tie on keys, timestamp and created_timestamp, the oracle takes the
first in ``rows`` order; the warehouses may take either, so tests must not generate such
ties with different feature values.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any, TypedDict


class OracleView(TypedDict):
    """One feature view as the oracle sees it.

    ``features`` are the columns to output, in output order. The same view may appear
    several times in the list given to :func:`pit_oracle` (each entry adds its features
    at that position), which is how references like ``['a.x', 'b.y', 'a.z']`` interleave.
    """

    name: str
    rows: Sequence[Mapping[str, Any]]
    entities: Sequence[str]
    timestamp: str
    created_timestamp: str | None
    ttl: timedelta | None
    features: Sequence[str]


def output_name(view: str, feature: str, full_feature_names: bool) -> str:
    """The output column of a feature: ``feature``, or ``view__feature`` with full names."""
    return f"{view}__{feature}" if full_feature_names else feature


def pit_oracle(
    spine_rows: Sequence[Mapping[str, Any]],
    spine_ts_col: str,
    views: Sequence[OracleView],
    full_feature_names: bool = False,
    available_at: bool = False,
) -> list[dict[str, Any]]:
    """The point-in-time join of ``views`` onto ``spine_rows``.

    Returns one dict per spine row, in spine order: the spine row's own columns first (all
    of them, unchanged), then one column per feature in the order of ``views`` and their
    ``features``. Timestamps are compared as given: pass all naive (UTC) or all aware
    datetimes. Raises ``ValueError`` when two output columns would share a name.

    >>> from datetime import datetime
    >>> t0 = datetime(2024, 1, 1)
    >>> view = {"name": "driver", "entities": ["driver_id"], "timestamp": "ts",
    ...         "created_timestamp": None, "ttl": timedelta(hours=1), "features": ["rate"],
    ...         "rows": [{"driver_id": 1, "ts": t0, "rate": 0.5}]}
    >>> pit_oracle([{"driver_id": 1, "event_timestamp": t0 + timedelta(minutes=30)},
    ...             {"driver_id": 1, "event_timestamp": t0 + timedelta(hours=2)}],
    ...            "event_timestamp", [view])
    [{'driver_id': 1, 'event_timestamp': datetime.datetime(2024, 1, 1, 0, 30), 'rate': 0.5}, \
{'driver_id': 1, 'event_timestamp': datetime.datetime(2024, 1, 1, 2, 0), 'rate': None}]
    """
    spine_columns: list[str] = []
    for row in spine_rows:
        for column in row:
            if column not in spine_columns:
                spine_columns.append(column)
    taken = {c.lower(): f"spine column {c!r}" for c in spine_columns}
    for view in views:
        for feature in view["features"]:
            name = output_name(view["name"], feature, full_feature_names)
            if name.lower() in taken:
                raise ValueError(
                    f"output column {name!r} of {view['name']}.{feature} clashes with "
                    f"{taken[name.lower()]}; use full_feature_names=True"
                )
            taken[name.lower()] = f"feature {view['name']}.{feature}"

    out: list[dict[str, Any]] = []
    for spine_row in spine_rows:
        result = dict(spine_row)
        t = spine_row.get(spine_ts_col)
        for view in views:
            chosen = _latest(view, spine_row, t, available_at)
            for feature in view["features"]:
                name = output_name(view["name"], feature, full_feature_names)
                result[name] = None if chosen is None else chosen.get(feature)
        out.append(result)
    return out


def _latest(view: OracleView, spine_row: Mapping[str, Any], t: Any, available_at: bool) -> Mapping[str, Any] | None:
    """The row of ``view`` that the spine row at time ``t`` sees, or None."""
    if t is None:
        return None
    keys = [spine_row.get(k) for k in view["entities"]]
    if any(k is None for k in keys):
        return None
    ts_col, created_col, ttl = view["timestamp"], view["created_timestamp"], view["ttl"]
    best: Mapping[str, Any] | None = None
    best_rank: tuple[Any, bool, Any] | None = None
    for row in view["rows"]:
        if any(row.get(k) is None or row.get(k) != key for k, key in zip(view["entities"], keys)):
            continue
        ts = row.get(ts_col)
        if ts is None or ts > t:
            continue
        if ttl is not None and ts < t - ttl:
            continue
        created = row.get(created_col) if created_col else None
        if available_at and created_col and (created is None or created > t):
            continue
        # NULL created_timestamp ranks below every value.
        rank = (ts, created is not None, created)
        if best_rank is None or _greater(rank, best_rank):
            best, best_rank = row, rank
    return best


def _greater(a: tuple[Any, bool, Any], b: tuple[Any, bool, Any]) -> bool:
    if a[0] != b[0]:
        return bool(a[0] > b[0])
    if a[1] != b[1]:
        return a[1]
    if a[1] and a[2] != b[2]:
        return bool(a[2] > b[2])
    return False  # an exact tie keeps the first row seen
