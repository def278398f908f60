-- The portable default__ implementation, called directly, on whatever adapter runs the test.
select * from {{ fsdbt.default__point_in_time_join(
    source('pit_raw', 'raw_spine'),
    ['v_pair.*', 'v_user.f_num', 'v_item.*', 'v_recent.f_int', 'v_recent.Mixed Case', 'v_user.amount'],
    'event_timestamp', true, false) }}
