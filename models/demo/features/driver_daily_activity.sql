{{ config(
    materialized='incremental',
    unique_key=['driver_id', 'activity_day'],
    incremental_strategy='delete+insert',
) }}
-- Daily driver activity, known at the end of each day. Incremental: each run
-- recomputes the last two days (late rows land there) and appends new ones.
select
    driver_id,
    cast({{ dbt.date_trunc('day', 'event_timestamp') }} as date) as activity_day,
    cast({{ dbt.dateadd('day', 1, dbt.date_trunc('day', 'event_timestamp')) }} as timestamp) as day_end,
    cast(sum(trips_last_hour) as bigint) as trips_day,
    cast(sum(online_minutes) / 60.0 as double precision) as online_hours_day,
    cast(sum(earnings_last_hour) as double precision) as earnings_day
from {{ source('ride_hailing', 'driver_stats_events') }}
{% if is_incremental() %}
where event_timestamp >= (
    select {{ dbt.dateadd('day', -1, 'max(activity_day)') }} from {{ this }}
)
{% endif %}
group by 1, 2, 3
