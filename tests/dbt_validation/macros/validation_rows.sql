{#-
  validation_rows: 2000 deterministic events, one every 12 minutes from 2024-01-01 00:00
  (the newest is 2024-01-17 15:48). `amount` takes every value 0.0 .. 99.9 exactly twice
  in a scrambled order; `score` is NULL on every 20th row; `category` is a, b or c.
-#}
{% macro validation_rows() %}
with n as (
    {{ validation_numbers(2000) }}
)

select
    i,
    i % 50 as user_id,
    {{ dbt.dateadd('second', 'i * 720', "cast('2024-01-01 00:00:00' as timestamp)") }} as event_ts,
    {{ dbt.dateadd('second', 'i * 720 + 60', "cast('2024-01-01 00:00:00' as timestamp)") }} as loaded_at,
    cast(((i * 7919) % 1000) / 10.0 as double precision) as amount,
    cast(((i * 7919) % 1000) / 1000.0 as double precision) as rate,
    case when i % 20 = 0 then null else cast(i % 7 as double precision) end as score,
    case when (i * 31) % 10 < 5 then 'a' when (i * 31) % 10 < 8 then 'b' else 'c' end as category,
    (i % 3 = 0) as flag
from n
{% endmacro %}


{#- `n` rows of one integer column `i`: 0 .. n - 1. -#}
{% macro validation_numbers(n) %}
  {{ return(adapter.dispatch('validation_numbers')(n)) }}
{% endmacro %}

{% macro default__validation_numbers(n) -%}
select cast(generate_series as integer) as i from generate_series(0, {{ n - 1 }})
{%- endmacro %}

{% macro snowflake__validation_numbers(n) -%}
{#- Snowflake has no generate_series (fakesnow's DuckDB accepts it, real Snowflake does not). -#}
select cast(row_number() over (order by seq4()) - 1 as integer) as i from table(generator(rowcount => {{ n }}))
{%- endmacro %}


{#- Calls the portable fallback directly, to show what an unsupported adapter gets. -#}
{% macro call_default_quantile() %}
  {% do log(fsdbt.default___fsdbt_quantile('x', 0.5), info=true) %}
{% endmacro %}
