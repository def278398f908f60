-- Expected failure (with --vars '{pit_error_case: execute}'): the spine lacks k2, a key of v_pair.
{%- if var('pit_error_case') == 'execute' %}
select * from {{ fsdbt.point_in_time_join(ref('spine_k1_only'), ['v_pair.f_num']) }}
{%- else %}
select 1 as ok
{%- endif %}
