-- Customer profile snapshots; customers update their profile at irregular times.
select
    customer_id,
    updated_at,
    lifetime_trips,
    avg_spend,
    customer_cancel_rate,
    tenure_days,
    preferred_payment,
    membership_tier,
    avg_tip_share,
    rating_given_avg,
    promo_user,
    home_city
from {{ source('ride_hailing', 'customer_profile_updates') }}
