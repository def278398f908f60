"""Deterministic ride-hailing data for the demo and the benchmarks.

The same seed, sizes and anchor give the same rows, byte for byte. Sizes come from
presets or explicit counts, so a benchmark can grow the data without new code.

Tables (in schema ``raw`` unless told otherwise):

- ``driver_stats_events``: one row per driver and hour with 20 metrics, loaded a few
  minutes to a few days later (late rows), with occasional corrections (same hour, later
  load time, new values) and missing values.
- ``customer_profile_updates``: irregular profile snapshots per customer (10 attributes).
- ``trips``: trip requests with driver, customer, city and the label ``completed``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

import numpy as np
import pyarrow as pa

DRIVER_METRICS = (
    "conv_rate", "acc_rate", "avg_daily_trips", "trips_last_hour", "online_minutes", "cancel_rate",
    "avg_rating", "rating_count", "avg_trip_km", "avg_trip_minutes", "earnings_last_hour", "surge_share",
    "idle_minutes", "distance_to_center_km", "complaints_7d", "late_arrivals_7d", "five_star_share",
    "acceptance_streak", "shift_hours", "vehicle_age_years",
)
_INT_METRICS = {"avg_daily_trips", "trips_last_hour", "online_minutes", "rating_count", "idle_minutes",
                "complaints_7d", "late_arrivals_7d", "acceptance_streak"}
CITIES = ("lisbon", "porto", "madrid", "sevilla", "paris", "lyon", "berlin", "hamburg")
PAYMENTS = ("card", "cash", "wallet", "corporate")
TIERS = ("basic", "plus", "gold")


@dataclass(frozen=True)
class DemoSize:
    drivers: int
    hours: int
    customers: int
    updates_per_customer: int
    trips: int


PRESETS: dict[str, DemoSize] = {
    # make demo: seconds to generate and build.
    "small": DemoSize(drivers=200, hours=96, customers=2_000, updates_per_customer=9, trips=10_000),
    # point-in-time medium: 720k + 180k feature rows, 100k spine.
    "medium": DemoSize(drivers=1_000, hours=720, customers=20_000, updates_per_customer=9, trips=100_000),
    # sync with many entities: 195k entities, 2.7M source rows.
    "manyent": DemoSize(drivers=15_000, hours=120, customers=180_000, updates_per_customer=5, trips=100_000),
    # point-in-time large: 7.2M + 1.8M feature rows, 1M spine.
    "large": DemoSize(drivers=10_000, hours=720, customers=200_000, updates_per_customer=9, trips=1_000_000),
}


def default_anchor() -> datetime:
    """The end of the generated history: the current hour, so ttl-bound values are fresh."""
    now = datetime.now(timezone.utc)
    return now.replace(minute=0, second=0, microsecond=0)


def _ts(values_us: np.ndarray) -> pa.Array:
    return pa.array(values_us.astype("int64"), type=pa.int64()).cast(pa.timestamp("us"))


def _masked(values: np.ndarray, rng: np.random.Generator, rate: float) -> pa.Array:
    mask = rng.random(len(values)) < rate
    return pa.array(values, mask=mask)


def driver_stats_events(size: DemoSize, anchor: datetime, seed: int) -> pa.Table:
    rng = np.random.default_rng([seed, 1])
    n = size.drivers * size.hours
    driver_id = np.repeat(np.arange(1001, 1001 + size.drivers, dtype=np.int64), size.hours)
    anchor_us = int(anchor.timestamp() * 1_000_000)
    hour_idx = np.tile(np.arange(size.hours, dtype=np.int64), size.drivers)
    event_us = anchor_us - (size.hours - hour_idx) * 3_600_000_000
    # Most rows land 2-90 minutes after the hour; 1% arrive one to three days late.
    delay_us = rng.integers(120, 5_400, n) * 1_000_000
    late = rng.random(n) < 0.01
    delay_us[late] += rng.integers(1, 4, late.sum()) * 86_400_000_000
    skill = rng.beta(5, 2, size.drivers).repeat(size.hours)
    columns: dict[str, pa.Array] = {
        "driver_id": pa.array(driver_id),
        "event_timestamp": _ts(event_us),
        "loaded_at": _ts(event_us + delay_us),
    }
    for i, name in enumerate(DRIVER_METRICS):
        base = rng.gamma(2.0, 1.0 + i % 5, n) * (0.5 + skill)
        if name == "avg_rating":
            columns[name] = _masked((3.0 + 2.0 * np.clip(skill + rng.normal(0, 0.1, n), 0, 1)).round(3), rng, 0.01)
        elif name in _INT_METRICS:
            columns[name] = _masked(np.floor(base * 3).astype(np.int64), rng, 0.005)
        elif name.endswith(("rate", "share")):
            columns[name] = _masked(np.clip(skill + rng.normal(0, 0.08, n), 0, 1).round(4), rng, 0.01)
        else:
            columns[name] = _masked(base.round(3), rng, 0.01)
    table = pa.table(columns)
    # Corrections: 0.5% of rows re-sent for the same hour with new values, loaded later.
    fix = np.flatnonzero(rng.random(n) < 0.005)
    if len(fix):
        corrected = table.take(pa.array(fix))
        later = corrected.column("loaded_at").cast(pa.int64()).to_numpy() + 3_600_000_000
        corrected = corrected.set_column(2, "loaded_at", _ts(later))
        conv = corrected.schema.get_field_index("conv_rate")
        corrected = corrected.set_column(conv, "conv_rate", pa.array(rng.random(len(fix)).round(4)))
        table = pa.concat_tables([table, corrected])
    return table


def customer_profile_updates(size: DemoSize, anchor: datetime, seed: int) -> pa.Table:
    rng = np.random.default_rng([seed, 2])
    counts = np.clip(rng.poisson(size.updates_per_customer - 1, size.customers) + 1, 1, None)
    # Keep the total at customers * updates so presets have the stated row counts.
    total = size.customers * size.updates_per_customer
    counts = np.maximum(1, np.round(counts * total / counts.sum())).astype(np.int64)
    customer_id = np.repeat(np.arange(50_001, 50_001 + size.customers, dtype=np.int64), counts)
    n = len(customer_id)
    window_us = 30 * 86_400_000_000  # profiles change over the last 30 days
    anchor_us = int(anchor.timestamp() * 1_000_000)
    updated_us = anchor_us - rng.integers(0, window_us, n)
    order = np.lexsort((updated_us, customer_id))
    customer_id, updated_us = customer_id[order], updated_us[order]
    tier = rng.integers(0, len(TIERS), size.customers)[customer_id - 50_001]
    return pa.table({
        "customer_id": pa.array(customer_id),
        "updated_at": _ts(updated_us),
        "lifetime_trips": pa.array(rng.integers(0, 900, n)),
        "avg_spend": _masked(rng.gamma(3.0, 6.0, n).round(2), rng, 0.01),
        "customer_cancel_rate": pa.array(rng.beta(1, 12, n).round(4)),
        "tenure_days": pa.array(rng.integers(0, 3_000, n)),
        "preferred_payment": _masked(np.array(PAYMENTS, dtype=object)[rng.integers(0, len(PAYMENTS), n)],
                                     rng, 0.02),
        "membership_tier": pa.array(np.array(TIERS, dtype=object)[tier]),
        "avg_tip_share": pa.array(rng.beta(2, 20, n).round(4)),
        "rating_given_avg": _masked((3 + 2 * rng.beta(5, 1.5, n)).round(2), rng, 0.01),
        "promo_user": pa.array(rng.random(n) < 0.3),
        "home_city": pa.array(np.array(CITIES, dtype=object)[rng.integers(0, len(CITIES), n)]),
    })


def trips(size: DemoSize, anchor: datetime, seed: int) -> pa.Table:
    rng = np.random.default_rng([seed, 3])
    n = size.trips
    anchor_us = int(anchor.timestamp() * 1_000_000)
    requested_us = anchor_us - rng.integers(0, size.hours * 3_600_000_000, n)
    driver = rng.integers(1001, 1001 + size.drivers, n)
    # A few regular pairs make the (driver, customer) view interesting.
    customer = rng.integers(50_001, 50_001 + size.customers, n)
    regular = rng.random(n) < 0.2
    customer[regular] = 50_001 + (driver[regular] * 7) % size.customers
    duration_min = rng.gamma(3.0, 6.0, n).round(1)
    completed = rng.random(n) < 0.85
    return pa.table({
        "trip_id": pa.array(np.arange(1, n + 1, dtype=np.int64)),
        "driver_id": pa.array(driver),
        "customer_id": pa.array(customer),
        "requested_at": _ts(requested_us),
        "city": pa.array(np.array(CITIES, dtype=object)[rng.integers(0, len(CITIES), n)]),
        "duration_minutes": pa.array(duration_min),
        "fare": pa.array((2.5 + duration_min * rng.uniform(0.4, 0.9, n)).round(2)),
        "rating": _masked(rng.integers(1, 6, n), rng, 0.4),
        "completed": pa.array(completed),
    })


def generate(size: DemoSize, *, anchor: datetime | None = None, seed: int = 42) -> dict[str, pa.Table]:
    """All demo tables, by name."""
    anchor = anchor or default_anchor()
    if anchor.tzinfo is None:
        anchor = anchor.replace(tzinfo=timezone.utc)
    return {
        "driver_stats_events": driver_stats_events(size, anchor, seed),
        "customer_profile_updates": customer_profile_updates(size, anchor, seed),
        "trips": trips(size, anchor, seed),
    }
