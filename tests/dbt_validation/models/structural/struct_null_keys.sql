-- A feature view with 2 rows (both copies of i = 20) whose user_id is NULL. The copies are
-- identical, so the example in the message is the same on every engine.
with base as (
    {{ validation_rows() }}
)

select * from base where i < 100
union all
select i, cast(null as integer), event_ts, loaded_at, amount, rate, score, category, flag
from base where i = 20
union all
select i, cast(null as integer), event_ts, loaded_at, amount, rate, score, category, flag
from base where i = 20
