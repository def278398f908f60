-- Expected failure (with --vars '{pit_error_case: execute}'): two features named f_num without full_feature_names.
{%- if var('pit_error_case') == 'execute' %}
select * from {{ fsdbt.point_in_time_join(ref('spine'), ['v_pair.f_num', 'v_user.f_num']) }}
{%- else %}
select 1 as ok
{%- endif %}
