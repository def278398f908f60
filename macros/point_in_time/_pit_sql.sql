{#- SQL pieces shared by the point_in_time_join implementations. Each takes the plan made by _pit_plan. -#}

{% macro _pit_parse_placeholder() -%}
  {#- dbt renders models once at parse time to record ref() calls; nothing runs this SQL. -#}
  {{ return("(select 1 as fsdbt_parse_placeholder) as fsdbt_point_in_time_join") }}
{%- endmacro %}


{% macro _pit_latest_version_cte(v) -%}
  {#- The view's rows that can match, one per (keys, timestamp): the greatest created_timestamp wins. -#}
  {%- set key_cols = [] -%}
  {%- for k in v.join_keys %}{% do key_cols.append(k.view) %}{% endfor -%}
_fsdbt_view_{{ v.index }} as (
    select {{ v.columns | join(', ') }}
    from {{ v.relation }}
    where {{ v.ts }} is not null
    {%- if v.created is not none %}
    qualify row_number() over (
      partition by {{ key_cols | join(', ') }}, {{ v.ts }}
      order by {{ v.created }} desc nulls last
    ) = 1
    {%- endif %}
  )
{%- endmacro %}


{% macro _pit_window_sql(plan) -%}
  {#- Number the spine rows, rank each row's candidates per view, keep rank 1: works on any warehouse. -#}
  {%- set sql -%}
(
  with
  _fsdbt_spine as (
    select s.*, {{ fsdbt._fsdbt_spine_row_number() }} as _fsdbt_row_id
    from {{ fsdbt._pit_relation_as(plan.spine, "s") }}
  ),
  {%- for v in plan.views %}
  _fsdbt_match_{{ v.index }} as (
    select
      s._fsdbt_row_id,
      {%- for c in v.features %}
      r.{{ c }},
      {%- endfor %}
      row_number() over (
        partition by s._fsdbt_row_id
        order by r.{{ v.ts }} desc{% if v.created is not none %}, r.{{ v.created }} desc nulls last{% endif %}
      ) as _fsdbt_rank
    from _fsdbt_spine as s
    inner join {{ fsdbt._pit_relation_as(v.relation, "r") }}
      on {% for k in v.join_keys %}r.{{ k.view }} = s.{{ k.spine }}
      and {% endfor %}r.{{ v.ts }} <= s.{{ plan.spine_ts }}
      {%- if v.ttl_us is not none %}
      and r.{{ v.ts }} >= {{ fsdbt._fsdbt_ttl_lower_bound('s.' ~ plan.spine_ts, v.ttl_us) }}
      {%- endif %}
      {%- if plan.available_at and v.created is not none %}
      and r.{{ v.created }} <= s.{{ plan.spine_ts }}
      {%- endif %}
  ){{ "," if not loop.last }}
  {%- endfor %}
  select
  {%- for c in plan.spine_columns %}
    s.{{ c }},
  {%- endfor %}
  {%- for o in plan.outputs %}
    {{ plan.views[o.view].alias }}.{{ o.column }} as {{ o.name }}{{ "," if not loop.last }}
  {%- endfor %}
  from _fsdbt_spine as s
  {%- for v in plan.views %}
  left join _fsdbt_match_{{ v.index }} as {{ v.alias }}
    on {{ v.alias }}._fsdbt_row_id = s._fsdbt_row_id and {{ v.alias }}._fsdbt_rank = 1
  {%- endfor %}
) as {{ plan.alias }}
  {%- endset -%}
  {{ return(sql) }}
{%- endmacro %}


{% macro _pit_relation_as(relation, alias) -%}
  {#- `relation as alias`; under dbt's --empty / --sample a ref renders as a subquery, which gets wrapped. -#}
  {%- set rendered = relation | string -%}
  {%- if rendered.startswith('(') -%}
    {{ return("(select * from " ~ rendered ~ ") as " ~ alias) }}
  {%- endif -%}
  {{ return(rendered ~ " as " ~ alias) }}
{%- endmacro %}
