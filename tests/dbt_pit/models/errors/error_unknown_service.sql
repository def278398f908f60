-- Expected failure (with --vars '{pit_error_case: execute}'): a misspelt feature service.
{%- if var('pit_error_case') == 'execute' %}
select * from {{ fsdbt.point_in_time_join(ref('spine'), 'svc_pairr') }}
{%- else %}
select 1 as ok
{%- endif %}
