{#-
  fsdbt.point_in_time_join: a point-in-time correct training set, as a subquery.

      select * from {{ fsdbt.point_in_time_join(
          ref('trips'),
          ['driver_hourly_stats.*', 'customer_profile.lifetime_trips'],
          spine_timestamp='event_timestamp',
          full_feature_names=false,
          available_at=false) }}

  For every spine row (entity keys K, time t) and every feature view V named in
  `features`, the features come from the row r of V with r.K = K, r.timestamp <= t and,
  if V has a ttl, r.timestamp >= t - ttl (both edges inclusive); among those, the greatest
  r.timestamp, then the greatest r.created_timestamp (NULL counts as the smallest). The row
  is taken whole; no such row gives NULL features. With available_at=true, r must also have
  r.created_timestamp <= t. The output has exactly the spine's rows and columns, then one
  column per feature in reference order. See docs/point-in-time.md.

  `features` is a list of 'view.feature' / 'view.*' strings, ref('view') relations (all of
  the view's features) and feature-service names (a dbt exposure of type ml with
  meta.fsdbt.features), or one of those on its own.
-#}
{% macro point_in_time_join(spine, features, spine_timestamp='event_timestamp', full_feature_names=false, available_at=false) -%}
  {{ return(adapter.dispatch('point_in_time_join', 'fsdbt')(spine, features, spine_timestamp, full_feature_names, available_at)) }}
{%- endmacro %}


{% macro default__point_in_time_join(spine, features, spine_timestamp, full_feature_names, available_at) -%}
  {#- Portable form for any SQL warehouse: join on keys and the time window, keep rank 1 per spine row. -#}
  {%- set plan = fsdbt._pit_plan(spine, features, spine_timestamp, full_feature_names, available_at) -%}
  {%- if plan is none -%}{{ return(fsdbt._pit_parse_placeholder()) }}{%- endif -%}
  {{ return(fsdbt._pit_window_sql(plan)) }}
{%- endmacro %}


{% macro duckdb__point_in_time_join(spine, features, spine_timestamp, full_feature_names, available_at) -%}
  {#- DuckDB has ASOF LEFT JOIN: one sorted merge per view instead of a keys-and-window join. -#}
  {%- set plan = fsdbt._pit_plan(spine, features, spine_timestamp, full_feature_names, available_at) -%}
  {%- if plan is none -%}{{ return(fsdbt._pit_parse_placeholder()) }}{%- endif -%}
  {#- ASOF allows one inequality; available-at needs two (event time and created time). -#}
  {%- if plan.available_at -%}{{ return(fsdbt._pit_window_sql(plan)) }}{%- endif -%}
  {%- set sql -%}
(
  with
  {%- for v in plan.views %}
  {{ fsdbt._pit_latest_version_cte(v) }}{{ "," if not loop.last }}
  {%- endfor %}
  select
  {%- for c in plan.spine_columns %}
    s.{{ c }},
  {%- endfor %}
  {%- for o in plan.outputs %}
    {%- set v = plan.views[o.view] %}
    {%- if v.ttl_us is none %}
    {{ v.alias }}.{{ o.column }} as {{ o.name }}{{ "," if not loop.last }}
    {%- else %}
    case when {{ v.alias }}.{{ v.ts }} >= {{ fsdbt._fsdbt_ttl_lower_bound('s.' ~ plan.spine_ts, v.ttl_us) }} then {{ v.alias }}.{{ o.column }} end as {{ o.name }}{{ "," if not loop.last }}
    {%- endif %}
  {%- endfor %}
  from {{ fsdbt._pit_relation_as(plan.spine, "s") }}
  {%- for v in plan.views %}
  asof left join _fsdbt_view_{{ v.index }} as {{ v.alias }}
    on {% for k in v.join_keys %}s.{{ k.spine }} = {{ v.alias }}.{{ k.view }} and {% endfor %}s.{{ plan.spine_ts }} >= {{ v.alias }}.{{ v.ts }}
  {%- endfor %}
) as {{ plan.alias }}
  {%- endset -%}
  {{ return(sql) }}
{%- endmacro %}


{% macro snowflake__point_in_time_join(spine, features, spine_timestamp, full_feature_names, available_at) -%}
  {#- Snowflake has ASOF JOIN ... MATCH_CONDITION: one sorted merge per view instead of a keys-and-window join. -#}
  {%- set plan = fsdbt._pit_plan(spine, features, spine_timestamp, full_feature_names, available_at) -%}
  {%- if plan is none -%}{{ return(fsdbt._pit_parse_placeholder()) }}{%- endif -%}
  {#- MATCH_CONDITION takes one inequality; available-at needs two (event time and created time). -#}
  {%- if plan.available_at -%}{{ return(fsdbt._pit_window_sql(plan)) }}{%- endif -%}
  {%- set sql -%}
(
  with
  _fsdbt_spine as (
    select s.*, {{ fsdbt._fsdbt_spine_row_number() }} as _fsdbt_row_id
    from {{ fsdbt._pit_relation_as(plan.spine, "s") }}
  ),
  {%- for v in plan.views %}
  {{ fsdbt._pit_latest_version_cte(v) }},
  _fsdbt_match_{{ v.index }} as (
    select s._fsdbt_row_id, {{ v.alias }}.{{ v.ts }}{% for c in v.features %}, {{ v.alias }}.{{ c }}{% endfor %}
    from _fsdbt_spine as s
    asof join _fsdbt_view_{{ v.index }} as {{ v.alias }}
      match_condition (s.{{ plan.spine_ts }} >= {{ v.alias }}.{{ v.ts }})
      on {% for k in v.join_keys %}{{ "" if loop.first else " and " }}s.{{ k.spine }} = {{ v.alias }}.{{ k.view }}{% endfor %}
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
    on {{ v.alias }}._fsdbt_row_id = s._fsdbt_row_id
    {%- if v.ttl_us is not none %}
    and {{ v.alias }}.{{ v.ts }} >= {{ fsdbt._fsdbt_ttl_lower_bound('s.' ~ plan.spine_ts, v.ttl_us) }}
    {%- endif %}
  {%- endfor %}
) as {{ plan.alias }}
  {%- endset -%}
  {{ return(sql) }}
{%- endmacro %}


{% macro postgres__point_in_time_join(spine, features, spine_timestamp, full_feature_names, available_at) -%}
  {#- PostgreSQL has no ASOF join; LEFT JOIN LATERAL ... LIMIT 1 walks an index on (keys, timestamp) per spine row. -#}
  {%- set plan = fsdbt._pit_plan(spine, features, spine_timestamp, full_feature_names, available_at) -%}
  {%- if plan is none -%}{{ return(fsdbt._pit_parse_placeholder()) }}{%- endif -%}
  {%- set sql -%}
(
  select
  {%- for c in plan.spine_columns %}
    s.{{ c }},
  {%- endfor %}
  {%- for o in plan.outputs %}
    {{ plan.views[o.view].alias }}.{{ o.column }} as {{ o.name }}{{ "," if not loop.last }}
  {%- endfor %}
  from {{ fsdbt._pit_relation_as(plan.spine, "s") }}
  {%- for v in plan.views %}
  left join lateral (
    select {% for c in v.features %}{{ "" if loop.first else ", " }}r.{{ c }}{% endfor %}
    from {{ fsdbt._pit_relation_as(v.relation, "r") }}
    where {% for k in v.join_keys %}r.{{ k.view }} = s.{{ k.spine }}
      and {% endfor %}r.{{ v.ts }} <= s.{{ plan.spine_ts }}
    {%- if v.ttl_us is not none %}
      and r.{{ v.ts }} >= {{ fsdbt._fsdbt_ttl_lower_bound('s.' ~ plan.spine_ts, v.ttl_us) }}
    {%- endif %}
    {%- if plan.available_at and v.created is not none %}
      and r.{{ v.created }} <= s.{{ plan.spine_ts }}
    {%- endif %}
    order by r.{{ v.ts }} desc{% if v.created is not none %}, r.{{ v.created }} desc nulls last{% endif %}
    limit 1
  ) as {{ v.alias }} on true
  {%- endfor %}
) as {{ plan.alias }}
  {%- endset -%}
  {{ return(sql) }}
{%- endmacro %}
