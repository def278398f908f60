-- A feature view with 1 row (a copy of i = 30) whose event_ts is NULL.
with base as (
    {{ validation_rows() }}
)

select * from base where i < 100
union all
select i, user_id, cast(null as timestamp), loaded_at, amount, rate, score, category, flag
from base where i = 30
