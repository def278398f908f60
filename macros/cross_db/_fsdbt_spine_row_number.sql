{#- _fsdbt_spine_row_number: a unique number per spine row, in no particular order. -#}
{% macro _fsdbt_spine_row_number() -%}
  {{ return(adapter.dispatch('_fsdbt_spine_row_number', 'fsdbt')()) }}
{%- endmacro %}

{% macro default___fsdbt_spine_row_number() -%}
  {{ return("row_number() over ()") }}
{%- endmacro %}

{% macro snowflake___fsdbt_spine_row_number() -%}
  {#- Snowflake requires ORDER BY in row_number(); any order will do. -#}
  {{ return("row_number() over (order by null)") }}
{%- endmacro %}
