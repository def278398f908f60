{#-
  _fsdbt_ttl_lower_bound: the SQL for `timestamp_sql - ttl`, with ttl a whole number of microseconds.
  The ttl is an exact duration (never calendar days), so the bound is the same instant on every
  warehouse, also for time-zone-aware timestamps across a daylight-saving change.
-#}
{% macro _fsdbt_ttl_lower_bound(timestamp_sql, microseconds) -%}
  {{ return(adapter.dispatch('_fsdbt_ttl_lower_bound', 'fsdbt')(timestamp_sql, microseconds | int)) }}
{%- endmacro %}

{% macro default___fsdbt_ttl_lower_bound(timestamp_sql, microseconds) -%}
  {%- if microseconds % 1000000 == 0 -%}
    {{ return(dbt.dateadd('second', -(microseconds // 1000000), timestamp_sql)) }}
  {%- endif -%}
  {{ return(dbt.dateadd('microsecond', -microseconds, timestamp_sql)) }}
{%- endmacro %}

{% macro duckdb___fsdbt_ttl_lower_bound(timestamp_sql, microseconds) -%}
  {#- DuckDB: an interval of microseconds only, so no calendar-day arithmetic applies. -#}
  {{ return("(" ~ timestamp_sql ~ " - to_microseconds(" ~ microseconds ~ "))") }}
{%- endmacro %}

{% macro postgres___fsdbt_ttl_lower_bound(timestamp_sql, microseconds) -%}
  {#- PostgreSQL: '<n> seconds' is stored as time, not days, so it is exact for timestamptz too. -#}
  {%- if microseconds % 1000000 == 0 -%}
    {{ return("(" ~ timestamp_sql ~ " - interval '" ~ (microseconds // 1000000) ~ " seconds')") }}
  {%- endif -%}
  {{ return("(" ~ timestamp_sql ~ " - interval '" ~ microseconds ~ " microseconds')") }}
{%- endmacro %}

{% macro snowflake___fsdbt_ttl_lower_bound(timestamp_sql, microseconds) -%}
  {#- Snowflake: dateadd with a negative amount of seconds (or microseconds). -#}
  {%- if microseconds % 1000000 == 0 -%}
    {{ return("dateadd(second, " ~ -(microseconds // 1000000) ~ ", " ~ timestamp_sql ~ ")") }}
  {%- endif -%}
  {{ return("dateadd(microsecond, " ~ -microseconds ~ ", " ~ timestamp_sql ~ ")") }}
{%- endmacro %}
