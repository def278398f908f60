"""Helpers shared by the online store tests."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from typing import Any

import pyarrow as pa

from fsdbt.definitions import Column, Feature, FeatureView, Relation
from fsdbt.dtypes import DType

T0 = datetime(2024, 5, 1, 12, 0, 0, tzinfo=timezone.utc)


def make_view(name: str = "driver_stats", *, entities: Sequence[tuple[str, DType]] = (("driver_id", DType.INT),),
              features: Sequence[tuple[str, DType]] = (("conv_rate", DType.FLOAT), ("trips", DType.INT),
                                                       ("city", DType.STRING)),
              ttl: timedelta | None = None, created: bool = True) -> FeatureView:
    """A feature view as the registry would produce it."""
    feats = tuple(Feature(n, name, t) for n, t in features)
    cols = [Column(n, t) for n, t in entities] + [Column("event_timestamp", DType.TIMESTAMP)]
    if created:
        cols.append(Column("created", DType.TIMESTAMP))
    cols += [Column(f.name, f.dtype) for f in feats]
    return FeatureView(name=name, unique_id=f"model.proj.{name}", relation=Relation("db", "main", name),
                       entities=tuple(n for n, _ in entities), timestamp="event_timestamp",
                       features=feats, columns=tuple(cols), created_timestamp="created" if created else None,
                       ttl=ttl)


def rows(view: FeatureView, records: Sequence[dict[str, Any]]) -> pa.RecordBatch:
    """A record batch with the view's columns; timestamps as timestamp[us, tz=UTC]."""
    data: dict[str, pa.Array] = {}
    for col in view.columns:
        values = [r.get(col.name) for r in records]
        if col.dtype == DType.TIMESTAMP:
            data[col.name] = pa.array(values, pa.timestamp("us", tz="UTC"))
        elif col.dtype == DType.INT:
            data[col.name] = pa.array(values, pa.int64())
        elif col.dtype == DType.FLOAT:
            data[col.name] = pa.array(values, pa.float64())
        elif col.dtype == DType.STRING:
            data[col.name] = pa.array(values, pa.string())
        else:
            data[col.name] = pa.array(values)
    return pa.record_batch(data)
