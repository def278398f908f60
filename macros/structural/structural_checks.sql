{#-
  fsdbt.structural_checks: the checks every feature view gets without writing a test.

  Run as a model post-hook, it does nothing for a model without meta.fsdbt. For a feature
  view it checks, in the warehouse, right after the model is built:
    - no entity key and no timestamp is NULL;
    - one row per entity keys + timestamp (+ created_timestamp when the view has one).
  A violation fails the model (so `dbt build` fails and skips what depends on it) with a
  message naming the model, the key columns and an example row.

  Install it once per project, in dbt_project.yml (`fsdbt init` writes this):

      models:
        my_project:
          +post-hook:
            - "{{ fsdbt.structural_checks() }}"

  Per model or folder, `meta.fsdbt_structural_checks` chooses the behaviour: 'error'
  (default), 'warn' (log a warning, do not fail) or 'off'. The var
  `fsdbt_structural_checks` sets the project-wide default.

      {{ config(meta={'fsdbt_structural_checks': 'warn'}) }}
-#}
{% macro structural_checks() -%}
  {{ return(adapter.dispatch('structural_checks', 'fsdbt')()) }}
{%- endmacro %}


{% macro default__structural_checks() -%}
  {%- if not execute or model is not defined or model is none or model.resource_type != 'model' -%}
    {{ return('') }}
  {%- endif -%}
  {%- set meta = fsdbt._fsdbt_node_meta(model) -%}
  {%- if not meta -%}{{ return('') }}{%- endif -%}
  {%- set node_meta = (model.config or {}).get('meta') or {} -%}
  {%- set mode = node_meta.get('fsdbt_structural_checks', var('fsdbt_structural_checks', 'error')) | string | lower -%}
  {%- if mode not in ('error', 'warn', 'off') -%}
    {{ exceptions.raise_compiler_error("fsdbt structural checks: model '" ~ model.name ~ "' (" ~ model.original_file_path ~ "): meta.fsdbt_structural_checks must be 'error', 'warn' or 'off'; got '" ~ mode ~ "'") }}
  {%- endif -%}
  {%- if mode == 'off' -%}{{ return('') }}{%- endif -%}
  {%- set entities = meta.get('entities') -%}
  {%- set timestamp = meta.get('timestamp') -%}
  {%- if entities is string or entities is not iterable or entities is mapping or not entities or timestamp is not string -%}
    {#- A malformed meta.fsdbt is reported by fsdbt's contract checks (fsdbt ls / sync), with the fix. -#}
    {{ return('') }}
  {%- endif -%}
  {%- set created = meta.get('created_timestamp') if meta.get('created_timestamp') is string else none -%}
  {%- set problems = fsdbt._fsdbt_structural_problems(this, entities | list, timestamp, created) -%}
  {%- if problems -%}
    {%- set message = "fsdbt structural check failed for feature view '" ~ model.name ~ "' (" ~ model.original_file_path ~ "): " ~ (problems | join("; ")) ~ ". Fix the model so that each entity and timestamp has exactly one row with non-NULL keys (deduplicate it, e.g. keep the latest row per key with row_number()), or set meta.fsdbt_structural_checks to 'warn' or 'off' for this model." -%}
    {%- if mode == 'warn' -%}
      {%- do exceptions.warn(message) -%}
    {%- else -%}
      {{ exceptions.raise_compiler_error(message) }}
    {%- endif -%}
  {%- endif -%}
  {{ return('') }}
{%- endmacro %}


{#- Runs the two structural queries on `relation`; returns a list of messages (empty when fine). -#}
{% macro _fsdbt_structural_problems(relation, entities, timestamp, created) -%}
  {%- set keys = entities + [timestamp] -%}
  {%- set all_keys = keys + ([created] if created else []) -%}
  {%- set quoted = [] -%}
  {%- for k in all_keys -%}{%- do quoted.append(fsdbt._fsdbt_quote_column(k)) -%}{%- endfor -%}
  {%- set key_quoted = quoted[: keys | length] -%}
  {%- set problems = [] -%}

  {%- set null_sql -%}
    select count(*) over () as fsdbt_n_rows, {{ quoted | join(', ') }}
    from {{ relation }}
    where {% for k in key_quoted %}{{ k }} is null{{ " or " if not loop.last }}{% endfor %}
    limit 1
  {%- endset -%}
  {%- set nulls = run_query(null_sql) -%}
  {%- if nulls.rows | length > 0 -%}
    {%- set row = nulls.rows[0] -%}
    {%- set example = [] -%}
    {%- for k in all_keys -%}{%- do example.append(k ~ "=" ~ (row[loop.index] if row[loop.index] is not none else 'NULL')) -%}{%- endfor -%}
    {%- do problems.append(row[0] ~ " row(s) with a NULL key in (" ~ keys | join(', ') ~ "), e.g. " ~ example | join(', ')) -%}
  {%- endif -%}

  {%- set dup_sql -%}
    select count(*) over () as fsdbt_n_groups, count(*) as fsdbt_n_rows, {{ quoted | join(', ') }}
    from {{ relation }}
    where {% for k in key_quoted %}{{ k }} is not null{{ " and " if not loop.last }}{% endfor %}
    group by {{ quoted | join(', ') }}
    having count(*) > 1
    order by count(*) desc
    limit 1
  {%- endset -%}
  {%- set dups = run_query(dup_sql) -%}
  {%- if dups.rows | length > 0 -%}
    {%- set row = dups.rows[0] -%}
    {%- set example = [] -%}
    {%- for k in all_keys -%}{%- do example.append(k ~ "=" ~ (row[loop.index + 1] if row[loop.index + 1] is not none else 'NULL')) -%}{%- endfor -%}
    {%- do problems.append(row[0] ~ " duplicated (" ~ all_keys | join(', ') ~ ") combination(s), e.g. " ~ example | join(', ') ~ " occurs " ~ row[1] ~ " times") -%}
  {%- endif -%}
  {{ return(problems) }}
{%- endmacro %}
