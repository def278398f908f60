{#-
  _pit_plan: checks point_in_time_join's arguments and resolves them against the dbt graph and
  the warehouse. Returns none at parse time (after recording the ref() calls), else a dict:

    spine          the spine Relation
    spine_columns  the spine's columns, quoted, in the spine's order
    spine_ts       the spine's time column, quoted
    views          one dict per feature view, in order of first reference:
                     index (1-based), alias, name, relation,
                     join_keys [{spine, view}] (quoted), ts, created (quoted or none),
                     ttl_us (microseconds or none), features (quoted, the ones selected),
                     columns (quoted: keys, timestamps, selected features)
    outputs        one dict per output feature column, in reference order:
                     view (0-based index into views), column (quoted), name (quoted output name)
    available_at   bool
    alias          the subquery's alias
-#}
{% macro _pit_plan(spine, features, spine_timestamp, full_feature_names, available_at) %}
  {#- 1. Arguments, before anything touches the graph or the warehouse. -#}
  {%- if not fsdbt._pit_is_relation(spine) -%}
    {%- do fsdbt._pit_fail("`spine` must be a Relation (use ref(...) or source(...)); got " ~ fsdbt._pit_repr(spine)) -%}
  {%- endif -%}
  {%- if spine_timestamp is not string or spine_timestamp | trim == '' -%}
    {%- do fsdbt._pit_fail("`spine_timestamp` must name the spine's time column, e.g. spine_timestamp='event_timestamp'; got " ~ fsdbt._pit_repr(spine_timestamp)) -%}
  {%- endif -%}
  {%- if full_feature_names is not boolean -%}
    {%- do fsdbt._pit_fail("`full_feature_names` must be true or false; got " ~ fsdbt._pit_repr(full_feature_names)) -%}
  {%- endif -%}
  {%- if available_at is not boolean -%}
    {%- do fsdbt._pit_fail("`available_at` must be true or false; got " ~ fsdbt._pit_repr(available_at)) -%}
  {%- endif -%}
  {%- if features is string or fsdbt._pit_is_relation(features) -%}
    {%- set items = [features] -%}
  {%- elif features is iterable and features is not mapping -%}
    {%- set items = features | list -%}
  {%- else -%}
    {%- do fsdbt._pit_fail("`features` must be a list of feature references such as ['driver_hourly_stats.*', 'customer_profile.lifetime_trips'], ref('view') relations or feature-service names; got " ~ fsdbt._pit_repr(features)) -%}
  {%- endif -%}
  {%- if items | length == 0 -%}
    {%- do fsdbt._pit_fail("`features` is empty; list at least one reference such as 'driver_hourly_stats.*'") -%}
  {%- endif -%}

  {#- 2. Parse references; call ref() for every view named by a string so dbt records the lineage. -#}
  {%- set refs = [] -%}
  {%- for item in items -%}
    {%- if fsdbt._pit_is_relation(item) -%}
      {%- do refs.append({'text': none, 'view': none, 'feature': '*', 'relation': item}) -%}
    {%- elif item is string -%}
      {%- set parsed = fsdbt._pit_parse_reference(item) -%}
      {%- if parsed is none -%}
        {%- do refs.append({'service': item | trim}) -%}
      {%- else -%}
        {%- do parsed.update({'relation': ref(parsed.view)}) -%}
        {%- do refs.append(parsed) -%}
      {%- endif -%}
    {%- else -%}
      {%- do fsdbt._pit_fail("each item of `features` must be a string such as 'driver_hourly_stats.conv_rate' or 'driver_hourly_stats.*', a ref('view') relation or a feature-service name; got " ~ fsdbt._pit_repr(item)) -%}
    {%- endif -%}
  {%- endfor -%}
  {%- if not execute -%}
    {{ return(none) }}
  {%- endif -%}

  {#- 3. Feature services (dbt exposures of type ml) expand into their references. -#}
  {%- set state = namespace(full=full_feature_names) -%}
  {%- set expanded = [] -%}
  {%- for r in refs -%}
    {%- if r.service is defined -%}
      {%- set service = fsdbt._pit_find_service(r.service) -%}
      {%- if service.full_feature_names -%}{%- set state.full = true -%}{%- endif -%}
      {%- for text in service.features -%}
        {%- set parsed = fsdbt._pit_parse_reference(text) -%}
        {%- if parsed is none -%}
          {%- do fsdbt._pit_fail("feature service '" ~ r.service ~ "' lists " ~ fsdbt._pit_repr(text) ~ ", which is not a reference; write 'view.feature' or 'view.*' in its meta.fsdbt.features") -%}
        {%- endif -%}
        {%- do fsdbt._pit_check_depends_on(parsed.view, r.service) -%}
        {%- do parsed.update({'relation': ref(parsed.view), 'text': parsed.text ~ " (from feature service '" ~ r.service ~ "')"}) -%}
        {%- do expanded.append(parsed) -%}
      {%- endfor -%}
    {%- else -%}
      {%- do expanded.append(r) -%}
    {%- endif -%}
  {%- endfor -%}

  {#- 4. The spine's columns. -#}
  {%- set spine_names = fsdbt._pit_column_names(spine, "the spine") -%}
  {%- set spine_ts = fsdbt._pit_find_column(spine_names, spine_timestamp | trim) -%}
  {%- if spine_ts is none -%}
    {%- do fsdbt._pit_fail("the spine " ~ spine ~ " has no column '" ~ spine_timestamp ~ "' (spine_timestamp)" ~ fsdbt._pit_did_you_mean(spine_timestamp, spine_names) ~ "; its columns: " ~ spine_names | join(', ') ~ ". Pass spine_timestamp='<column>'") -%}
  {%- endif -%}
  {%- set taken = {} -%}
  {%- for c in spine_names -%}{%- do taken.update({c | lower: "spine column '" ~ c ~ "'"}) -%}{%- endfor -%}

  {#- 5. Resolve each reference to a view and its features; name the output columns. -#}
  {%- set views = [] -%}
  {%- set view_index = {} -%}
  {%- set outputs = [] -%}
  {%- set selected = {} -%}
  {%- for r in expanded -%}
    {%- set node = fsdbt._pit_find_view_node(r.relation, r.view) -%}
    {%- if node.unique_id not in view_index -%}
      {%- set info = fsdbt._pit_view_info(node, r.relation, views | length + 1) -%}
      {%- for k in info['entity_names'] -%}
        {%- set spine_key = fsdbt._pit_find_column(spine_names, k) -%}
        {%- if spine_key is none -%}
          {%- do fsdbt._pit_fail("the spine " ~ spine ~ " has no column '" ~ k ~ "', an entity key of feature view '" ~ node.name ~ "'" ~ fsdbt._pit_did_you_mean(k, spine_names) ~ "; its columns: " ~ spine_names | join(', ') ~ ". Add the key to the spine (same column name) or drop the view's features") -%}
        {%- endif -%}
        {%- do info['join_keys'][loop.index0].update({'spine': adapter.quote(spine_key)}) -%}
      {%- endfor -%}
      {%- do view_index.update({node.unique_id: views | length}) -%}
      {%- do views.append(info) -%}
    {%- endif -%}
    {%- set vi = view_index[node.unique_id] -%}
    {%- set v = views[vi] -%}
    {%- set text = r.text if r.text else node.name ~ ".*" -%}
    {%- if r.feature == '*' -%}
      {%- set chosen = v['feature_names'] -%}
    {%- else -%}
      {%- set found = fsdbt._pit_find_column(v['feature_names'], r.feature) -%}
      {%- if found is none -%}
        {%- if fsdbt._pit_find_column(v['key_names'], r.feature) is not none -%}
          {%- do fsdbt._pit_fail("'" ~ text ~ "' names a key or timestamp column of feature view '" ~ node.name ~ "', not a feature; its features: " ~ v['feature_names'] | join(', ')) -%}
        {%- endif -%}
        {%- do fsdbt._pit_fail("unknown feature '" ~ text ~ "'" ~ fsdbt._pit_did_you_mean(r.feature, v['feature_names'], node.name ~ '.') ~ "; the features of '" ~ node.name ~ "' are: " ~ v['feature_names'] | join(', ')) -%}
      {%- endif -%}
      {%- set chosen = [found] -%}
    {%- endif -%}
    {%- for f in chosen -%}
      {%- set feature_key = node.unique_id ~ '.' ~ (f | lower) -%}
      {%- if feature_key in selected -%}
        {%- do fsdbt._pit_fail("feature '" ~ node.name ~ "." ~ f ~ "' is selected twice (by '" ~ selected[feature_key] ~ "' and by '" ~ text ~ "'); list it once") -%}
      {%- endif -%}
      {%- do selected.update({feature_key: text}) -%}
      {%- set name = fsdbt._pit_output_name(node.name, f, state.full) -%}
      {%- if (name | lower) in taken -%}
        {%- if state.full -%}
          {%- set fix = "rename one of them" -%}
        {%- else -%}
          {%- set fix = "use full_feature_names=true to name features view__feature" -%}
        {%- endif -%}
        {%- do fsdbt._pit_fail("output column '" ~ name ~ "' of feature '" ~ node.name ~ "." ~ f ~ "' (from '" ~ text ~ "') clashes with " ~ taken[name | lower] ~ "; " ~ fix) -%}
      {%- endif -%}
      {%- do taken.update({name | lower: "feature '" ~ node.name ~ "." ~ f ~ "'"}) -%}
      {%- if adapter.quote(f) not in v['features'] -%}
        {%- do v['features'].append(adapter.quote(f)) -%}
        {%- do v['columns'].append(adapter.quote(f)) -%}
      {%- endif -%}
      {%- do outputs.append({'view': vi, 'column': adapter.quote(f), 'name': adapter.quote(name)}) -%}
    {%- endfor -%}
  {%- endfor -%}

  {%- set quoted_spine = [] -%}
  {%- for c in spine_names -%}{%- do quoted_spine.append(adapter.quote(c)) -%}{%- endfor -%}
  {{ return({
      'spine': spine,
      'spine_columns': quoted_spine,
      'spine_ts': adapter.quote(spine_ts),
      'views': views,
      'outputs': outputs,
      'available_at': available_at,
      'alias': 'fsdbt_point_in_time_join',
  }) }}
{% endmacro %}


{% macro _pit_fail(message) -%}
  {{ exceptions.raise_compiler_error("point_in_time_join: " ~ message) }}
{%- endmacro %}


{% macro _pit_repr(value) -%}
  {%- if value is string -%}
    {{ return("'" ~ value ~ "'") }}
  {%- elif value is none -%}
    {{ return("none") }}
  {%- else -%}
    {{ return(value | string) }}
  {%- endif -%}
{%- endmacro %}


{% macro _pit_is_relation(value) -%}
  {{ return(value is not string and value is mapping and (value.get('metadata', {}) or {}).get('type', '') is string and (value.get('metadata', {}) or {}).get('type', '').endswith('Relation')) }}
{%- endmacro %}


{% macro _pit_parse_reference(text) -%}
  {#- 'view.feature', 'view.*' (or Feast's 'view:feature') -> {text, view, feature}; none when there is no separator. -#}
  {%- set raw = text | trim -%}
  {%- if '.' in raw -%}
    {%- set sep = '.' -%}
  {%- elif ':' in raw -%}
    {%- set sep = ':' -%}
  {%- else -%}
    {{ return(none) }}
  {%- endif -%}
  {%- set parts = raw.split(sep, 1) -%}
  {%- set view = parts[0] | trim -%}
  {%- set feature = parts[1] | trim -%}
  {%- if view == '' or feature == '' or sep in feature -%}
    {%- do fsdbt._pit_fail("cannot read feature reference '" ~ text ~ "'; write 'view.feature' or 'view.*'") -%}
  {%- endif -%}
  {{ return({'text': view ~ '.' ~ feature, 'view': view, 'feature': feature}) }}
{%- endmacro %}


{% macro _pit_find_column(names, wanted) -%}
  {#- The column of `names` equal to `wanted` ignoring case (warehouses fold unquoted names), or none. -#}
  {%- for n in names -%}
    {%- if n == wanted -%}{{ return(n) }}{%- endif -%}
  {%- endfor -%}
  {%- for n in names -%}
    {%- if (n | lower) == (wanted | lower) -%}{{ return(n) }}{%- endif -%}
  {%- endfor -%}
  {{ return(none) }}
{%- endmacro %}


{% macro _pit_column_names(relation, what) -%}
  {%- set names = [] -%}
  {%- for c in adapter.get_columns_in_relation(relation) -%}
    {%- do names.append(c.name) -%}
  {%- endfor -%}
  {%- if names | length == 0 -%}
    {%- do fsdbt._pit_fail("cannot read the columns of " ~ what ~ " " ~ relation ~ ": it does not exist or has no columns. Build it first (dbt build --select +<this model>)") -%}
  {%- endif -%}
  {{ return(names) }}
{%- endmacro %}


{% macro _pit_feature_views() -%}
  {#- Names of the models that are feature views (meta.fsdbt in their config). -#}
  {%- set names = [] -%}
  {%- for node in graph.nodes.values() if node.resource_type == 'model' -%}
    {%- if fsdbt._pit_meta(node) is not none -%}{%- do names.append(node.name) -%}{%- endif -%}
  {%- endfor -%}
  {{ return(names | sort) }}
{%- endmacro %}


{% macro _pit_meta(node) -%}
  {%- set config_meta = (node.get('config') or {}).get('meta') or {} -%}
  {%- set meta = config_meta.get('fsdbt') -%}
  {%- if meta is none -%}
    {%- set meta = (node.get('meta') or {}).get('fsdbt') -%}
  {%- endif -%}
  {{ return(meta) }}
{%- endmacro %}


{% macro _pit_find_view_node(relation, view_name) -%}
  {#- The model node a feature relation points at: by schema and table name, else (for 'view.x' strings) by model name. -#}
  {%- set ns = namespace(node=none) -%}
  {%- for node in graph.nodes.values() if node.resource_type == 'model' and ns.node is none -%}
    {%- if (node.alias or node.name) | lower == (relation.identifier or '') | lower
          and (node.schema or '') | lower == (relation.schema or '') | lower
          and (view_name is none or node.name == view_name) -%}
      {%- set ns.node = node -%}
    {%- endif -%}
  {%- endfor -%}
  {%- if ns.node is none and view_name is not none -%}
    {%- for node in graph.nodes.values() if node.resource_type == 'model' and node.name == view_name and ns.node is none -%}
      {%- set ns.node = node -%}
    {%- endfor -%}
  {%- endif -%}
  {%- if ns.node is none -%}
    {%- set shown = view_name if view_name is not none else relation | string -%}
    {%- set known = fsdbt._pit_feature_views() -%}
    {%- do fsdbt._pit_fail("unknown feature view '" ~ shown ~ "'" ~ fsdbt._pit_did_you_mean(shown, known) ~ "; feature views are dbt models with meta.fsdbt in their config. Known feature views: " ~ (known | join(', ') if known else 'none')) -%}
  {%- endif -%}
  {{ return(ns.node) }}
{%- endmacro %}


{% macro _pit_view_info(node, relation, index) -%}
  {#- Check a feature view's meta.fsdbt against its columns in the warehouse. -#}
  {%- set meta = fsdbt._pit_meta(node) -%}
  {%- set where = "feature view '" ~ node.name ~ "' (" ~ node.original_file_path ~ ")" -%}
  {%- if meta is none or meta is not mapping -%}
    {%- set known = fsdbt._pit_feature_views() -%}
    {%- do fsdbt._pit_fail("model '" ~ node.name ~ "' (" ~ node.original_file_path ~ ") is not a feature view: its config has no meta.fsdbt. Add config: {meta: {fsdbt: {entities: [<key column>], timestamp: <event time column>}}} to its yml" ~ (", or use one of: " ~ known | join(', ') if known else "")) -%}
  {%- endif -%}
  {%- set entities = meta.get('entities') -%}
  {%- if entities is string -%}
    {%- do fsdbt._pit_fail(where ~ ": meta.fsdbt.entities must be a list; write entities: [" ~ entities ~ "]") -%}
  {%- endif -%}
  {%- if entities is none or entities is mapping or entities is not iterable or entities | length == 0 -%}
    {%- do fsdbt._pit_fail(where ~ ": meta.fsdbt.entities must be a non-empty list of key columns, e.g. entities: [driver_id]; got " ~ fsdbt._pit_repr(entities)) -%}
  {%- endif -%}
  {%- set timestamp = meta.get('timestamp') -%}
  {%- if timestamp is not string or timestamp | trim == '' -%}
    {%- do fsdbt._pit_fail(where ~ ": meta.fsdbt.timestamp must name the event time column, e.g. timestamp: event_timestamp; got " ~ fsdbt._pit_repr(timestamp)) -%}
  {%- endif -%}
  {%- set created = meta.get('created_timestamp') -%}
  {%- if created is not none and (created is not string or created | trim == '') -%}
    {%- do fsdbt._pit_fail(where ~ ": meta.fsdbt.created_timestamp must name a column or be left out; got " ~ fsdbt._pit_repr(created)) -%}
  {%- endif -%}
  {%- set ttl_us = fsdbt._pit_ttl_microseconds(meta.get('ttl'), where) -%}

  {%- set names = fsdbt._pit_column_names(relation, where) -%}
  {%- set entity_names = [] -%}
  {%- set keys = [] -%}
  {%- set key_names = [] -%}
  {%- for e in entities -%}
    {%- set found = fsdbt._pit_find_column(names, e | string) -%}
    {%- if found is none -%}
      {%- do fsdbt._pit_fail(where ~ ": meta.fsdbt.entities names '" ~ e ~ "', which is not a column of " ~ relation ~ fsdbt._pit_did_you_mean(e | string, names) ~ "; its columns: " ~ names | join(', ')) -%}
    {%- endif -%}
    {%- do entity_names.append(found) -%}
    {%- do key_names.append(found) -%}
    {%- do keys.append({'view': adapter.quote(found)}) -%}
  {%- endfor -%}
  {%- set ts = fsdbt._pit_find_column(names, timestamp | trim) -%}
  {%- if ts is none -%}
    {%- do fsdbt._pit_fail(where ~ ": meta.fsdbt.timestamp names '" ~ timestamp ~ "', which is not a column of " ~ relation ~ fsdbt._pit_did_you_mean(timestamp, names) ~ "; its columns: " ~ names | join(', ')) -%}
  {%- endif -%}
  {%- do key_names.append(ts) -%}
  {%- set created_col = none -%}
  {%- if created is not none -%}
    {%- set created_col = fsdbt._pit_find_column(names, created | trim) -%}
    {%- if created_col is none -%}
      {%- do fsdbt._pit_fail(where ~ ": meta.fsdbt.created_timestamp names '" ~ created ~ "', which is not a column of " ~ relation ~ fsdbt._pit_did_you_mean(created, names) ~ "; its columns: " ~ names | join(', ')) -%}
    {%- endif -%}
    {%- do key_names.append(created_col) -%}
  {%- endif -%}
  {%- set feature_names = [] -%}
  {%- for n in names -%}
    {%- if n not in key_names -%}{%- do feature_names.append(n) -%}{%- endif -%}
  {%- endfor -%}
  {%- if feature_names | length == 0 -%}
    {%- do fsdbt._pit_fail(where ~ " has no features: every column is a key or timestamp") -%}
  {%- endif -%}
  {%- set columns = [] -%}
  {%- for k in keys -%}{%- if k.view not in columns -%}{%- do columns.append(k.view) -%}{%- endif -%}{%- endfor -%}
  {%- if adapter.quote(ts) not in columns -%}{%- do columns.append(adapter.quote(ts)) -%}{%- endif -%}
  {%- if created_col is not none and adapter.quote(created_col) not in columns -%}{%- do columns.append(adapter.quote(created_col)) -%}{%- endif -%}
  {{ return({
      'index': index,
      'alias': 'v' ~ index,
      'name': node.name,
      'relation': relation,
      'entity_names': entity_names,
      'key_names': key_names,
      'feature_names': feature_names,
      'join_keys': keys,
      'ts': adapter.quote(ts),
      'created': adapter.quote(created_col) if created_col is not none else none,
      'ttl_us': ttl_us,
      'features': [],
      'columns': columns,
  }) }}
{%- endmacro %}


{% macro _pit_find_service(name) -%}
  {#- A feature service: a dbt exposure (type ml) with meta.fsdbt.features. -#}
  {%- set ns = namespace(found=none) -%}
  {%- set known = [] -%}
  {%- for e in graph.exposures.values() -%}
    {%- set meta = ((e.get('config') or {}).get('meta') or {}).get('fsdbt') or (e.get('meta') or {}).get('fsdbt') -%}
    {%- if meta is mapping and meta.get('features') is not none -%}
      {%- do known.append(e.name) -%}
      {%- if e.name == name -%}{%- set ns.found = {'exposure': e, 'meta': meta} -%}{%- endif -%}
    {%- endif -%}
  {%- endfor -%}
  {%- if ns.found is none -%}
    {%- set hint = namespace(text="") -%}
    {%- for node in graph.nodes.values() if node.resource_type == 'model' and node.name == name -%}
      {%- set hint.text = " To use all features of the view '" ~ name ~ "', write '" ~ name ~ ".*' or ref('" ~ name ~ "')." -%}
    {%- endfor -%}
    {%- do fsdbt._pit_fail("'" ~ name ~ "' is neither a feature reference ('view.feature', 'view.*') nor a known feature service" ~ fsdbt._pit_did_you_mean(name, known) ~ "; feature services are dbt exposures of type ml with meta.fsdbt.features. Known services: " ~ (known | join(', ') if known else 'none') ~ "." ~ hint.text) -%}
  {%- endif -%}
  {%- set e = ns.found.exposure -%}
  {%- set meta = ns.found.meta -%}
  {%- if e.type != 'ml' -%}
    {%- do fsdbt._pit_fail("exposure '" ~ name ~ "' has type '" ~ e.type ~ "'; a feature service is an exposure of type ml") -%}
  {%- endif -%}
  {%- set features = meta.get('features') -%}
  {%- if features is string or features is mapping or features is not iterable or features | length == 0 -%}
    {%- do fsdbt._pit_fail("feature service '" ~ name ~ "': meta.fsdbt.features must be a non-empty list such as ['driver_hourly_stats.*']; got " ~ fsdbt._pit_repr(features)) -%}
  {%- endif -%}
  {%- set full = meta.get('full_feature_names', false) -%}
  {%- if full is not boolean -%}
    {%- do fsdbt._pit_fail("feature service '" ~ name ~ "': meta.fsdbt.full_feature_names must be true or false; got " ~ fsdbt._pit_repr(full)) -%}
  {%- endif -%}
  {{ return({'features': features, 'full_feature_names': full}) }}
{%- endmacro %}


{% macro _pit_check_depends_on(view_name, service_name) -%}
  {#- Views named only inside a feature service are invisible at parse time: the model must declare them. -#}
  {%- set deps = ((model.get('depends_on') or {}).get('nodes') or []) if model is mapping else [] -%}
  {%- set ns = namespace(ok=false) -%}
  {%- for d in deps -%}
    {%- if d.startswith('model.') and d.split('.')[-1] == view_name -%}{%- set ns.ok = true -%}{%- endif -%}
  {%- endfor -%}
  {%- if not ns.ok -%}
    {%- do fsdbt._pit_fail("feature service '" ~ service_name ~ "' uses feature view '" ~ view_name ~ "', which this model does not depend on; dbt cannot see a service's views when it parses the model, so add the line  -- depends_on: {{ ref('" ~ view_name ~ "') }}  to the model") -%}
  {%- endif -%}
{%- endmacro %}


{% macro _pit_did_you_mean(name, candidates, prefix='') -%}
  {#- "; did you mean 'x'?" for the closest candidate within a small edit distance, else "". -#}
  {%- set ns = namespace(best=none, score=999) -%}
  {%- for c in candidates -%}
    {%- set d = fsdbt._pit_edit_distance(name | lower, c | lower) | int -%}
    {%- if d < ns.score -%}{%- set ns.best = c -%}{%- set ns.score = d -%}{%- endif -%}
  {%- endfor -%}
  {%- if ns.best is not none and ns.score <= [2, (name | length) // 3] | max -%}
    {{ return("; did you mean '" ~ prefix ~ ns.best ~ "'?") }}
  {%- endif -%}
  {{ return("") }}
{%- endmacro %}


{% macro _pit_edit_distance(a, b) -%}
  {%- set ns = namespace(prev=range((b | length) + 1) | list) -%}
  {%- for i in range(1, (a | length) + 1) -%}
    {%- set row = [i] -%}
    {%- for j in range(1, (b | length) + 1) -%}
      {%- set cost = 0 if a[i - 1] == b[j - 1] else 1 -%}
      {%- do row.append([ns.prev[j] + 1, row[j - 1] + 1, ns.prev[j - 1] + cost] | min) -%}
    {%- endfor -%}
    {%- set ns.prev = row -%}
  {%- endfor -%}
  {{ return(ns.prev[b | length]) }}
{%- endmacro %}


{% macro _pit_output_name(view_name, feature, full) -%}
  {{ return(adapter.dispatch('_pit_output_name', 'fsdbt')(view_name, feature, full)) }}
{%- endmacro %}

{% macro default___pit_output_name(view_name, feature, full) -%}
  {{ return(view_name ~ '__' ~ feature if full else feature) }}
{%- endmacro %}

{% macro snowflake___pit_output_name(view_name, feature, full) -%}
  {#- Snowflake stores unquoted names upper-cased: keep view__feature upper-case when the feature column is. -#}
  {%- if full and feature == feature | upper -%}
    {{ return((view_name | upper) ~ '__' ~ feature) }}
  {%- endif -%}
  {{ return(view_name ~ '__' ~ feature if full else feature) }}
{%- endmacro %}
