-- Expected failure (with --vars '{pit_error_case: execute}'): a feature service without depends_on lines for its views.
{%- if var('pit_error_case') == 'execute' %}
select * from {{ fsdbt.point_in_time_join(ref('spine'), 'svc_pair') }}
{%- else %}
select 1 as ok
{%- endif %}
