-- The spine of the training set: one row per trip request, labelled with its outcome.
select
    trip_id,
    driver_id,
    customer_id,
    requested_at,
    city,
    completed
from {{ source('ride_hailing', 'trips') }}
