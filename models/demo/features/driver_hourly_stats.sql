-- Hourly driver quality metrics. Corrections share the hour and carry a later loaded_at.
{%- set columns = [
    'driver_id', 'event_timestamp', 'loaded_at',
    'conv_rate', 'acc_rate', 'avg_daily_trips', 'trips_last_hour', 'online_minutes', 'cancel_rate',
    'avg_rating', 'rating_count', 'avg_trip_km', 'avg_trip_minutes', 'earnings_last_hour', 'surge_share',
    'idle_minutes', 'distance_to_center_km', 'complaints_7d', 'late_arrivals_7d', 'five_star_share',
    'acceptance_streak', 'shift_hours', 'vehicle_age_years',
] %}

select {{ columns | join(',\n    ') }}
from {{ source('ride_hailing', 'driver_stats_events') }}

-- Rows pushed offline (fsdbt push / HTTP /push); none pushed: an empty select of the same types.
union all
select {{ columns | join(',\n    ') }}
from {{ fsdbt.pushed_rows('driver_hourly_stats') }}
