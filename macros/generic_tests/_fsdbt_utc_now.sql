{#-
  _fsdbt_utc_now: the current time as a timestamp without time zone, in UTC (fsdbt stores
  event times as UTC wall-clock timestamps), so freshness does not depend on the session's
  time zone.
-#}
{% macro _fsdbt_utc_now() -%}
  {{ return(adapter.dispatch('_fsdbt_utc_now', 'fsdbt')()) }}
{%- endmacro %}

{% macro default___fsdbt_utc_now() -%}
  {{ exceptions.raise_compiler_error("fsdbt: the current UTC time is not implemented for adapter '" ~ adapter.type() ~ "'; pass `now` (a SQL timestamp expression) to the test, or add a " ~ adapter.type() ~ "___fsdbt_utc_now macro") }}
{%- endmacro %}

{% macro duckdb___fsdbt_utc_now() -%}
  {#- DuckDB: now() is a timestamptz; its UTC wall-clock time is the naive timestamp. -#}
  {{ return("cast(timezone('UTC', now()) as timestamp)") }}
{%- endmacro %}

{% macro postgres___fsdbt_utc_now() -%}
  {#- PostgreSQL: `at time zone 'UTC'` turns a timestamptz into UTC wall-clock time. -#}
  {{ return("(now() at time zone 'UTC')") }}
{%- endmacro %}

{% macro snowflake___fsdbt_utc_now() -%}
  {#- Snowflake: sysdate() is the current UTC time as TIMESTAMP_NTZ. -#}
  {{ return("sysdate()") }}
{%- endmacro %}
