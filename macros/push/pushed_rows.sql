{#-
  fsdbt.pushed_rows: the rows pushed offline to a feature view (fsdbt push / HTTP /push), as a
  subquery with the view's columns, typed as its yml says. A feature view model unions it in:

      select driver_id, event_timestamp, loaded_at, conv_rate from {{ source('raw', 'driver_stats') }}
      union all
      select driver_id, event_timestamp, loaded_at, conv_rate from {{ fsdbt.pushed_rows('driver_hourly_stats') }}

  With nothing pushed yet it is an empty select of the same columns and types, so the model
  builds exactly as it would without it. Where the rows live (docs/decisions/0005-push-log.md):
  - DuckDB: Parquet files under <push log dir>/<view>/ (one per push). The directory is
    $FSDBT_PUSH_LOG_DIR, else the var fsdbt_push_log_dir, else push_log; a relative path is
    under the project directory. The files are globbed when the model runs.
  - other warehouses: the table fsdbt_push_<view> beside the view.
  The columns and types come from the view's yml (`columns:` with `data_type`).
-#}
{% macro pushed_rows(view_name) -%}
  {{ return(adapter.dispatch('pushed_rows', 'fsdbt')(view_name)) }}
{%- endmacro %}


{% macro default__pushed_rows(view_name) -%}
  {#- Warehouses with many writers: the push appends to a table, read here if it exists yet. -#}
  {%- set node = fsdbt._pushed_rows_node(view_name) -%}
  {%- set columns = fsdbt._pushed_rows_columns(node, view_name) -%}
  {%- if not execute or node is none -%}{{ return(fsdbt._pushed_rows_empty(columns)) }}{%- endif -%}
  {%- set relation = adapter.get_relation(database=node.database, schema=node.schema,
                                          identifier='fsdbt_push_' ~ view_name) -%}
  {%- if relation is none -%}{{ return(fsdbt._pushed_rows_empty(columns)) }}{%- endif -%}
  {%- set present = [] -%}
  {%- for c in adapter.get_columns_in_relation(relation) -%}{%- do present.append(c.name | lower) -%}{%- endfor -%}
  {{ return(fsdbt._pushed_rows_select(columns, relation, present)) }}
{%- endmacro %}


{% macro duckdb__pushed_rows(view_name) -%}
  {#- DuckDB: a second process cannot open the file, so pushes land as Parquet files read here. -#}
  {%- set node = fsdbt._pushed_rows_node(view_name) -%}
  {%- set columns = fsdbt._pushed_rows_columns(node, view_name) -%}
  {%- if not execute or node is none -%}{{ return(fsdbt._pushed_rows_empty(columns)) }}{%- endif -%}
  {%- set pattern = fsdbt._push_log_dir() ~ '/' ~ view_name ~ '/*.parquet' -%}
  {#- glob() lists matching files, and none at all without an error. -#}
  {%- set found = run_query("select count(*) from glob(" ~ fsdbt._pushed_rows_literal(pattern) ~ ")") -%}
  {%- if found.columns[0].values()[0] == 0 -%}{{ return(fsdbt._pushed_rows_empty(columns)) }}{%- endif -%}
  {#- The pattern, not the list: the files are globbed again when the model runs, so a compaction
      (fsdbt push-log compact) in between leaves nothing missing. -#}
  {%- set source = "read_parquet(" ~ fsdbt._pushed_rows_literal(pattern) ~ ", union_by_name = true)" -%}
  {%- set described = run_query("describe select * from " ~ source) -%}
  {%- set present = [] -%}
  {%- for name in described.columns[0].values() -%}{%- do present.append(name | lower) -%}{%- endfor -%}
  {{ return(fsdbt._pushed_rows_select(columns, source, present)) }}
{%- endmacro %}


{% macro _pushed_rows_node(view_name) -%}
  {%- if view_name is not string or view_name | length == 0 -%}
    {{ exceptions.raise_compiler_error("pushed_rows: `view_name` must be the feature view's model name as a string, e.g. pushed_rows('driver_hourly_stats'); got " ~ view_name) }}
  {%- endif -%}
  {%- if not execute -%}{{ return(none) }}{%- endif -%}
  {%- for node in graph.nodes.values() -%}
    {%- if node.resource_type == 'model' and node.name == view_name -%}{{ return(node) }}{%- endif -%}
  {%- endfor -%}
  {{ exceptions.raise_compiler_error("pushed_rows: no model named '" ~ view_name ~ "'; pass the name of the feature view model whose pushed rows to read") }}
{%- endmacro %}


{% macro _pushed_rows_columns(node, view_name) -%}
  {%- if node is none -%}{{ return([]) }}{%- endif -%}
  {%- set columns = [] -%}
  {%- for name, col in node.columns.items() -%}
    {%- do columns.append({'name': name, 'data_type': col.data_type}) -%}
  {%- endfor -%}
  {%- if columns | length == 0 -%}
    {{ exceptions.raise_compiler_error("pushed_rows: model '" ~ view_name ~ "' (" ~ node.original_file_path ~ ") lists no columns in its yml; the pushed rows are typed from them: list every column with its data_type") }}
  {%- endif -%}
  {{ return(columns) }}
{%- endmacro %}


{% macro _pushed_rows_cast(expr, data_type) -%}
  {%- if not data_type -%}{{ return(expr) }}{%- endif -%}
  {%- set t = data_type | lower | trim -%}
  {%- if target.type == 'duckdb' and (t == 'timestamptz' or t.startswith('timestamp with time zone')) -%}
    {#- Pushed timestamps are naive UTC; a plain cast would read them in the session's time zone. -#}
    {{ return("timezone('UTC', cast(" ~ expr ~ " as timestamp))") }}
  {%- endif -%}
  {{ return("cast(" ~ expr ~ " as " ~ data_type ~ ")") }}
{%- endmacro %}


{% macro _pushed_rows_select(columns, relation, present) -%}
  {#- A column the view gained after the rows were pushed is NULL in them (`present`: the
      lower-cased names the pushed rows have). -#}
  {%- set items = [] -%}
  {%- for c in columns -%}
    {%- set name = fsdbt._pushed_rows_ident(c.name) -%}
    {%- set value = name if (c.name | lower) in present else "null" -%}
    {%- do items.append(fsdbt._pushed_rows_cast(value, c.data_type) ~ " as " ~ name) -%}
  {%- endfor -%}
  {#- distinct: a push sent again (a client retrying after a timeout) logs the same rows twice. -#}
  {{ return("(select distinct " ~ items | join(', ') ~ " from " ~ relation ~ ") as fsdbt_pushed_rows") }}
{%- endmacro %}


{% macro _pushed_rows_ident(name) -%}
  {#- A column as dbt creates it from an unquoted name: Snowflake folds a plain name to upper
      case (and the push table is written so, see fsdbt/sqlnames.py), so it is quoted upper-cased
      there; a quoted "driver_id" would be another column, which `select driver_id` cannot find. -#}
  {%- if target.type == 'snowflake' and modules.re.match('^[A-Za-z_][A-Za-z0-9_$]*$', name) -%}
    {{ return(adapter.quote(name | upper)) }}
  {%- endif -%}
  {{ return(adapter.quote(name)) }}
{%- endmacro %}


{% macro _pushed_rows_empty(columns) -%}
  {%- if columns | length == 0 -%}{{ return("(select 1 as fsdbt_placeholder where 1 = 0) as fsdbt_pushed_rows") }}{%- endif -%}
  {%- set items = [] -%}
  {%- for c in columns -%}
    {%- do items.append(fsdbt._pushed_rows_cast("null", c.data_type) ~ " as " ~ fsdbt._pushed_rows_ident(c.name)) -%}
  {%- endfor -%}
  {{ return("(select " ~ items | join(', ') ~ " where 1 = 0) as fsdbt_pushed_rows") }}
{%- endmacro %}


{% macro _push_log_dir() -%}
  {%- set base = env_var('FSDBT_PUSH_LOG_DIR', '') or var('fsdbt_push_log_dir', '') or 'push_log' -%}
  {%- if not base.startswith('/') -%}
    {%- set base = (invocation_args_dict.get('project_dir') or '.') ~ '/' ~ base -%}
  {%- endif -%}
  {{ return(base.rstrip('/')) }}
{%- endmacro %}


{% macro _pushed_rows_literal(text) -%}
  {{ return("'" ~ (text | string).replace("'", "''") ~ "'") }}
{%- endmacro %}
