{#-
  null_rate: the share of NULLs in a column is at most `max_rate` (0 to 1). An empty model
  passes. At most one failure.

  Arguments:
    max_rate       the largest share of NULLs allowed, e.g. 0.05 (required)
    row_condition  SQL filter applied first

      models:
        - name: customer_profile
          columns:
            - name: avg_tip_share
              data_tests:
                - fsdbt.null_rate:
                    arguments:
                      max_rate: 0.05
-#}
{% test null_rate(model, column_name, max_rate=none, row_condition=none) %}
  {#- Arguments are checked when the test runs, so one broken test never breaks `dbt parse`. -#}
  {%- if not execute -%}{{ return('select 1 as fsdbt_parse_placeholder') }}{%- endif %}
  {{ return(adapter.dispatch('test_null_rate', 'fsdbt')(model, column_name, max_rate, row_condition)) }}
{% endtest %}


{% macro default__test_null_rate(model, column_name, max_rate, row_condition) %}
{%- set max_rate = fsdbt._fsdbt_number_arg('null_rate', 'max_rate', max_rate, 0, 1) %}
with counts as (
    select
        count(*) as n_rows,
        count({{ fsdbt._fsdbt_quote_column(column_name) }}) as n_present
    from {{ fsdbt._fsdbt_rows(model, row_condition) }} as r
),

validation_errors as (
    select
        n_rows,
        n_rows - n_present as n_null,
        cast(n_rows - n_present as double precision) / n_rows as null_rate,
        {{ max_rate }} as max_rate
    from counts
    where n_rows > 0
      and (n_rows - n_present) > {{ max_rate }} * n_rows
)

select * from validation_errors
{% endmacro %}
