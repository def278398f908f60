{#-
  psi_drift: the population stability index (PSI) of a column between a recent window and a
  reference window is at most `threshold`. At most one failure.

      PSI = sum over bins of (recent_share - reference_share) * ln(recent_share / reference_share)

  Numeric columns are binned by the reference window's quantiles (`bins` bins of about equal
  reference counts); other columns are compared value by value (categorical). NULL is a bin
  of its own, so a change in missingness counts as drift. Shares are floored at 0.0001 so an
  empty bin does not make the index infinite. Rules of thumb: < 0.1 stable, 0.1-0.25 moderate
  shift, > 0.25 large shift.

  Windows, relative to the newest timestamp T of the model (after row_condition):
    recent     (T - recent_window, T]
    reference  (T - recent_window - reference_window, T - recent_window]
  or explicit bounds, each window half-open [start, end): recent_start, recent_end,
  reference_start, reference_end (timestamps as text, e.g. '2024-03-01').

  Arguments:
    threshold         largest PSI accepted (default 0.2)
    recent_window     duration (default '1 day')
    reference_window  duration (default '7 days')
    kind              'auto' (default: numeric for number columns), 'numeric' or 'categorical'
    bins              number of quantile bins for numeric columns (default 10)
    timestamp         the event-time column (default: the model's meta.fsdbt.timestamp)
    fail_on_empty     true (default): fail when a window holds no row (PSI undefined)
    row_condition     SQL filter applied first

      models:
        - name: driver_hourly_stats
          columns:
            - name: conv_rate
              data_tests:
                - fsdbt.psi_drift:
                    arguments:
                      threshold: 0.25
                      recent_window: 1 day
                      reference_window: 14 days
            - name: home_city
              data_tests:
                - fsdbt.psi_drift:
                    arguments:
                      kind: categorical
                      recent_start: '2024-03-01'
                      recent_end: '2024-03-08'
                      reference_start: '2024-01-01'
                      reference_end: '2024-03-01'
-#}
{% test psi_drift(model, column_name, threshold=0.2, recent_window='1 day', reference_window='7 days', kind='auto', bins=10, timestamp=none, recent_start=none, recent_end=none, reference_start=none, reference_end=none, fail_on_empty=true, row_condition=none) %}
  {#- Arguments are checked when the test runs, so one broken test never breaks `dbt parse`. -#}
  {%- if not execute -%}{{ return('select 1 as fsdbt_parse_placeholder') }}{%- endif %}
  {{ return(adapter.dispatch('test_psi_drift', 'fsdbt')(model, column_name, threshold, recent_window, reference_window, kind, bins, timestamp, recent_start, recent_end, reference_start, reference_end, fail_on_empty, row_condition)) }}
{% endtest %}


{% macro default__test_psi_drift(model, column_name, threshold, recent_window, reference_window, kind, bins, timestamp, recent_start, recent_end, reference_start, reference_end, fail_on_empty, row_condition) %}
{#- Portable; the quantile aggregate is dispatched per adapter (fsdbt._fsdbt_quantile). -#}
{%- set name = 'psi_drift' -%}
{%- set threshold = fsdbt._fsdbt_number_arg(name, 'threshold', threshold, 0, 1000000) -%}
{%- if kind not in ('auto', 'numeric', 'categorical') -%}
  {%- do fsdbt._fsdbt_test_fail(name, "`kind` must be 'auto', 'numeric' or 'categorical'; got " ~ fsdbt._fsdbt_repr(kind)) -%}
{%- endif -%}
{%- if bins is boolean or bins is not number or bins != (bins | int) or bins < 2 or bins > 100 -%}
  {%- do fsdbt._fsdbt_test_fail(name, "`bins` must be a whole number from 2 to 100, e.g. bins: 10; got " ~ fsdbt._fsdbt_repr(bins)) -%}
{%- endif -%}
{%- do fsdbt._fsdbt_bool_arg(name, 'fail_on_empty', fail_on_empty) -%}
{%- set explicit = [recent_start, recent_end, reference_start, reference_end] -%}
{%- set n_explicit = explicit | reject('none') | list | length -%}
{%- if n_explicit not in (0, 4) -%}
  {%- do fsdbt._fsdbt_test_fail(name, "explicit windows need all four of `recent_start`, `recent_end`, `reference_start`, `reference_end` (got " ~ n_explicit ~ "); or leave them out and use `recent_window`/`reference_window` durations") -%}
{%- endif -%}
{%- if timestamp is none -%}
  {%- set timestamp = fsdbt._fsdbt_node_meta(fsdbt._fsdbt_model_node(model)).get('timestamp') -%}
{%- endif -%}
{%- if execute and (timestamp is none or timestamp is not string) -%}
  {%- do fsdbt._fsdbt_test_fail(name, "no timestamp column for " ~ model ~ " to find the windows: pass `timestamp: event_timestamp` or set meta.fsdbt.timestamp on the model") -%}
{%- endif -%}
{%- set ts = fsdbt._fsdbt_quote_column(timestamp or 'placeholder') -%}
{%- set column = fsdbt._fsdbt_quote_column(column_name) -%}
{%- if kind == 'auto' -%}
  {#- Numeric when the warehouse says the column is a number; anything else is categorical. -#}
  {%- set found = namespace(kind='categorical') -%}
  {%- for c in adapter.get_columns_in_relation(model) -%}
    {%- if c.name | lower == (column_name | lower | replace('"', '')) and c.is_number() -%}
      {%- set found.kind = 'numeric' -%}
    {%- endif -%}
  {%- endfor -%}
  {%- set kind = found.kind -%}
{%- endif -%}
{%- set ts_type = dbt.type_timestamp() -%}
with rows_ as (
    select {{ ts }} as ts_, {{ column }} as value_
    from {{ fsdbt._fsdbt_rows(model, row_condition) }} as r
),

{%- if n_explicit == 4 %}

windowed as (
    select
        case
            when ts_ >= cast({{ fsdbt._fsdbt_string_literal(recent_start) }} as {{ ts_type }})
             and ts_ < cast({{ fsdbt._fsdbt_string_literal(recent_end) }} as {{ ts_type }}) then 'recent'
            when ts_ >= cast({{ fsdbt._fsdbt_string_literal(reference_start) }} as {{ ts_type }})
             and ts_ < cast({{ fsdbt._fsdbt_string_literal(reference_end) }} as {{ ts_type }}) then 'reference'
        end as window_,
        value_
    from rows_
),
{%- else %}
{%- set recent_s = fsdbt._fsdbt_duration_seconds(name, 'recent_window', recent_window) -%}
{%- set reference_s = fsdbt._fsdbt_duration_seconds(name, 'reference_window', reference_window) %}

newest as (
    select max(ts_) as newest_ from rows_
),

windowed as (
    select
        case
            when ts_ > {{ dbt.dateadd('second', -recent_s, 'newest_') }} then 'recent'
            when ts_ > {{ dbt.dateadd('second', -(recent_s + reference_s), 'newest_') }} then 'reference'
        end as window_,
        value_
    from rows_
    cross join newest
),
{%- endif %}

{%- if kind == 'numeric' %}

edges as (
    select
        {%- for i in range(1, bins) %}
        {{ fsdbt._fsdbt_quantile('cast(value_ as double precision)', (i / bins) | round(6)) }} as e{{ i }}{{ "," if not loop.last }}
        {%- endfor %}
    from windowed
    where window_ = 'reference'
),

binned as (
    select
        window_,
        case
            when value_ is null then 'null'
            {%- for i in range(1, bins) %}
            when cast(value_ as double precision) < e{{ i }} then 'b{{ "%03d" % (i - 1) }}'
            {%- endfor %}
            else 'b{{ "%03d" % (bins - 1) }}'
        end as bin_
    from windowed
    cross join edges
    where window_ is not null
),
{%- else %}

binned as (
    select
        window_,
        case when value_ is null then 'null' else 'v:' || cast(value_ as {{ dbt.type_string() }}) end as bin_
    from windowed
    where window_ is not null
),
{%- endif %}

per_bin as (
    select
        bin_,
        sum(case when window_ = 'recent' then 1 else 0 end) as recent_n,
        sum(case when window_ = 'reference' then 1 else 0 end) as reference_n
    from binned
    group by bin_
),

totals as (
    select
        coalesce(sum(recent_n), 0) as recent_rows,
        coalesce(sum(reference_n), 0) as reference_rows
    from per_bin
),

shares as (
    {#- coalesce: a share of an empty window is 0 (then floored). greatest() skips a NULL on DuckDB
        and PostgreSQL but returns NULL on Snowflake, which made the reported psi NULL there. #}
    select
        greatest(coalesce(cast(p.recent_n as double precision) / nullif(t.recent_rows, 0), 0), 0.0001) as recent_share,
        greatest(coalesce(cast(p.reference_n as double precision) / nullif(t.reference_rows, 0), 0), 0.0001) as reference_share
    from per_bin as p
    cross join totals as t
),

psi as (
    select sum((recent_share - reference_share) * ln(recent_share / reference_share)) as psi
    from shares
),

validation_errors as (
    select
        psi.psi,
        {{ threshold }} as threshold,
        totals.recent_rows,
        totals.reference_rows
    from psi
    cross join totals
    where (psi.psi > {{ threshold }} and totals.recent_rows > 0 and totals.reference_rows > 0)
    {%- if fail_on_empty %}
       or totals.recent_rows = 0
       or totals.reference_rows = 0
    {%- endif %}
)

select * from validation_errors
{% endmacro %}
