-- An example feature view: hourly driver statistics.
select
    cast(driver_id as bigint) as driver_id,
    cast(event_timestamp as timestamp) as event_timestamp,
    cast(conv_rate as double precision) as conv_rate,
    cast(trips_today as bigint) as trips_today
from {{ ref('driver_events') }}
