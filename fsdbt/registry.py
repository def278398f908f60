"""Turns a dbt manifest into feature views, features, entities and services, checking the contract.

The manifest is plain JSON (``target/manifest.json``); nothing here imports dbt.
Every contract mistake is collected and reported together, each naming the model,
its files and the key, with what would be right.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from fsdbt.definitions import Column, Entity, Feature, FeatureService, FeatureView, Relation
from fsdbt.dtypes import DType, is_temporal, normalize
from fsdbt.durations import EXAMPLES as TTL_EXAMPLES
from fsdbt.durations import parse_duration
from fsdbt.errors import ContractError, ContractErrors, hint
from fsdbt.references import FeatureRef, parse_ref

VIEW_KEYS = ("entities", "timestamp", "created_timestamp", "ttl", "online", "owner", "tags")
SERVICE_KEYS = ("features", "full_feature_names", "owner", "tags")
MATERIALIZED_OK = ("table", "view", "incremental", "snapshot", "materialized_view", "dynamic_table")
PIT_MACRO = "macro.fsdbt.point_in_time_join"

# Catalog: relation (lower-cased "db.schema.name" without empty parts) -> ordered columns.
Catalog = Mapping[str, Sequence[Column]]


def catalog_key(relation: Relation) -> str:
    return str(relation).lower()


@dataclass(frozen=True)
class Registry:
    """Everything the project defines, resolved and checked."""

    views: Mapping[str, FeatureView]
    services: Mapping[str, FeatureService]
    entities: Mapping[str, Entity]
    disabled: Mapping[str, str] = field(default_factory=dict)  # disabled view name -> file
    manifest: Mapping[str, Any] = field(default_factory=dict, repr=False)

    # -- lookups that fail with a helpful message ------------------------------------------
    def view(self, name: str) -> FeatureView:
        if name in self.views:
            return self.views[name]
        if name in self.disabled:
            raise ContractError(
                f"feature view '{name}' ({self.disabled[name]}) is disabled; enable the model "
                f"(config enabled=true) to use it", model=name, file=self.disabled[name])
        raise ContractError(f"unknown feature view '{name}'{hint(name, self.views, 'Known views')}", model=name)

    def service(self, name: str) -> FeatureService:
        if name in self.services:
            return self.services[name]
        raise ContractError(f"unknown feature service '{name}'{hint(name, self.services, 'Known services')} "
                            f"(dbt exposures of type 'ml' with meta.fsdbt.features)")

    def resolve(self, refs: Iterable[str | FeatureRef], *, full_feature_names: bool = False,
                context: str = "") -> tuple[Feature, ...]:
        """Expand references (``view.*`` included) into features, in the order given.

        Two features with one name from different views are an error unless
        ``full_feature_names`` is set, because their output columns would collide.
        """
        where = f" in {context}" if context else ""
        features: list[Feature] = []
        seen: set[tuple[str, str]] = set()
        for raw in refs:
            try:
                ref = raw if isinstance(raw, FeatureRef) else parse_ref(raw)
            except ValueError as exc:
                raise ContractError(f"{exc}{where}") from None
            view = self.view(ref.view)
            if ref.is_wildcard:
                chosen = list(view.features)
            elif ref.feature in view.feature_names:
                chosen = [view.feature(ref.feature)]
            else:
                raise ContractError(
                    f"unknown feature '{ref.feature}' in view '{view.name}'{where}"
                    f"{_column_hint(view, ref.feature)}",
                    model=view.name, file=view.file)
            for feature in chosen:
                if (feature.view, feature.name) not in seen:
                    seen.add((feature.view, feature.name))
                    features.append(feature)
        if not full_feature_names:
            _check_unique_names(features, where)
        return tuple(features)

    def training_sets(self, view: str | None = None) -> list[str]:
        """Models that call ``fsdbt.point_in_time_join`` (optionally only those reading ``view``)."""
        nodes = self.manifest.get("nodes", {})
        found = []
        for node in nodes.values():
            if node.get("resource_type") != "model":
                continue
            if PIT_MACRO not in node.get("depends_on", {}).get("macros", []):
                continue
            if view is not None:
                uid = self.views[view].unique_id if view in self.views else None
                if uid not in node.get("depends_on", {}).get("nodes", []):
                    continue
            found.append(node["name"])
        return sorted(found)

    def upstream(self, unique_id: str) -> list[dict[str, Any]]:
        """Every ancestor of a node (models, sources, seeds), nearest first, from ``parent_map``."""
        parent_map: Mapping[str, list[str]] = self.manifest.get("parent_map", {})
        order: list[str] = []
        frontier = list(parent_map.get(unique_id, []))
        while frontier:
            uid = frontier.pop(0)
            if uid in order:
                continue
            order.append(uid)
            frontier.extend(parent_map.get(uid, []))
        return [_node_summary(self.manifest, uid) for uid in order]


def _node_summary(manifest: Mapping[str, Any], uid: str) -> dict[str, Any]:
    node = manifest.get("nodes", {}).get(uid) or manifest.get("sources", {}).get(uid) or {}
    kind = node.get("resource_type", uid.split(".")[0])
    name = node.get("name", uid.split(".")[-1])
    if kind == "source":
        name = f"{node.get('source_name', '?')}.{name}"
    relation = ".".join(p for p in (node.get("database"), node.get("schema"),
                                    node.get("identifier") or node.get("alias") or node.get("name")) if p)
    return {"unique_id": uid, "type": kind, "name": name, "relation": relation,
            "file": node.get("original_file_path", "")}


def _column_hint(view: FeatureView, name: str) -> str:
    keys = {*view.entities, view.timestamp, view.created_timestamp}
    if name in keys:
        return f" ('{name}' is a key or timestamp column of the view, not a feature)"
    return hint(name, view.feature_names, f"Features of '{view.name}'")


def _check_unique_names(features: Sequence[Feature], where: str) -> None:
    by_name: dict[str, Feature] = {}
    for feature in features:
        other = by_name.get(feature.name)
        if other is not None and other.view != feature.view:
            raise ContractError(
                f"feature name '{feature.name}' comes from both '{other.view}' and '{feature.view}'"
                f"{where}; use full feature names (full_feature_names: true, giving "
                f"'{other.full_name}' and '{feature.full_name}') or select only one of them")
        by_name[feature.name] = feature


# -- loading -------------------------------------------------------------------------------------

def load_registry(manifest: Mapping[str, Any], catalog: Catalog | None = None) -> Registry:
    """Build the registry from a manifest dict; raise ``ContractErrors`` listing every mistake."""
    errors: list[ContractError] = []
    views: dict[str, FeatureView] = {}
    broken: set[str] = set()  # views already reported: services using them are not blamed again
    disabled: dict[str, str] = {}
    for node in manifest.get("nodes", {}).values():
        if node.get("resource_type") != "model" or "fsdbt" not in _meta(node):
            continue
        if not isinstance(_meta(node)["fsdbt"], (dict, type(None))):
            errors.append(_err(node, "meta.fsdbt", "must be a mapping of keys "
                               f"({', '.join(VIEW_KEYS)}); got {type(_meta(node)['fsdbt']).__name__}"))
            broken.add(node["name"])
            continue
        view = _load_view(node, catalog or {}, errors)
        if view is None:
            broken.add(node["name"])
        else:
            views[view.name] = view
    for nodes in manifest.get("disabled", {}).values():
        for node in nodes:
            if node.get("resource_type") == "model" and "fsdbt" in _meta(node):
                disabled.setdefault(node["name"], node.get("original_file_path", ""))
    entities = _entities(views)
    registry = Registry(views=views, services={}, entities=entities, disabled=disabled, manifest=manifest)
    services: dict[str, FeatureService] = {}
    for exposure in manifest.get("exposures", {}).values():
        if "fsdbt" not in _meta(exposure):
            continue
        if broken & set(_referenced_views(exposure)):
            continue
        try:
            services[exposure["name"]] = _load_service(exposure, registry)
        except ContractError as exc:
            errors.append(exc)
    if errors:
        raise ContractErrors(errors)
    return Registry(views=views, services=services, entities=entities, disabled=disabled, manifest=manifest)


def _referenced_views(exposure: Mapping[str, Any]) -> list[str]:
    meta = _meta(exposure).get("fsdbt")
    refs = meta.get("features") if isinstance(meta, dict) else []
    return [str(r).replace(":", ".").split(".", 1)[0] for r in refs or [] if isinstance(r, str)]


def _meta(node: Mapping[str, Any]) -> dict[str, Any]:
    meta = dict(node.get("meta") or {})
    meta.update((node.get("config") or {}).get("meta") or {})
    return meta


def _files(node: Mapping[str, Any]) -> str:
    files = [node.get("original_file_path", "")]
    patch = node.get("patch_path")
    if patch:
        files.append(patch.split("://", 1)[-1])
    return ", ".join(f for f in files if f)


def _err(node: Mapping[str, Any], key: str, message: str) -> ContractError:
    kind = "exposure" if node.get("resource_type") == "exposure" else "model"
    return ContractError(f"{kind} '{node['name']}' ({_files(node)}): {key}: {message}",
                         model=node["name"], file=_files(node), key=key)


def _columns(node: Mapping[str, Any], catalog: Catalog, relation: Relation) -> list[Column]:
    declared = {
        name: Column(name=name, dtype=normalize(_data_type(col)), data_type=_data_type(col),
                     description=col.get("description") or "")
        for name, col in (node.get("columns") or {}).items()
    }
    found = catalog.get(catalog_key(relation))
    if not found:
        return list(declared.values())
    by_lower = {name.lower(): col for name, col in declared.items()}
    merged = []
    for col in found:
        mine = by_lower.pop(col.name.lower(), None)
        if mine is None:
            merged.append(col)
        elif mine.dtype is DType.UNKNOWN:
            merged.append(Column(mine.name, col.dtype, col.data_type, mine.description))
        else:
            merged.append(mine)
    merged.extend(by_lower.values())  # documented but not (yet) in the warehouse
    return merged


def _data_type(column: Mapping[str, Any]) -> str | None:
    """A column's yml ``data_type`` when it is text (anything else is reported by ``_load_view``)."""
    value = column.get("data_type")
    return value if isinstance(value, str) else None


