"""``FeatureStore``: the small facade over a dbt project's features.

>>> store = FeatureStore(project_dir=".")          # doctest: +SKIP
>>> [v.name for v in store.list_feature_views()]   # doctest: +SKIP
['customer_profile', 'driver_customer_stats', 'driver_daily_activity', 'driver_hourly_stats']

Opening a store on a parsed project reads ``target/manifest.json`` only: no dbt import,
no warehouse connection. Both are made lazily, when a call needs them.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from fsdbt.definitions import Entity, Feature, FeatureService, FeatureView
from fsdbt.errors import ConfigError, ContractError, ContractErrors, did_you_mean
from fsdbt.project import DbtProject, Target
from fsdbt.registry import Registry

if TYPE_CHECKING:
    from fsdbt.offline.historical import TrainingSet
    from fsdbt.warehouse.base import Warehouse


_CHEAP_CATALOG = ("duckdb", "postgres")


class FeatureStore:
    def __init__(self, project_dir: str | os.PathLike[str] | None = None,
                 profiles_dir: str | os.PathLike[str] | None = None, target: str | None = None) -> None:
        self.project = DbtProject.load(project_dir, profiles_dir, target)
        self.target: Target = self.project.load_target()
        self._registry: Registry | None = None
        self._warehouse: Warehouse | None = None

    # -- definitions --------------------------------------------------------------------------
    @property
    def registry(self) -> Registry:
        if self._registry is None:
            from fsdbt.loading import fresh_manifest
            from fsdbt.registry import load_registry

            manifest = fresh_manifest(self.project, self.target.type)
            # Columns the yml leaves out (or leaves untyped) come from the warehouse catalog.
            # Embedded and local engines are asked every time; a remote one only when the
            # yml alone does not make a valid definition.
            if self.target.type in _CHEAP_CATALOG:
                self._registry = load_registry(manifest, self._catalog(manifest))
            else:
                try:
                    self._registry = load_registry(manifest)
                except ContractErrors:
                    catalog = self._catalog(manifest)
                    if not catalog:
                        raise
                    self._registry = load_registry(manifest, catalog)
        return self._registry

    def _catalog(self, manifest: dict[str, Any]) -> dict[str, Any]:
        from fsdbt.definitions import Relation
        from fsdbt.errors import WarehouseError

        relations = [
            Relation(n.get("database"), n.get("schema"), n.get("alias") or n["name"])
            for n in manifest.get("nodes", {}).values()
            if n.get("resource_type") == "model" and "fsdbt" in ((n.get("config") or {}).get("meta") or {})
        ]
        try:
            return self.warehouse.columns(relations)
        except WarehouseError:
            return {}

    def reload(self) -> None:
        """Forget the loaded definitions; the next call reads the manifest again."""
        self._registry = None

    def list_feature_views(self) -> list[FeatureView]:
        return sorted(self.registry.views.values(), key=lambda v: v.name)

    def list_features(self) -> list[Feature]:
        return [f for v in self.list_feature_views() for f in v.features]

    def list_entities(self) -> list[Entity]:
        return list(self.registry.entities.values())

    def list_feature_services(self) -> list[FeatureService]:
        return sorted(self.registry.services.values(), key=lambda s: s.name)

    def get_feature_view(self, name: str) -> FeatureView:
        return self.registry.view(name)

    def get_feature_service(self, name: str) -> FeatureService:
        return self.registry.service(name)

    def describe(self, name: str) -> dict[str, Any]:
        """A view, a feature (``view.feature``) or a service: definition, lineage and consumers."""
        from fsdbt import catalog_views

        reg = self.registry
        if name in reg.views or name in reg.disabled:
            return catalog_views.describe_view(reg, reg.view(name))
        if name in reg.services:
            return catalog_views.describe_service(reg, reg.services[name])
        if "." in name or ":" in name:
            feature = reg.resolve([name])[0]
            return catalog_views.describe_feature(reg, feature)
        names = [*reg.views, *reg.services, *(f"{v}.{f}" for v in reg.views for f in reg.views[v].feature_names)]
        raise ContractError(f"nothing named '{name}'{did_you_mean(name, names)}; `fsdbt ls` lists the "
                            f"feature views, features and services")

    # -- training sets ---------------------------------------------------------------------------
    def resolve_features(self, features: Sequence[str] | str | None = None, *, feature_service: str | None = None,
                         full_feature_names: bool | None = None) -> tuple[tuple[Feature, ...], bool]:
        """Features from references or a service (a string without a dot names a service)."""
        if isinstance(features, str) and "." not in features and ":" not in features:
            feature_service, features = features, None
        if feature_service is not None:
            if features:
                raise ConfigError("pass either features or feature_service, not both")
            service = self.registry.service(feature_service)
            full = service.full_feature_names if full_feature_names is None else full_feature_names
            if full == service.full_feature_names:
                return service.features, full
            return self.registry.resolve(service.refs, full_feature_names=full,
                                         context=f"feature service '{service.name}'"), full
        if not features:
            raise ConfigError("name the features (['view.feature', 'view.*']) or a feature_service")
        refs = [features] if isinstance(features, str) else list(features)
        full = bool(full_feature_names)
        return self.registry.resolve(refs, full_feature_names=full), full

    def get_historical_features(self, entity_df: Any, features: Sequence[str] | str | None = None, *,
                                feature_service: str | None = None, spine_timestamp: str = "event_timestamp",
                                full_feature_names: bool | None = None, available_at: bool = False) -> TrainingSet:
        """A point-in-time correct training set, computed in the warehouse.

        ``entity_df`` is a pandas DataFrame, an Arrow table, a SQL query or a relation name
        holding the entity keys and ``spine_timestamp``. The result keeps every spine row
        (duplicates and NULL keys included) in order and adds one column per feature.

        >>> ts = store.get_historical_features(trips, ["driver_hourly_stats.conv_rate"],
        ...                                    spine_timestamp="requested_at")  # doctest: +SKIP
        >>> ts.to_pandas()                                                       # doctest: +SKIP
        """
        from fsdbt.offline.historical import build_training_set

        chosen, full = self.resolve_features(features, feature_service=feature_service,
                                             full_feature_names=full_feature_names)
        return build_training_set(self.warehouse, dict(self.registry.views), chosen, entity_df,
                                  spine_timestamp=spine_timestamp, full_feature_names=full,
                                  available_at=available_at)

    # -- connections ----------------------------------------------------------------------------
    @property
    def warehouse(self) -> Warehouse:
        if self._warehouse is None:
            from fsdbt.warehouse import open_warehouse

            self._warehouse = open_warehouse(self.target)
        return self._warehouse

    def close(self) -> None:
        if self._warehouse is not None:
            self._warehouse.close()
            self._warehouse = None

    def __enter__(self) -> FeatureStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
