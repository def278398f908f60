{#-
  unique_entity_timestamp: one row per entity keys and timestamp (and created timestamp, when
  the view has one). Each duplicated combination is one failure.

  Arguments (all optional on a feature view: they default to the model's meta.fsdbt):
    entities           list of key columns, e.g. [driver_id]
    timestamp          the event-time column
    created_timestamp  the created/loaded-at column; taken from meta.fsdbt only when neither
                       entities nor timestamp is given
    row_condition      SQL filter applied first, e.g. "event_timestamp >= '2024-01-01'"

  Rows whose keys are NULL are left to keys_not_null.

      models:
        - name: driver_hourly_stats
          data_tests:
            - fsdbt.unique_entity_timestamp
            - fsdbt.unique_entity_timestamp:
                arguments:
                  entities: [driver_id]
                  timestamp: event_timestamp
                config:
                  severity: warn
-#}
{% test unique_entity_timestamp(model, entities=none, timestamp=none, created_timestamp=none, row_condition=none) %}
  {#- Arguments are checked when the test runs, so one broken test never breaks `dbt parse`. -#}
  {%- if not execute -%}{{ return('select 1 as fsdbt_parse_placeholder') }}{%- endif %}
  {{ return(adapter.dispatch('test_unique_entity_timestamp', 'fsdbt')(model, entities, timestamp, created_timestamp, row_condition)) }}
{% endtest %}


{% macro default__test_unique_entity_timestamp(model, entities, timestamp, created_timestamp, row_condition) %}
{%- set keys = fsdbt._fsdbt_view_keys('unique_entity_timestamp', model, entities, timestamp, created_timestamp, true) -%}
{%- set columns = [] -%}
{%- for name in keys.entities + [keys.timestamp] + ([keys.created_timestamp] if keys.created_timestamp else []) -%}
  {%- do columns.append(fsdbt._fsdbt_quote_column(name)) -%}
{%- endfor %}
with rows_ as (
    select * from {{ fsdbt._fsdbt_rows(model, row_condition) }} as r
),

validation_errors as (
    select
        {%- for c in columns %}
        {{ c }},
        {%- endfor %}
        count(*) as n_rows
    from rows_
    where {% for c in keys.entities + [keys.timestamp] %}{{ fsdbt._fsdbt_quote_column(c) }} is not null{{ " and " if not loop.last }}{% endfor %}
    group by {% for c in columns %}{{ c }}{{ ", " if not loop.last }}{% endfor %}
    having count(*) > 1
)

select * from validation_errors
{% endmacro %}
