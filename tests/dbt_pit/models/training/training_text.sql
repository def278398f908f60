-- Small on purpose: the Snowflake test compares this model's compiled SQL as text.
select * from {{ fsdbt.point_in_time_join(ref('spine'), ['v_recent.f_int', 'v_item.score']) }}
