-- A feature view whose (user_id, event_ts, loaded_at) combination of i = 10 occurs 3 times.
-- i = 11 appears twice with different loaded_at: not a duplicate (the created time differs).
with base as (
    {{ validation_rows() }}
)

select * from base where i < 100
union all
select * from base where i = 10
union all
select * from base where i = 10
union all
select i, user_id, event_ts, {{ dbt.dateadd('second', 1, 'loaded_at') }}, amount, rate, score, category, flag
from base where i = 11
