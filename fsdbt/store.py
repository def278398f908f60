"""``FeatureStore``: the small facade over a dbt project's features.

>>> store = FeatureStore(project_dir=".")          # doctest: +SKIP
>>> [v.name for v in store.list_feature_views()]   # doctest: +SKIP
['customer_profile', 'driver_customer_stats', 'driver_daily_activity', 'driver_hourly_stats']

Opening a store on a parsed project reads ``target/manifest.json`` only: no dbt import,
no warehouse connection. Both are made lazily, when a call needs them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from fsdbt.definitions import Entity, Feature, FeatureService, FeatureView
from fsdbt.errors import ConfigError, ContractError, ContractErrors, FsdbtError, did_you_mean
from fsdbt.project import DbtProject, Target
from fsdbt.registry import Registry

if TYPE_CHECKING:
    from fsdbt.offline.historical import TrainingSet
    from fsdbt.online.base import OnlineResult, OnlineStore, ViewRead
    from fsdbt.push import PushResult
    from fsdbt.sync.runner import ViewSync
    from fsdbt.warehouse.base import Warehouse


_CHEAP_CATALOG = ("duckdb", "postgres")


class FeatureStore:
    def __init__(self, project_dir: str | os.PathLike[str] | None = None,
                 profiles_dir: str | os.PathLike[str] | None = None, target: str | None = None) -> None:
        self.project = DbtProject.load(project_dir, profiles_dir, target)
        self.target: Target = self.project.load_target()
        self._registry: Registry | None = None
        self._warehouse: Warehouse | None = None
        self._online: OnlineStore | None = None
        self._read_plans: dict[Any, tuple[list[ViewRead], dict[tuple[str, str], int], bool]] = {}

    # -- definitions --------------------------------------------------------------------------
    @property
    def registry(self) -> Registry:
        if self._registry is None:
            self._registry = self.load_definitions()
        return self._registry

    def load_definitions(self, *, reparse: bool = True, strict_catalog: bool = False) -> Registry:
        """Read the definitions from the manifest, parsing the project again first when it is stale.

        With ``reparse`` off, the manifest is taken as dbt last wrote it (a server does not run dbt).
        With ``strict_catalog``, a warehouse catalog that cannot be read (the DuckDB file held by a
        running ``dbt build``) is an error rather than a fallback to the yml alone, so that a caller
        that can retry later does not settle for columns typed from the yml only.
        Returns a new registry without installing it (``reload(registry)`` does that).
        """
        from fsdbt.loading import fresh_manifest
        from fsdbt.registry import load_registry

        if reparse:
            manifest = fresh_manifest(self.project, self.target.type)
        else:
            manifest = self.project.read_manifest()
            adapter = (manifest.get("metadata") or {}).get("adapter_type")
            if adapter != self.target.type:
                raise ConfigError(f"{self.project.manifest_path} was written for adapter '{adapter}', not "
                                  f"'{self.target.type}' of target '{self.target.name}'; run dbt with this target")
        # Columns the yml leaves out (or leaves untyped) come from the warehouse catalog.
        # Embedded and local engines are asked every time; a remote one only when the
        # yml alone does not make a valid definition.
        if self.target.type in _CHEAP_CATALOG:
            catalog, problem = self._catalog(manifest)
            if problem is not None and strict_catalog:
                raise problem
            try:
                return load_registry(manifest, catalog)
            except ContractErrors as exc:
                if problem is not None:  # the unreadable warehouse may be the cause: say so
                    raise ContractErrors(exc.errors, note=f"note: {problem}") from None
                raise
        try:
            return load_registry(manifest)
        except ContractErrors:
            catalog, _ = self._catalog(manifest)
            if not catalog:
                raise
            return load_registry(manifest, catalog)

    def _catalog(self, manifest: dict[str, Any]) -> tuple[dict[str, Any], FsdbtError | None]:
        """The warehouse's columns of every feature view, or nothing and why it could not be read."""
        from fsdbt.definitions import Relation
        from fsdbt.errors import WarehouseError

        relations = [
            Relation(n.get("database"), n.get("schema"), n.get("alias") or n["name"])
            for n in manifest.get("nodes", {}).values()
            if n.get("resource_type") == "model" and "fsdbt" in ((n.get("config") or {}).get("meta") or {})
        ]
        try:
            return self.warehouse.columns(relations), None
        except WarehouseError as exc:
            return {}, WarehouseError(f"{exc} (fsdbt reads the columns the yml leaves out from the "
                                      f"warehouse catalog)")

    def reload(self, registry: Registry | None = None) -> None:
        """Use ``registry`` from now on, or forget the definitions so that the next call reads them again."""
        self._registry = registry
        self._read_plans.clear()

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

    # -- online ----------------------------------------------------------------------------------
    def get_online_features(self, features: Sequence[str] | str | None = None,
                            entity_rows: Sequence[Mapping[str, Any]] | Mapping[str, Sequence[Any]] = (), *,
                            feature_service: str | None = None, full_feature_names: bool | None = None,
                            now: datetime | None = None) -> OnlineResult:
        """The latest values for ``entity_rows``, as the point-in-time join would give at ``now``.

        Each value carries a status: PRESENT, NULL_VALUE, NOT_FOUND (unknown entity) or
        OUTSIDE_MAX_AGE (older than the view's ttl; the value is withheld).

        >>> store.get_online_features(["driver_hourly_stats.conv_rate"],
        ...                           [{"driver_id": 1001}]).to_dict()   # doctest: +SKIP
        {'driver_id': [1001], 'conv_rate': [0.61]}
        """
        reads, order, full = self._read_plan(features, feature_service, full_feature_names)
        if isinstance(entity_rows, Mapping):  # Feast's columnar form: {"driver_id": [1, 2]}
            columns = {k: list(v) for k, v in entity_rows.items()}
            lengths = {len(v) for v in columns.values()}
            if len(lengths) > 1:
                raise ConfigError(f"entity columns have different lengths: "
                                  f"{ {k: len(v) for k, v in columns.items()} }")
            count = lengths.pop() if lengths else 0
            entity_rows = [{k: v[i] for k, v in columns.items()} for i in range(count)]
        result = self.online.read(reads, list(entity_rows), now, full_feature_names=full)
        if len(reads) > 1:  # reads come grouped by view; give the columns back in reference order
            result.columns.sort(key=lambda c: order[(c.view, c.feature)])
        return result

    def _read_plan(self, features: Sequence[str] | str | None, feature_service: str | None,
                   full_feature_names: bool | None) -> tuple[list[ViewRead], dict[tuple[str, str], int], bool]:
        """Which features of which views a request reads, resolved once per request shape."""
        from fsdbt.online.base import ViewRead

        key = (features if isinstance(features, (str, type(None))) else tuple(features), feature_service,
               full_feature_names)
        plan = self._read_plans.get(key)
        if plan is None:
            chosen, full = self.resolve_features(features, feature_service=feature_service,
                                                 full_feature_names=full_feature_names)
            by_view: dict[str, list[str]] = {}
            for feature in chosen:
                by_view.setdefault(feature.view, []).append(feature.name)
            reads = [ViewRead(self.registry.views[v], tuple(names)) for v, names in by_view.items()]
            order = {(f.view, f.name): i for i, f in enumerate(chosen)}
            if len(self._read_plans) >= 1024:  # request shapes are few; bound the cache anyway
                self._read_plans.clear()
            plan = self._read_plans[key] = (reads, order, full)
        return plan

    def push(self, view: str, rows: Any, to: str = "online", *, now: datetime | None = None) -> PushResult:
        """Push whole rows of one view: validated, written online (never over newer data), logged offline.

        ``rows`` is a pandas DataFrame, an Arrow table, a list of dicts or a dict of columns;
        ``to`` is ``online``, ``offline`` or ``online_and_offline``. Offline rows reach training
        sets through ``fsdbt.pushed_rows('view')`` on the next ``dbt build`` (``docs/push.md``).

        >>> store.push("driver_hourly_stats", [{"driver_id": 1001, "event_timestamp": "2026-01-01T10:00:00",
        ...             "conv_rate": 0.7, ...}], to="online_and_offline")     # doctest: +SKIP
        """
        from fsdbt.push import Pusher, PushLog, push_log_dir

        pusher = Pusher(self.registry, lambda: self.online, self.target.type, PushLog(push_log_dir(self.project)),
                        warehouse=lambda: self.warehouse)
        return pusher.push(view, rows, to, now=now)

    def sync(self, select: Sequence[str] | None = None, *, full_refresh: bool = False, dry_run: bool = False,
             shard: str | None = None, force: bool = False, progress: bool = False,
             now: datetime | None = None, max_memory_mb: int | None = None) -> list[ViewSync]:
        """Publish the latest row per entity of the online views; see ``fsdbt sync``.

        ``now`` (default: the current time) is the time the view ttls are measured from;
        ``max_memory_mb`` bounds the process RSS by shrinking batches (``docs/reliability.md``).
        """
        from fsdbt.selection import select_views
        from fsdbt.sync.gate import failing_tests, load_run_results
        from fsdbt.sync.plan import Shard
        from fsdbt.sync.runner import SyncOptions, ViewSync, progress_printer, sync_views

        views = select_views(self.registry.views.values(), select)
        try:
            parsed_shard = Shard.parse(shard) if shard else None
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
        run_results = None if force else load_run_results(self.project.run_results_path)
        refused: list[ViewSync] = []
        allowed = []
        for view in views:
            failed = failing_tests(self.registry.manifest, run_results, view)
            if not view.online:
                if select:  # named explicitly: say why nothing happens
                    refused.append(ViewSync(view.name, status="refused", message=(
                        "the view has online: false in meta.fsdbt; set online: true to publish it")))
            elif failed:
                refused.append(ViewSync(view.name, status="refused", message=(
                    f"its latest dbt tests failed: {', '.join(failed)}; fix the data and run `dbt build` "
                    f"(or sync with --force to publish anyway)")))
            else:
                allowed.append(view)
        options = SyncOptions(full_refresh=full_refresh, dry_run=dry_run, shard=parsed_shard, now=now,
                              max_memory_mb=max_memory_mb)
        done = sync_views(allowed, self.warehouse, self.online, options, progress_printer(progress)) if allowed else []
        by_name = {r.view: r for r in [*done, *refused]}
        return [by_name[v.name] for v in views if v.name in by_name]

    def teardown(self, view: str) -> int:
        """Delete one view's online data (all generations and its sync state); returns keys deleted."""
        name = self.registry.view(view).name if view in self.registry.views else view
        return self.online.teardown(name)

    @property
    def online(self) -> OnlineStore:
        if self._online is None:
            from fsdbt.online import open_online_store

            config = {k: v for k, v in self.target.online_store.items() if v not in ("", None)}
            if config.get("type") == "sqlite" and config.get("path"):
                os.makedirs(os.path.dirname(os.path.abspath(str(config["path"]))), exist_ok=True)
            self._online = open_online_store(config)
        return self._online

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
        if self._online is not None:
            self._online.close()
            self._online = None

    def __enter__(self) -> FeatureStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
