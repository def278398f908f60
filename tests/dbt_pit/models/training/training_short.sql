-- Used inside a CTE, with a ref() relation as a feature list item and another spine_timestamp.
with training as (
    select * from {{ fsdbt.point_in_time_join(
        ref('spine_shifted'),
        [ref('v_item'), 'v_pair.f_text', 'v_recent.*', 'v_user.amount'],
        spine_timestamp='prediction_ts') }}
)
select * from training
