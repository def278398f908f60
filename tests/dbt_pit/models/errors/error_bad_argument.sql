-- Expected failures caught while dbt parses the project (--vars '{pit_error_case: ...}').
{%- set case = var('pit_error_case') %}
{%- if case == 'bad_spine' %}
select * from {{ fsdbt.point_in_time_join('labels', ['v_pair.f_num']) }}
{%- elif case == 'bad_features' %}
select * from {{ fsdbt.point_in_time_join(ref('spine'), 42) }}
{%- else %}
select 1 as ok
{%- endif %}
