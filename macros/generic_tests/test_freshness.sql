{#-
  freshness: the newest timestamp of the model is no older than `max_age`. An empty model
  fails (it has no fresh row). At most one failure.

  Arguments:
    max_age        a duration: '2 days', '36h', '90m', '1 day 6 hours' (required)
    timestamp      the event-time column (default: the model's meta.fsdbt.timestamp;
                   for a column test, the column)
    now            SQL for the current time (default: the warehouse's current UTC time,
                   as fsdbt keeps event times in UTC)
    row_condition  SQL filter applied first

      models:
        - name: driver_hourly_stats
          data_tests:
            - fsdbt.freshness:
                arguments:
                  max_age: 2 days
                config:
                  severity: warn
-#}
{% test freshness(model, max_age=none, column_name=none, timestamp=none, now=none, row_condition=none) %}
  {#- Arguments are checked when the test runs, so one broken test never breaks `dbt parse`. -#}
  {%- if not execute -%}{{ return('select 1 as fsdbt_parse_placeholder') }}{%- endif %}
  {{ return(adapter.dispatch('test_freshness', 'fsdbt')(model, max_age, column_name or timestamp, now, row_condition)) }}
{% endtest %}


{% macro default__test_freshness(model, max_age, timestamp, now, row_condition) %}
{%- set seconds = fsdbt._fsdbt_duration_seconds('freshness', 'max_age', max_age) -%}
{%- if timestamp is none -%}
  {%- set timestamp = fsdbt._fsdbt_node_meta(fsdbt._fsdbt_model_node(model)).get('timestamp') -%}
{%- endif -%}
{%- if execute and (timestamp is none or timestamp is not string) -%}
  {%- do fsdbt._fsdbt_test_fail('freshness', "no timestamp column for " ~ model ~ ": pass `timestamp: event_timestamp`, attach the test to the column, or set meta.fsdbt.timestamp on the model") -%}
{%- endif -%}
{%- set now_sql = now if now else fsdbt._fsdbt_utc_now() %}
with newest as (
    select max({{ fsdbt._fsdbt_quote_column(timestamp or 'placeholder') }}) as newest_timestamp
    from {{ fsdbt._fsdbt_rows(model, row_condition) }} as r
),

validation_errors as (
    select
        newest_timestamp,
        {{ now_sql }} as checked_at,
        {{ fsdbt._fsdbt_string_literal(max_age) }} as max_age
    from newest
    where newest_timestamp is null
       or newest_timestamp < {{ dbt.dateadd('second', -seconds, now_sql) }}
)

select * from validation_errors
{% endmacro %}
