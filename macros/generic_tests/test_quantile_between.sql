{#-
  quantile_between: the quantile `quantile` (0 to 1; 0.5 is the median) of a column's
  non-NULL values lies within bounds. The quantile is continuous (linear interpolation, as
  pandas' default). An empty column passes. At most one failure.

  Arguments:
    quantile              the quantile, between 0 and 1 (required)
    min_value, max_value  numbers; at least one
    inclusive             true (default): a quantile equal to a bound passes
    row_condition         SQL filter applied first

      models:
        - name: driver_hourly_stats
          columns:
            - name: avg_trip_km
              data_tests:
                - fsdbt.quantile_between:
                    arguments:
                      quantile: 0.95
                      max_value: 40
-#}
{% test quantile_between(model, column_name, quantile=none, min_value=none, max_value=none, inclusive=true, row_condition=none) %}
  {#- Arguments are checked when the test runs, so one broken test never breaks `dbt parse`. -#}
  {%- if not execute -%}{{ return('select 1 as fsdbt_parse_placeholder') }}{%- endif %}
  {{ return(adapter.dispatch('test_quantile_between', 'fsdbt')(model, column_name, quantile, min_value, max_value, inclusive, row_condition)) }}
{% endtest %}


{% macro default__test_quantile_between(model, column_name, quantile, min_value, max_value, inclusive, row_condition) %}
{#- Portable; the quantile aggregate itself is dispatched per adapter (fsdbt._fsdbt_quantile). -#}
{%- set quantile = fsdbt._fsdbt_number_arg('quantile_between', 'quantile', quantile, 0, 1) -%}
{%- do fsdbt._fsdbt_bounds_arg('quantile_between', min_value, max_value) -%}
{%- do fsdbt._fsdbt_bool_arg('quantile_between', 'inclusive', inclusive) %}
with stats as (
    select {{ fsdbt._fsdbt_quantile('cast(' ~ fsdbt._fsdbt_quote_column(column_name) ~ ' as double precision)', quantile) }} as quantile_value
    from {{ fsdbt._fsdbt_rows(model, row_condition) }} as r
),

validation_errors as (
    select
        quantile_value,
        {{ quantile }} as quantile,
        {{ min_value if min_value is not none else 'null' }} as min_value,
        {{ max_value if max_value is not none else 'null' }} as max_value
    from stats
    where quantile_value is not null
      and {{ fsdbt._fsdbt_outside('quantile_value', min_value, max_value, inclusive) }}
)

select * from validation_errors
{% endmacro %}
