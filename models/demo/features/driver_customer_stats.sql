-- History of one driver with one customer (a composite key), known when each trip ends.
with finished as (
    select
        driver_id,
        customer_id,
        {{ dbt.dateadd('second', 'cast(duration_minutes * 60 as integer)', 'requested_at') }} as ended_at,
        completed,
        rating
    from {{ source('ride_hailing', 'trips') }}
)

select
    driver_id,
    customer_id,
    ended_at,
    cast(count(*) over pair_history as bigint) as trips_together,
    cast(sum(case when completed then 1 else 0 end) over pair_history as bigint) as completed_together,
    cast(avg(rating) over pair_history as double precision) as pair_avg_rating
from finished
window pair_history as (
    partition by driver_id, customer_id
    order by ended_at
    rows between unbounded preceding and current row
)