def _load_view(node: Mapping[str, Any], catalog: Catalog, errors: list[ContractError]) -> FeatureView | None:
    meta = _meta(node)["fsdbt"] or {}
    start = len(errors)
    for key in meta:
        if key not in VIEW_KEYS:
            errors.append(_err(node, f"meta.fsdbt.{key}", f"unknown key{hint(key, VIEW_KEYS, 'Allowed keys')}"))
    materialized = (node.get("config") or {}).get("materialized", "view")
    if materialized == "ephemeral":
        errors.append(_err(node, "config.materialized", "an ephemeral model has no relation in the "
                           "warehouse to join or sync; materialize the feature view as 'table', "
                           "'incremental' or 'view'"))
        return None
    relation = Relation(node.get("database"), node.get("schema"),
                        node.get("alias") or node.get("identifier") or node["name"])
    for name, column in (node.get("columns") or {}).items():
        data_type = column.get("data_type")
        if data_type is not None and not isinstance(data_type, str):
            errors.append(_err(node, f"columns.{name}.data_type", f"must be a type name such as 'bigint' or "
                               f"'timestamp'; got {data_type!r}"))
    columns = _columns(node, catalog, relation)
    names = [c.name for c in columns]

    entities = meta.get("entities")
    if entities is None:
        errors.append(_err(node, "meta.fsdbt.entities", "is required: the join-key column(s) of the view, "
                           "e.g. entities: [driver_id]"))
        entities = []
    elif isinstance(entities, str):
        errors.append(_err(node, "meta.fsdbt.entities", f"must be a list of column names; write "
                           f"entities: [{entities}]"))
        entities = []
    elif not isinstance(entities, list) or not all(isinstance(e, str) for e in entities) or not entities:
        errors.append(_err(node, "meta.fsdbt.entities", f"must be a non-empty list of column names, e.g. "
                           f"entities: [driver_id]; got {entities!r}"))
        entities = []
    elif len(set(entities)) != len(entities):
        errors.append(_err(node, "meta.fsdbt.entities", f"lists a column twice: {entities!r}"))

    ttl: timedelta | None = None
    if meta.get("ttl") is not None:
        try:
            ttl = parse_duration(meta["ttl"])
        except ValueError as exc:
            errors.append(_err(node, "meta.fsdbt.ttl", str(exc)))
        else:
            if ttl <= timedelta(0):
                errors.append(_err(node, "meta.fsdbt.ttl", f"must be positive; got {meta['ttl']!r}. "
                                   f"Write a duration such as {TTL_EXAMPLES}, or leave ttl out for no "
                                   f"maximum age"))
    online = meta.get("online", True)
    if not isinstance(online, bool):
        errors.append(_err(node, "meta.fsdbt.online", f"must be true or false; got {online!r}"))
    owner = meta.get("owner")
    if owner is not None and not isinstance(owner, str):
        errors.append(_err(node, "meta.fsdbt.owner", f"must be a string (a team or person); got {owner!r}"))
    tags = meta.get("tags", [])
    if isinstance(tags, str):
        tags = [tags]
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        errors.append(_err(node, "meta.fsdbt.tags", f"must be a list of strings; got {tags!r}"))
        tags = []

    if not columns:
        errors.append(_err(node, "columns", "fsdbt knows no column of this model: document its columns "
                           "in the model's yml, or build it (dbt build) so the warehouse catalog has them"))
        return None
    for entity in entities:
        if entity not in names:
            errors.append(_err(node, "meta.fsdbt.entities", f"column '{entity}' is not a column of the "
                               f"model{hint(entity, names, 'Columns')}"))

    def time_column(key: str, required: bool) -> str | None:
        value = meta.get(key)
        if value is None:
            if required:
                errors.append(_err(node, f"meta.fsdbt.{key}", "is required: the column holding when the "
                                   "value became true, e.g. timestamp: event_timestamp"))
            return None
        if not isinstance(value, str):
            errors.append(_err(node, f"meta.fsdbt.{key}", f"must be a column name; got {value!r}"))
            return None
        if value not in names:
            errors.append(_err(node, f"meta.fsdbt.{key}", f"column '{value}' is not a column of the "
                               f"model{hint(value, names, 'Columns')}"))
            return value
        dtype = next(c for c in columns if c.name == value).dtype
        if dtype is not DType.UNKNOWN and not is_temporal(dtype):
            data_type = next(c for c in columns if c.name == value).data_type
            errors.append(_err(node, f"meta.fsdbt.{key}", f"column '{value}' has type '{data_type}', not a "
                               f"timestamp; cast it in the model (e.g. cast({value} as timestamp)) or "
                               f"name a timestamp column"))
        return value

    timestamp = time_column("timestamp", True)
    created = time_column("created_timestamp", False)

    keys = {*entities, timestamp, created}
    features = tuple(
        Feature(name=c.name, view=node["name"], dtype=c.dtype, data_type=c.data_type,
                description=c.description)
        for c in columns if c.name not in keys
    )
    if not features:
        errors.append(_err(node, "columns", "the view has no features: every column is a key or "
                           "timestamp. Add feature columns to the model (and document them in its yml)"))
    if len(errors) > start:
        return None
    return FeatureView(
        name=node["name"], unique_id=node["unique_id"], relation=relation, entities=tuple(entities),
        timestamp=str(timestamp), created_timestamp=created, ttl=ttl, online=bool(online),
        owner=owner, tags=tuple(tags) + tuple(t for t in node.get("tags", []) if t not in tags),
        description=node.get("description") or "", materialized=materialized, features=features,
        columns=tuple(columns), file=node.get("original_file_path", ""),
        yml_file=(node.get("patch_path") or "").split("://", 1)[-1] or None,
        package=node.get("package_name", ""),
    )


