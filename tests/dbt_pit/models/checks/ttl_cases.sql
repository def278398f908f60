-- The Jinja ttl parser's results, compared by the test with fsdbt.durations.parse_duration.
{%- set texts = ['2 days', '36h', '90m', '1 day 6 hours', '45s', '2w', '3600', '1.5h', '250ms',
                 '7us', '1 week 2 days 3 hours 4 minutes 5 seconds', '2 DAYS', '10 mins', '1hr'] %}
{%- for text in texts %}
select '{{ text }}' as ttl_text, {{ fsdbt._pit_ttl_microseconds(text, 'ttl_cases') }} as microseconds
{{ "union all" if not loop.last }}
{%- endfor %}
union all
select 'number 45' as ttl_text, {{ fsdbt._pit_ttl_microseconds(45, 'ttl_cases') }} as microseconds
