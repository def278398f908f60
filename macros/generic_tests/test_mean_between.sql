{#-
  mean_between: the mean of a column's non-NULL values lies within bounds. An empty column
  (no non-NULL value) passes. At most one failure.

  Arguments:
    min_value, max_value  numbers; at least one
    inclusive             true (default): a mean equal to a bound passes
    row_condition         SQL filter applied first

      models:
        - name: driver_hourly_stats
          columns:
            - name: conv_rate
              data_tests:
                - fsdbt.mean_between:
                    arguments:
                      min_value: 0.4
                      max_value: 0.8
                      row_condition: "event_timestamp >= '2024-01-01'"
-#}
{% test mean_between(model, column_name, min_value=none, max_value=none, inclusive=true, row_condition=none) %}
  {#- Arguments are checked when the test runs, so one broken test never breaks `dbt parse`. -#}
  {%- if not execute -%}{{ return('select 1 as fsdbt_parse_placeholder') }}{%- endif %}
  {{ return(adapter.dispatch('test_mean_between', 'fsdbt')(model, column_name, min_value, max_value, inclusive, row_condition)) }}
{% endtest %}


{% macro default__test_mean_between(model, column_name, min_value, max_value, inclusive, row_condition) %}
{%- do fsdbt._fsdbt_bounds_arg('mean_between', min_value, max_value) -%}
{%- do fsdbt._fsdbt_bool_arg('mean_between', 'inclusive', inclusive) %}
with stats as (
    select avg(cast({{ fsdbt._fsdbt_quote_column(column_name) }} as double precision)) as mean_value
    from {{ fsdbt._fsdbt_rows(model, row_condition) }} as r
),

validation_errors as (
    select
        mean_value,
        {{ min_value if min_value is not none else 'null' }} as min_value,
        {{ max_value if max_value is not none else 'null' }} as max_value
    from stats
    where mean_value is not null
      and {{ fsdbt._fsdbt_outside('mean_value', min_value, max_value, inclusive) }}
)

select * from validation_errors
{% endmacro %}
