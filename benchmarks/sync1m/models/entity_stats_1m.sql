-- One row per entity (no history): the sync reads every row as the entity's latest.
-- Values are arithmetic on the entity id, so every build gives the same table.
select
    cast(i as bigint) as entity_id,
    timestamp '2026-01-01 00:00:00' - to_seconds(i % 86400) as event_timestamp,
    cast(round((i * 7919 % 10007) / 10007.0, 4) as double) as score_a,
    cast(round((i * 104729 % 99991) / 99.991, 3) as double) as score_b,
    cast((i * 31 % 1009) * 0.125 as double) as amount_avg,
    cast(case when i % 97 = 0 then null else round((i % 1000) / 1000.0, 3) end as double) as ratio_7d,
    cast(i * 13 % 5000 as bigint) as count_7d,
    cast(i * 17 % 300 as bigint) as count_1d,
    cast(i % 3650 as bigint) as tenure_days,
    'segment_' || cast(i % 12 as varchar) as segment,
    ['lisbon', 'porto', 'madrid', 'paris', 'berlin'][1 + i % 5] as city,
    i % 3 = 0 as is_active
from range({{ var('bench_entities') }}) as t(i)
