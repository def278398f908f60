{#-
  _fsdbt_quantile: the aggregate expression for the continuous (interpolated) quantile `q`
  of `expr`, as pandas' and numpy's default linear interpolation gives it.
-#}
{% macro _fsdbt_quantile(expr, q) -%}
  {{ return(adapter.dispatch('_fsdbt_quantile', 'fsdbt')(expr, q)) }}
{%- endmacro %}

{% macro default___fsdbt_quantile(expr, q) -%}
  {{ exceptions.raise_compiler_error("fsdbt: quantiles are not implemented for adapter '" ~ adapter.type() ~ "'; add a " ~ adapter.type() ~ "___fsdbt_quantile macro (an ordered-set aggregate such as percentile_cont)") }}
{%- endmacro %}

{% macro duckdb___fsdbt_quantile(expr, q) -%}
  {#- DuckDB: quantile_cont is its native spelling of percentile_cont. -#}
  {{ return("quantile_cont(" ~ expr ~ ", " ~ q ~ ")") }}
{%- endmacro %}

{% macro postgres___fsdbt_quantile(expr, q) -%}
  {#- PostgreSQL: an ordered-set aggregate. -#}
  {{ return("percentile_cont(" ~ q ~ ") within group (order by " ~ expr ~ ")") }}
{%- endmacro %}

{% macro snowflake___fsdbt_quantile(expr, q) -%}
  {#- Snowflake: the same ordered-set syntax as PostgreSQL. -#}
  {{ return("percentile_cont(" ~ q ~ ") within group (order by " ~ expr ~ ")") }}
{%- endmacro %}
