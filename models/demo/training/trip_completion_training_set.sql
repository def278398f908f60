-- The training set of the trip-completion model: every trip request with the features its
-- model sees, each taken as it was known when the trip was requested.
select *
from {{ fsdbt.point_in_time_join(
    ref('trips'),
    [
        'driver_hourly_stats.*',
        'customer_profile.lifetime_trips',
        'customer_profile.avg_spend',
        'customer_profile.customer_cancel_rate',
        'customer_profile.membership_tier',
        'customer_profile.promo_user',
        'driver_customer_stats.trips_together',
        'driver_customer_stats.pair_avg_rating',
    ],
    spine_timestamp='requested_at',
) }}
