{#-
  keys_not_null: the entity keys and the timestamp of a feature view are never NULL.
  Each offending row is one failure.

  Arguments (optional on a feature view: they default to the model's meta.fsdbt):
    entities       list of key columns, e.g. [driver_id, customer_id]
    timestamp      the event-time column
    row_condition  SQL filter applied first

      models:
        - name: driver_customer_stats
          data_tests:
            - fsdbt.keys_not_null
            - fsdbt.keys_not_null:
                arguments:
                  entities: [driver_id]
                  timestamp: ended_at
                  row_condition: "ended_at >= '2024-01-01'"
                config:
                  error_if: ">10"
                  warn_if: ">0"
-#}
{% test keys_not_null(model, entities=none, timestamp=none, row_condition=none) %}
  {#- Arguments are checked when the test runs, so one broken test never breaks `dbt parse`. -#}
  {%- if not execute -%}{{ return('select 1 as fsdbt_parse_placeholder') }}{%- endif %}
  {{ return(adapter.dispatch('test_keys_not_null', 'fsdbt')(model, entities, timestamp, row_condition)) }}
{% endtest %}


{% macro default__test_keys_not_null(model, entities, timestamp, row_condition) %}
{%- set keys = fsdbt._fsdbt_view_keys('keys_not_null', model, entities, timestamp, none, false) %}
with rows_ as (
    select * from {{ fsdbt._fsdbt_rows(model, row_condition) }} as r
),

validation_errors as (
    select *
    from rows_
    where {% for c in keys.entities + [keys.timestamp] %}{{ fsdbt._fsdbt_quote_column(c) }} is null{{ " or " if not loop.last }}{% endfor %}
)

select * from validation_errors
{% endmacro %}
