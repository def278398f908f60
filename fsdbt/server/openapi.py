"""The server's OpenAPI 3.1 schema (written by hand, to say exactly what goes over the wire) and
a self-contained documentation page (no CDN: the schema is embedded and rendered by a few
lines of inline script)."""

from __future__ import annotations

import html
from typing import Any

import orjson

SCALAR: dict[str, Any] = {"type": ["string", "number", "boolean", "null"]}
NULLABLE_STRING: dict[str, Any] = {"type": ["string", "null"]}
STATUS = {"type": "string", "enum": ["PRESENT", "NULL_VALUE", "NOT_FOUND", "OUTSIDE_MAX_AGE"]}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json_body(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _error(description: str) -> dict[str, Any]:
    return _json_body(_ref("Error"), description)


_UNAUTHORIZED = _error("Authentication is on (the server's token variable is set) and the "
                       "`Authorization: Bearer <token>` header is missing or wrong.")
_UNAVAILABLE = _error("The online store is unreachable (or timed out). Retry after `Retry-After` seconds; "
                      "the server reconnects by itself.")
_INVALID = _error("The request is well-formed JSON but wrong: `error.field` names the field at fault "
                  "(unknown feature or service with a \"did you mean\", missing join key, bad value, ...).")
_BAD_JSON = _error("The body is empty or not valid JSON.")
_TOO_LARGE = _error("The body exceeds the size limit, or the request asks for more entity rows / pushes "
                    "more rows than the server allows.")


DEFINITIONS = {"type": "object", "additionalProperties": False, "description":
               "The definitions served (reloaded when dbt writes a new manifest); reload_error: why the "
               "newest manifest was not loaded (the previous definitions are still served)",
               "properties": {"feature_views": {"type": "integer"}, "feature_services": {"type": "integer"},
                              "reload_error": {"type": "string"}}}


def _obj(properties: dict[str, Any], required: list[str] | None = None, *, extra: bool = False,
         description: str | None = None) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": properties, "additionalProperties": extra}
    if required:
        schema["required"] = required
    if description:
        schema["description"] = description
    return schema


FEATURE_SUMMARY = _obj({
    "name": {"type": "string"}, "ref": {"type": "string", "description": "view.feature"},
    "type": {"type": "string", "enum": ["int64", "float64", "decimal", "string", "bool", "timestamp", "date",
                                        "unknown"]},
    "data_type": NULLABLE_STRING, "description": {"type": "string"},
}, ["name", "ref", "type", "data_type", "description"])

_VIEW_PROPS: dict[str, Any] = {
    "name": {"type": "string"}, "entities": {"type": "array", "items": {"type": "string"}},
    "timestamp": {"type": "string"}, "created_timestamp": NULLABLE_STRING,
    "ttl": NULLABLE_STRING, "ttl_seconds": {"type": ["number", "null"]}, "online": {"type": "boolean"},
    "owner": NULLABLE_STRING, "tags": {"type": "array", "items": {"type": "string"}},
    "description": {"type": "string"}, "relation": {"type": "string"}, "materialized": {"type": "string"},
    "file": {"type": "string"}, "yml_file": NULLABLE_STRING,
    "features": {"type": "array", "items": _ref("FeatureSummary")},
}
VIEW_SUMMARY = _obj(_VIEW_PROPS, list(_VIEW_PROPS))
VIEW_DETAIL = _obj({
    "kind": {"type": "string", "const": "feature_view"}, **_VIEW_PROPS,
    "upstream": {"type": "array", "items": {"type": "object"},
                 "description": "Every ancestor in the dbt graph, nearest first."},
    "used_by": _obj({"services": {"type": "array", "items": {"type": "string"}},
                     "training_sets": {"type": "array", "items": {"type": "string"}}},
                    ["services", "training_sets"]),
}, ["kind", *_VIEW_PROPS, "upstream", "used_by"])
SERVICE_SUMMARY = _obj({
    "name": {"type": "string"}, "description": {"type": "string"}, "owner": NULLABLE_STRING,
    "tags": {"type": "array", "items": {"type": "string"}}, "full_feature_names": {"type": "boolean"},
    "file": {"type": "string"}, "views": {"type": "array", "items": {"type": "string"}},
    "features": {"type": "array", "items": {"type": "string"}},
}, ["name", "description", "owner", "tags", "full_feature_names", "file", "views", "features"])

ONLINE_REQUEST = _obj({
    "features": {"type": "array", "minItems": 1, "items": {"type": "string"},
                 "description": "Feature references: `view:feature`, `view.feature` or `view.*`.",
                 "example": ["driver_hourly_stats:conv_rate", "driver_hourly_stats:acc_rate"]},
    "feature_service": {"type": "string", "minLength": 1, "description": "A feature service (dbt exposure)."},
    "entities": {"type": "object", "minProperties": 1, "additionalProperties": {"type": "array", "items": SCALAR},
                 "description": "Join key -> one value per entity row (all lists of one length).",
                 "example": {"driver_id": [1001, 1002]}},
    "full_feature_names": {"type": "boolean", "description": "Name features `view__feature`."},
}, ["entities"], description="Feast's GetOnlineFeaturesRequest: `features` or `feature_service`, not both.")

ONLINE_RESPONSE = _obj({
    "metadata": _obj({"feature_names": {"type": "array", "items": {"type": "string"},
                                        "description": "Join keys first, then the features in request order."}},
                     ["feature_names"]),
    "results": {"type": "array", "description": "results[i] is the column metadata.feature_names[i].",
                "items": _obj({
                    "values": {"type": "array", "items": SCALAR,
                               "description": "One per entity row; null when NULL, not found or outside max age. "
                               "Timestamps are Unix seconds, dates ISO text (as Feast)."},
                    "statuses": {"type": "array", "items": STATUS},
                    "event_timestamps": {"type": "array", "items": {"type": "string", "format": "date-time"},
                                         "description": "RFC 3339 UTC; 1970-01-01T00:00:00Z for join keys and "
                                         "rows not found."},
                }, ["values", "statuses", "event_timestamps"])},
}, ["metadata", "results"], description="Feast's GetOnlineFeaturesResponse (columnar).")

PUSH_REQUEST = _obj({
    "push_source_name": {"type": "string", "minLength": 1,
                         "description": "The feature view (or `<view>_push_source` / `<view>_push`)."},
    "feature_view": {"type": "string", "minLength": 1, "description": "The feature view (alternative name)."},
    "df": {"type": "object", "minProperties": 1, "additionalProperties": {"type": "array", "items": SCALAR},
           "description": "Columns -> one value per row: every join key, the event timestamp (ISO 8601; naive "
           "means UTC) and every feature; the created timestamp is optional (default: the push time).",
           "example": {"driver_id": [1001], "event_timestamp": ["2026-01-01T10:00:00Z"], "conv_rate": [0.7]}},
    "to": {"type": "string", "enum": ["online", "offline", "online_and_offline"], "default": "online"},
    "allow_registry_cache": {"type": "boolean", "description": "Accepted for Feast compatibility; ignored."},
    "transform_on_write": {"type": "boolean", "description": "Accepted for Feast compatibility; ignored."},
}, ["df"], description="Feast's PushFeaturesRequest.")

PUSH_RESPONSE = _obj({
    "view": {"type": "string"}, "rows": {"type": "integer", "minimum": 0},
    "to": {"type": "string", "enum": ["online", "offline", "online_and_offline"]},
    "online_written": {"type": "integer", "minimum": 0},
    "online_skipped": {"type": "integer", "minimum": 0,
                       "description": "Rows not written because the stored row is newer (or identical)."},
    "offline": {**NULLABLE_STRING, "description": "The push-log file or warehouse table written."},
}, ["view", "rows", "to", "online_written", "online_skipped", "offline"])

ERROR = _obj({"error": _obj({
    "code": {"type": "string", "description": "Stable machine-readable code, e.g. unknown_feature."},
    "message": {"type": "string", "description": "What is wrong and how to fix it."},
    "field": {**NULLABLE_STRING, "description": "The request field at fault, e.g. `entities.driver_id[3]`."},
}, ["code", "message", "field"])}, ["error"])


def openapi_schema() -> dict[str, Any]:
    auth = {"401": _UNAUTHORIZED}
    return {
        "openapi": "3.1.0",
        "info": {"title": "fsdbt feature server", "version": "1",
                 "description": "Online features and push ingestion, JSON-compatible with Feast's feature "
                 "server, plus discovery, health and metrics."},
        "security": [{"bearerAuth": []}, {}],
        "paths": {
            "/get-online-features": {"post": {
                "operationId": "getOnlineFeatures", "summary": "Latest feature values for entity rows",
                "requestBody": {"required": True, "content": {"application/json": {"schema": _ref(
                    "GetOnlineFeaturesRequest")}}},
                "responses": {"200": _json_body(_ref("GetOnlineFeaturesResponse"), "Feature values, columnar."),
                              "400": _BAD_JSON, **auth, "413": _TOO_LARGE, "422": _INVALID, "503": _UNAVAILABLE}}},
            "/push": {"post": {
                "operationId": "push", "summary": "Push rows of a feature view online and/or to the offline log",
                "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("PushRequest")}}},
                "responses": {"200": _json_body(_ref("PushResponse"), "Rows accepted."),
                              "400": _BAD_JSON, **auth, "413": _TOO_LARGE, "422": _INVALID,
                              "503": _error("The online store, warehouse or push log is unavailable; retry.")}}},
            "/feature-views": {"get": {
                "operationId": "listFeatureViews", "summary": "Every feature view (as `fsdbt ls --json`)",
                "responses": {"200": _json_body(_obj({"feature_views": {"type": "array", "items": _ref(
                    "FeatureViewSummary")}}, ["feature_views"]), "The feature views."), **auth}}},
            "/feature-views/{name}": {"get": {
                "operationId": "describeFeatureView", "summary": "One feature view (as `fsdbt describe`)",
                "parameters": [{"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}],
                "responses": {"200": _json_body(_ref("FeatureViewDetail"), "The view, its lineage and consumers."),
                              **auth, "404": _error("No such feature view (the message suggests a near name).")}}},
            "/feature-services": {"get": {
                "operationId": "listFeatureServices", "summary": "Every feature service",
                "responses": {"200": _json_body(_obj({"feature_services": {"type": "array", "items": _ref(
                    "FeatureServiceSummary")}}, ["feature_services"]), "The feature services."), **auth}}},
            "/health": {"get": {
                "operationId": "health", "summary": "Liveness (always 200, no auth); with ?ready=1, readiness",
                "security": [{}],
                "parameters": [{"name": "ready", "in": "query", "required": False,
                                "schema": {"type": "string", "enum": ["1", "0", "true", "false"]}}],
                "responses": {"200": _json_body(_obj({"status": {"type": "string"},
                                                      "online_store": {"type": "string"},
                                                      "definitions": DEFINITIONS}, ["status"]), "Alive."),
                              **auth, "503": _json_body(_ref("NotReady"), "Not ready.")}}},
            "/health/ready": {"get": {
                "operationId": "ready", "summary": "Readiness: pings the online store",
                "responses": {"200": _json_body(_obj({"status": {"type": "string", "const": "ready"},
                                                      "online_store": {"type": "string"},
                                                      "definitions": DEFINITIONS}, ["status"]), "Ready."),
                              **auth, "503": _json_body(_ref("NotReady"), "The online store is unreachable.")}}},
            "/metrics": {"get": {
                "operationId": "metrics", "summary": "Prometheus metrics of this worker",
                "responses": {"200": {"description": "Prometheus text format 0.0.4.",
                                      "content": {"text/plain": {"schema": {"type": "string"}}}}, **auth}}},
            "/openapi.json": {"get": {
                "operationId": "openapi", "summary": "This schema",
                "responses": {"200": _json_body({"type": "object"}, "OpenAPI 3.1."), **auth}}},
            "/docs": {"get": {
                "operationId": "docs", "summary": "Human-readable API documentation",
                "responses": {"200": {"description": "HTML.", "content": {"text/html": {"schema": {"type": "string"}}}},
                              **auth}}},
        },
        "components": {
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "GetOnlineFeaturesRequest": ONLINE_REQUEST, "GetOnlineFeaturesResponse": ONLINE_RESPONSE,
                "PushRequest": PUSH_REQUEST, "PushResponse": PUSH_RESPONSE, "Error": ERROR,
                "FeatureSummary": FEATURE_SUMMARY, "FeatureViewSummary": VIEW_SUMMARY,
                "FeatureViewDetail": VIEW_DETAIL, "FeatureServiceSummary": SERVICE_SUMMARY,
                "NotReady": _obj({"status": {"type": "string", "const": "unavailable"},
                                  "online_store": {"type": "string"}, "error": ERROR["properties"]["error"]},
                                 ["status", "online_store", "error"]),
            },
        },
    }


_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>fsdbt feature server API</title>
<style>
body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}
h2{border-bottom:1px solid #ddd;margin-top:2rem}code,pre{font:13px ui-monospace,monospace}
pre{background:#f6f8fa;padding:.7rem;overflow:auto;border-radius:4px}
.m{display:inline-block;min-width:4rem;font-weight:bold}.post{color:#a15c00}.get{color:#0a6b2a}
details{margin:.3rem 0}summary{cursor:pointer}
</style></head><body>
<h1>fsdbt feature server</h1>
<p>%(description)s The machine-readable schema is at <a href="openapi.json"><code>/openapi.json</code></a>.</p>
<div id="ops"></div>
<script type="application/json" id="schema">%(schema)s</script>
<script>
const s = JSON.parse(document.getElementById('schema').textContent);
const resolve = (x) => {
  if (Array.isArray(x)) return x.map(resolve);
  if (x && typeof x === 'object') {
    if (x.$ref) return resolve(s.components.schemas[x.$ref.split('/').pop()]);
    const o = {}; for (const k in x) o[k] = resolve(x[k]); return o;
  }
  return x;
};
const out = document.getElementById('ops');
const pre = (title, obj) => { const d = document.createElement('details'); const t = document.createElement('summary');
  t.textContent = title; const p = document.createElement('pre'); p.textContent = JSON.stringify(resolve(obj), null, 2);
  d.append(t, p); return d; };
for (const [path, item] of Object.entries(s.paths)) {
  for (const [method, op] of Object.entries(item)) {
    const h = document.createElement('h2');
    h.innerHTML = '<span class="m ' + method + '">' + method.toUpperCase() + '</span> ';
    h.append(document.createTextNode(path));
    const p = document.createElement('p'); p.textContent = op.summary || '';
    out.append(h, p);
    if (op.parameters) out.append(pre('parameters', op.parameters));
    if (op.requestBody) out.append(pre('request body', op.requestBody.content['application/json'].schema));
    for (const [code, r] of Object.entries(op.responses)) {
      const c = r.content ? Object.values(r.content)[0].schema : {};
      out.append(pre(code + ': ' + r.description, c));
    }
  }
}
</script></body></html>
"""


def docs_html(schema: dict[str, Any]) -> str:
    text = orjson.dumps(schema).decode().replace("</", "<\\/")
    return _PAGE % {"description": html.escape(schema["info"]["description"]), "schema": text}
