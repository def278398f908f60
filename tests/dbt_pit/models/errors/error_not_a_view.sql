-- Expected failure (with --vars '{pit_error_case: execute}'): a model without meta.fsdbt.
{%- if var('pit_error_case') == 'execute' %}
select * from {{ fsdbt.point_in_time_join(ref('spine'), ['spine_shifted.label']) }}
{%- else %}
select 1 as ok
{%- endif %}
