-- Expected failure (with --vars '{pit_error_case: execute}'): a misspelt feature.
{%- if var('pit_error_case') == 'execute' %}
select * from {{ fsdbt.point_in_time_join(ref('spine'), ['v_pair.f_nmu']) }}
{%- else %}
select 1 as ok
{%- endif %}
