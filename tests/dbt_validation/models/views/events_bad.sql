{{ config(meta={'fsdbt_structural_checks': 'off'}) }}
-- The same events with planted problems (structural checks off, so the model builds and the
-- generic tests can catch them):
--   3 duplicated (user_id, event_ts, loaded_at) rows (copies of i = 10, 11, 12);
--   2 rows with a NULL user_id and 1 with a NULL event_ts (copies of i = 20, 21, 22);
--   rate out of [0, 1] on 4 rows (i = 100..103);
--   score NULL on every 10th row instead of every 20th;
--   in the last 2 days (i >= 1760): amount + 60 and category always 'c'.
with base as (
    {{ validation_rows() }}
),

changed as (
    select
        i,
        user_id,
        event_ts,
        loaded_at,
        case when i >= 1760 then amount + 60 else amount end as amount,
        case when i between 100 and 103 then 1.5 else rate end as rate,
        case when i % 10 = 0 then null else score end as score,
        case when i >= 1760 then 'c' else category end as category,
        flag
    from base
)

select * from changed
union all
select * from changed where i in (10, 11, 12)
union all
select i, cast(null as integer), event_ts, loaded_at, amount, rate, score, category, flag
from changed where i in (20, 21)
union all
select i, user_id, cast(null as timestamp), loaded_at, amount, rate, score, category, flag
from changed where i = 22
