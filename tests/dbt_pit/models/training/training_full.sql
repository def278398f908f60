select * from {{ fsdbt.point_in_time_join(
    source('pit_raw', 'raw_spine'),
    ['v_pair.*', 'v_user.f_num', 'v_item.*', 'v_recent.f_int', 'v_recent.Mixed Case', 'v_user.amount'],
    full_feature_names=true) }}
