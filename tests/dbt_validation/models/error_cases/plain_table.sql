-- Not a feature view: no meta.fsdbt, so key-reading tests need explicit arguments.
select 1 as user_id, cast('2024-01-01' as timestamp) as event_ts, 1.0 as amount
