{#-
  Private helpers shared by fsdbt's generic tests and the structural checks: argument
  checks with messages that say how to fix them, the feature-view metadata of a model,
  column quoting, durations and the filtered rows a test reads.
-#}

{% macro _fsdbt_test_fail(test_name, message) -%}
  {{ exceptions.raise_compiler_error(test_name ~ ": " ~ message) }}
{%- endmacro %}


{% macro _fsdbt_repr(value) -%}
  {%- if value is none -%}{{ return('none') }}
  {%- elif value is string -%}{{ return("'" ~ value ~ "'") }}
  {%- else -%}{{ return(value | string) }}
  {%- endif -%}
{%- endmacro %}


{#- The manifest node of the model behind a relation (none for a subquery or an unknown relation). -#}
{% macro _fsdbt_model_node(relation) -%}
  {%- if not execute or relation is string or relation.identifier is not defined or relation.identifier is none -%}
    {{ return(none) }}
  {%- endif -%}
  {%- set want = [(relation.database or '') | lower, (relation.schema or '') | lower, relation.identifier | lower] -%}
  {%- for node in graph.nodes.values() -%}
    {%- if node.resource_type in ('model', 'snapshot', 'seed') -%}
      {%- set have = [(node.database or '') | lower, (node.schema or '') | lower, (node.alias or node.name) | lower] -%}
      {%- if have == want -%}{{ return(node) }}{%- endif -%}
    {%- endif -%}
  {%- endfor -%}
  {{ return(none) }}
{%- endmacro %}


{#- meta.fsdbt of a manifest node (yml config.meta and SQL config(meta=...) merged), or {}. -#}
{% macro _fsdbt_node_meta(node) -%}
  {%- if node is none -%}{{ return({}) }}{%- endif -%}
  {%- set found = ((node.config or {}).get('meta') or {}).get('fsdbt') -%}
  {%- if found is none -%}{%- set found = (node.meta or {}).get('fsdbt') -%}{%- endif -%}
  {{ return(found if found is mapping else {}) }}
{%- endmacro %}


{#-
  The key columns a test checks: the arguments when given, else the model's meta.fsdbt.
  Returns {'entities': [...], 'timestamp': '...', 'created_timestamp': '...' or none}.
-#}
{% macro _fsdbt_view_keys(test_name, model, entities, timestamp, created_timestamp, need_created) -%}
  {%- set meta = fsdbt._fsdbt_node_meta(fsdbt._fsdbt_model_node(model)) -%}
  {%- set from_meta = entities is none and timestamp is none -%}
  {%- if entities is none -%}{%- set entities = meta.get('entities') -%}{%- endif -%}
  {%- if timestamp is none -%}{%- set timestamp = meta.get('timestamp') -%}{%- endif -%}
  {%- if created_timestamp is none and need_created and from_meta -%}
    {%- set created_timestamp = meta.get('created_timestamp') -%}
  {%- endif -%}
  {%- if not execute -%}
    {{ return({'entities': entities or ['placeholder'], 'timestamp': timestamp or 'placeholder', 'created_timestamp': created_timestamp}) }}
  {%- endif -%}
  {%- if entities is none -%}
    {%- do fsdbt._fsdbt_test_fail(test_name, "no entity keys for " ~ model ~ ": pass `entities: [driver_id]` (and `timestamp: event_timestamp`) or declare the model as a feature view (config meta.fsdbt.entities)") -%}
  {%- endif -%}
  {%- if entities is string -%}
    {%- do fsdbt._fsdbt_test_fail(test_name, "`entities` must be a list of column names; write entities: [" ~ entities ~ "]") -%}
  {%- endif -%}
  {%- if entities is not iterable or entities is mapping or (entities | length) == 0 -%}
    {%- do fsdbt._fsdbt_test_fail(test_name, "`entities` must be a non-empty list of column names, e.g. [driver_id]; got " ~ fsdbt._fsdbt_repr(entities)) -%}
  {%- endif -%}
  {%- for e in entities -%}
    {%- if e is not string or e == '' -%}
      {%- do fsdbt._fsdbt_test_fail(test_name, "`entities` must list column names (strings); got " ~ fsdbt._fsdbt_repr(e)) -%}
    {%- endif -%}
  {%- endfor -%}
  {%- if timestamp is none or timestamp is not string or timestamp == '' -%}
    {%- do fsdbt._fsdbt_test_fail(test_name, "no timestamp column for " ~ model ~ ": pass `timestamp: event_timestamp` or set meta.fsdbt.timestamp on the model; got " ~ fsdbt._fsdbt_repr(timestamp)) -%}
  {%- endif -%}
  {%- if created_timestamp is not none and created_timestamp is not string -%}
    {%- do fsdbt._fsdbt_test_fail(test_name, "`created_timestamp` must be a column name; got " ~ fsdbt._fsdbt_repr(created_timestamp)) -%}
  {%- endif -%}
  {{ return({'entities': entities | list, 'timestamp': timestamp, 'created_timestamp': created_timestamp}) }}
{%- endmacro %}


{#-
  A column name as SQL: a plain lower-case name stays unquoted (so Snowflake folds it like
  dbt created it); anything else (mixed case, spaces, quotes) is quoted by the adapter.
  A name that already starts with a quote character is taken as written.
-#}
{% macro _fsdbt_quote_column(name) -%}
  {%- set name = name | string -%}
  {%- if name[:1] in ('"', '`', '[') or modules.re.fullmatch('[a-z_][a-z0-9_$]*', name) -%}
    {{ return(name) }}
  {%- endif -%}
  {{ return(adapter.quote(name)) }}
{%- endmacro %}


{#- The model's rows, filtered by row_condition, as a parenthesised subquery. -#}
{% macro _fsdbt_rows(model, row_condition) -%}
  {%- if row_condition -%}
    {{ return("(select * from " ~ model ~ " where " ~ row_condition ~ ")") }}
  {%- endif -%}
  {{ return("(select * from " ~ model ~ ")") }}
{%- endmacro %}


{#- A number argument, checked: returns it, or fails saying what is expected. -#}
{% macro _fsdbt_number_arg(test_name, arg, value, low=none, high=none, required=true) -%}
  {%- if value is none -%}
    {%- if required -%}
      {%- do fsdbt._fsdbt_test_fail(test_name, "`" ~ arg ~ "` is required" ~ (" (a number between " ~ low ~ " and " ~ high ~ ")" if low is not none and high is not none else "")) -%}
    {%- endif -%}
    {{ return(none) }}
  {%- endif -%}
  {%- if value is boolean or value is not number -%}
    {%- do fsdbt._fsdbt_test_fail(test_name, "`" ~ arg ~ "` must be a number" ~ (" between " ~ low ~ " and " ~ high if low is not none and high is not none else "") ~ "; got " ~ fsdbt._fsdbt_repr(value)) -%}
  {%- endif -%}
  {%- if (low is not none and value < low) or (high is not none and value > high) -%}
    {%- do fsdbt._fsdbt_test_fail(test_name, "`" ~ arg ~ "` must be between " ~ low ~ " and " ~ high ~ "; got " ~ value) -%}
  {%- endif -%}
  {{ return(value) }}
{%- endmacro %}


{#- A boolean argument, checked. -#}
{% macro _fsdbt_bool_arg(test_name, arg, value) -%}
  {%- if value is not boolean -%}
    {%- do fsdbt._fsdbt_test_fail(test_name, "`" ~ arg ~ "` must be true or false; got " ~ fsdbt._fsdbt_repr(value)) -%}
  {%- endif -%}
  {{ return(value) }}
{%- endmacro %}


{#- Bounds of a range test: at least one given, numbers, min <= max. -#}
{% macro _fsdbt_bounds_arg(test_name, min_value, max_value) -%}
  {%- if min_value is none and max_value is none -%}
    {%- do fsdbt._fsdbt_test_fail(test_name, "give `min_value`, `max_value` or both, e.g. min_value: 0, max_value: 1") -%}
  {%- endif -%}
  {%- do fsdbt._fsdbt_number_arg(test_name, 'min_value', min_value, required=false) -%}
  {%- do fsdbt._fsdbt_number_arg(test_name, 'max_value', max_value, required=false) -%}
  {%- if min_value is not none and max_value is not none and min_value > max_value -%}
    {%- do fsdbt._fsdbt_test_fail(test_name, "`min_value` (" ~ min_value ~ ") is greater than `max_value` (" ~ max_value ~ "); swap them") -%}
  {%- endif -%}
{%- endmacro %}


{#- `value op min/max` conditions that are true when a value is OUTSIDE the bounds. -#}
{% macro _fsdbt_outside(expr, min_value, max_value, inclusive) -%}
  {%- set parts = [] -%}
  {%- if min_value is not none -%}
    {%- do parts.append(expr ~ (" < " if inclusive else " <= ") ~ min_value) -%}
  {%- endif -%}
  {%- if max_value is not none -%}
    {%- do parts.append(expr ~ (" > " if inclusive else " >= ") ~ max_value) -%}
  {%- endif -%}
  {{ return("(" ~ parts | join(" or ") ~ ")") }}
{%- endmacro %}


{#-
  A duration ('2 days', '36h', '90m', '1 day 6 hours', '45s', '2w', a bare number = seconds)
  as whole seconds; the same forms as meta.fsdbt.ttl. Fails naming the argument.
-#}
{% macro _fsdbt_duration_seconds(test_name, arg, value) -%}
  {%- set units = {
      's': 1, 'sec': 1, 'secs': 1, 'second': 1, 'seconds': 1,
      'm': 60, 'min': 60, 'mins': 60, 'minute': 60, 'minutes': 60,
      'h': 3600, 'hr': 3600, 'hrs': 3600, 'hour': 3600, 'hours': 3600,
      'd': 86400, 'day': 86400, 'days': 86400,
      'w': 604800, 'week': 604800, 'weeks': 604800,
  } -%}
  {%- set examples = "'2 days', '36h', '90m', '1 day 6 hours'" -%}
  {%- if value is none or value is boolean -%}
    {%- do fsdbt._fsdbt_test_fail(test_name, "`" ~ arg ~ "` must be a duration such as " ~ examples ~ "; got " ~ fsdbt._fsdbt_repr(value)) -%}
  {%- endif -%}
  {%- if value is number -%}
    {%- set total = value -%}
  {%- else -%}
    {%- set raw = value | string | trim -%}
    {%- if modules.re.fullmatch('[0-9]+(?:[.][0-9]+)?', raw) -%}
      {%- set total = raw | float -%}
    {%- else -%}
      {%- set ns = namespace(pos=0, total=0, ok=(raw != '')) -%}
      {%- for m in modules.re.finditer('[ \t]*([0-9]+(?:[.][0-9]+)?)[ \t]*([a-zA-Z]+)[ \t]*', raw) -%}
        {%- if ns.ok and m.start() == ns.pos and (m.group(2) | lower) in units -%}
          {%- set ns.total = ns.total + (m.group(1) | float) * units[m.group(2) | lower] -%}
          {%- set ns.pos = m.end() -%}
        {%- else -%}
          {%- set ns.ok = false -%}
        {%- endif -%}
      {%- endfor -%}
      {%- if not ns.ok or ns.pos != (raw | length) -%}
        {%- do fsdbt._fsdbt_test_fail(test_name, "cannot read `" ~ arg ~ "` " ~ fsdbt._fsdbt_repr(value) ~ " as a duration; write it like " ~ examples ~ " (units s, m, h, d, w)") -%}
      {%- endif -%}
      {%- set total = ns.total -%}
    {%- endif -%}
  {%- endif -%}
  {%- if total <= 0 -%}
    {%- do fsdbt._fsdbt_test_fail(test_name, "`" ~ arg ~ "` must be a positive duration such as " ~ examples ~ "; got " ~ fsdbt._fsdbt_repr(value)) -%}
  {%- endif -%}
  {{ return(total | round | int) }}
{%- endmacro %}


{#- A SQL string literal (single quotes doubled). -#}
{% macro _fsdbt_string_literal(value) -%}
  {#- Snowflake (and MySQL-like engines) read a backslash in a string literal as an escape. -#}
  {%- set text = value | string -%}
  {%- if target.type == 'snowflake' -%}{%- set text = text | replace("\\", "\\\\") -%}{%- endif -%}
  {{ return("'" ~ (text | replace("'", "''")) ~ "'") }}
{%- endmacro %}
