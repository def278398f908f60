-- One event an hour ago and one a week ago (for freshness against the warehouse clock).
select 1 as user_id, cast({{ dbt.dateadd('hour', -1, dbt.current_timestamp()) }} as timestamp) as event_ts, 1.0 as amount
union all
select 2 as user_id, cast({{ dbt.dateadd('day', -7, dbt.current_timestamp()) }} as timestamp) as event_ts, 2.0 as amount
