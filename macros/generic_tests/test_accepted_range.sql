{#-
  accepted_range: every non-NULL value of a column lies within bounds. Each offending row is
  one failure.

  Arguments:
    min_value, max_value  numbers; at least one
    inclusive             true (default): the bounds themselves are accepted
    row_condition         SQL filter applied first

  `fsdbt schema` turns this test into the feature's value domain.

      models:
        - name: driver_hourly_stats
          columns:
            - name: conv_rate
              data_tests:
                - fsdbt.accepted_range:
                    arguments:
                      min_value: 0
                      max_value: 1
                    config:
                      warn_if: ">0"
                      error_if: ">100"
-#}
{% test accepted_range(model, column_name, min_value=none, max_value=none, inclusive=true, row_condition=none) %}
  {#- Arguments are checked when the test runs, so one broken test never breaks `dbt parse`. -#}
  {%- if not execute -%}{{ return('select 1 as fsdbt_parse_placeholder') }}{%- endif %}
  {{ return(adapter.dispatch('test_accepted_range', 'fsdbt')(model, column_name, min_value, max_value, inclusive, row_condition)) }}
{% endtest %}


{% macro default__test_accepted_range(model, column_name, min_value, max_value, inclusive, row_condition) %}
{%- do fsdbt._fsdbt_bounds_arg('accepted_range', min_value, max_value) -%}
{%- do fsdbt._fsdbt_bool_arg('accepted_range', 'inclusive', inclusive) -%}
{%- set column = fsdbt._fsdbt_quote_column(column_name) %}
with rows_ as (
    select * from {{ fsdbt._fsdbt_rows(model, row_condition) }} as r
),

validation_errors as (
    select *
    from rows_
    where {{ column }} is not null
      and {{ fsdbt._fsdbt_outside(column, min_value, max_value, inclusive) }}
)

select * from validation_errors
{% endmacro %}
