{#-
  _pit_ttl_microseconds: a feature view's meta.fsdbt.ttl as a whole number of microseconds
  (none when the view has no ttl). Same rules as fsdbt.durations.parse_duration in Python:
  '2 days', '36h', '90m', '1 day 6 hours', '45s', '2w', '1.5h', a bare number = seconds;
  units us, ms, s/sec/second(s), m/min/minute(s), h/hr/hour(s), d/day(s), w/week(s).
  A ttl must be positive.
-#}
{% macro _pit_ttl_microseconds(ttl, where) -%}
  {%- if ttl is none -%}{{ return(none) }}{%- endif -%}
  {%- set units = {
      'us': 1, 'microsecond': 1, 'microseconds': 1,
      'ms': 1000, 'millisecond': 1000, 'milliseconds': 1000,
      's': 1000000, 'sec': 1000000, 'secs': 1000000, 'second': 1000000, 'seconds': 1000000,
      'm': 60000000, 'min': 60000000, 'mins': 60000000, 'minute': 60000000, 'minutes': 60000000,
      'h': 3600000000, 'hr': 3600000000, 'hrs': 3600000000, 'hour': 3600000000, 'hours': 3600000000,
      'd': 86400000000, 'day': 86400000000, 'days': 86400000000,
      'w': 604800000000, 'week': 604800000000, 'weeks': 604800000000,
  } -%}
  {%- set examples = "'2 days', '36h', '90m', '1 day 6 hours'" -%}
  {%- set number = '-?[0-9]+(?:[.][0-9]+)?' -%}
  {%- if ttl is boolean -%}
    {%- do fsdbt._pit_fail(where ~ ": meta.fsdbt.ttl must be a duration such as " ~ examples ~ "; got " ~ ttl) -%}
  {%- elif ttl is number -%}
    {%- set total = ttl * 1000000 -%}
  {%- else -%}
    {%- set raw = ttl | string | trim -%}
    {%- if raw == '' -%}
      {%- do fsdbt._pit_fail(where ~ ": meta.fsdbt.ttl is empty; write a duration such as " ~ examples ~ ", or leave ttl out for no maximum age") -%}
    {%- endif -%}
    {%- if modules.re.fullmatch(number, raw) -%}
      {%- set total = (raw | float) * 1000000 -%}
    {%- else -%}
      {%- set ns = namespace(pos=0, total=0, stop=false) -%}
      {%- for m in modules.re.finditer('[ \t]*(' ~ number ~ ')[ \t]*([a-zA-Z]+)[ \t]*', raw) -%}
        {%- if not ns.stop and m.start() != ns.pos -%}
          {%- set ns.stop = true -%}
        {%- endif -%}
        {%- if not ns.stop -%}
          {%- set unit = m.group(2) | lower -%}
          {%- if unit not in units -%}
            {%- do fsdbt._pit_fail(where ~ ": unknown unit '" ~ m.group(2) ~ "' in meta.fsdbt.ttl '" ~ raw ~ "'; use s, m, h, d or w (or words: seconds, minutes, hours, days, weeks), e.g. " ~ examples) -%}
          {%- endif -%}
          {%- set ns.total = ns.total + (m.group(1) | float) * units[unit] -%}
          {%- set ns.pos = m.end() -%}
        {%- endif -%}
      {%- endfor -%}
      {%- if ns.pos != raw | length -%}
        {%- do fsdbt._pit_fail(where ~ ": cannot read meta.fsdbt.ttl '" ~ raw ~ "' as a duration; write it like " ~ examples) -%}
      {%- endif -%}
      {%- set total = ns.total -%}
    {%- endif -%}
  {%- endif -%}
  {%- set micros = total | round | int -%}
  {%- if micros <= 0 -%}
    {%- do fsdbt._pit_fail(where ~ ": meta.fsdbt.ttl must be positive; got '" ~ ttl ~ "'. Write a duration such as " ~ examples ~ ", or leave ttl out for no maximum age") -%}
  {%- endif -%}
  {{ return(micros) }}
{%- endmacro %}