def _entities(views: Mapping[str, FeatureView]) -> dict[str, Entity]:
    found: dict[str, list[FeatureView]] = {}
    for view in views.values():
        for key in view.entities:
            found.setdefault(key, []).append(view)
    entities = {}
    for key, owners in sorted(found.items()):
        dtypes = [v.column(key).dtype for v in owners if v.column(key).dtype is not DType.UNKNOWN]
        descriptions = [v.column(key).description for v in owners if v.column(key).description]
        entities[key] = Entity(name=key, dtype=dtypes[0] if dtypes else DType.UNKNOWN,
                               views=tuple(sorted(v.name for v in owners)),
                               description=descriptions[0] if descriptions else "")
    return entities


def _load_service(exposure: Mapping[str, Any], registry: Registry) -> FeatureService:
    meta = _meta(exposure).get("fsdbt") or {}
    if not isinstance(meta, dict):
        raise _err(exposure, "meta.fsdbt", "must be a mapping with a 'features' list")
    for key in meta:
        if key not in SERVICE_KEYS:
            raise _err(exposure, f"meta.fsdbt.{key}", f"unknown key{hint(key, SERVICE_KEYS, 'Allowed keys')}")
    if exposure.get("type") != "ml":
        raise _err(exposure, "type", f"a feature service is an exposure of type 'ml'; got "
                   f"'{exposure.get('type')}'")
    refs_raw = meta.get("features")
    if not isinstance(refs_raw, list) or not refs_raw:
        raise _err(exposure, "meta.fsdbt.features", "must be a non-empty list of references such as "
                   "['driver_hourly_stats.conv_rate', 'customer_profile.*']")
    full = meta.get("full_feature_names", False)
    if not isinstance(full, bool):
        raise _err(exposure, "meta.fsdbt.full_feature_names", f"must be true or false; got {full!r}")
    refs = []
    for raw in refs_raw:
        try:
            refs.append(parse_ref(raw))
        except ValueError as exc:
            raise _err(exposure, "meta.fsdbt.features", str(exc)) from None
    try:
        features = registry.resolve(refs, full_feature_names=full)
    except ContractError as exc:
        raise _err(exposure, "meta.fsdbt.features", str(exc)) from None
    owner = meta.get("owner") or (exposure.get("owner") or {}).get("name") or (exposure.get("owner") or {}).get("email")
    return FeatureService(
        name=exposure["name"], unique_id=exposure["unique_id"], features=features, refs=tuple(refs),
        full_feature_names=full, description=exposure.get("description") or "", owner=owner,
        tags=tuple(exposure.get("tags") or ()), file=exposure.get("original_file_path", ""),
        views=tuple(dict.fromkeys(f.view for f in features)),
    )
