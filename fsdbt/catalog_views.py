"""Plain-data descriptions of views, features and services, for ``ls``, ``describe`` and HTTP."""

from __future__ import annotations

from typing import Any

from fsdbt.definitions import Feature, FeatureService, FeatureView
from fsdbt.durations import format_duration
from fsdbt.registry import Registry


def view_summary(view: FeatureView) -> dict[str, Any]:
    return {
        "name": view.name,
        "entities": list(view.entities),
        "timestamp": view.timestamp,
        "created_timestamp": view.created_timestamp,
        "ttl": format_duration(view.ttl) if view.ttl else None,
        "ttl_seconds": view.ttl.total_seconds() if view.ttl else None,
        "online": view.online,
        "owner": view.owner,
        "tags": list(view.tags),
        "description": view.description,
        "relation": str(view.relation),
        "materialized": view.materialized,
        "file": view.file,
        "yml_file": view.yml_file,
        "features": [feature_summary(f) for f in view.features],
    }


def feature_summary(feature: Feature) -> dict[str, Any]:
    return {"name": feature.name, "ref": str(feature.ref), "type": str(feature.dtype),
            "data_type": feature.data_type, "description": feature.description}


def service_summary(service: FeatureService) -> dict[str, Any]:
    return {
        "name": service.name,
        "description": service.description,
        "owner": service.owner,
        "tags": list(service.tags),
        "full_feature_names": service.full_feature_names,
        "file": service.file,
        "views": list(service.views),
        "features": [str(f.ref) for f in service.features],
    }


def _consumers(reg: Registry, view_name: str) -> dict[str, list[str]]:
    services = sorted(s.name for s in reg.services.values() if view_name in s.views)
    return {"services": services, "training_sets": reg.training_sets(view_name)}


def describe_view(reg: Registry, view: FeatureView) -> dict[str, Any]:
    return {"kind": "feature_view", **view_summary(view), "upstream": reg.upstream(view.unique_id),
            "used_by": _consumers(reg, view.name)}


def describe_feature(reg: Registry, feature: Feature) -> dict[str, Any]:
    view = reg.views[feature.view]
    services = sorted(s.name for s in reg.services.values() if feature in s.features)
    return {"kind": "feature", **feature_summary(feature), "view": view_summary(view) | {"features": None},
            "upstream": reg.upstream(view.unique_id),
            "used_by": {"services": services, "training_sets": reg.training_sets(view.name)}}


def describe_service(reg: Registry, service: FeatureService) -> dict[str, Any]:
    upstream = reg.upstream(service.unique_id)
    return {"kind": "feature_service", **service_summary(service), "upstream": upstream}
