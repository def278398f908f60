"""The feature-view contract: every mistake gives one message naming model, file and key, with the fix.

The cases mutate the demo's real manifest (as dbt wrote it), so node shapes are dbt's own.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from fsdbt.errors import ContractError, ContractErrors
from fsdbt.registry import load_registry

VIEW = "model.fsdbt.driver_hourly_stats"
SERVICE = "exposure.fsdbt.trip_completion_model"
SQL_FILE = "models/demo/features/driver_hourly_stats.sql"
YML_FILE = "models/demo/features/features.yml"


@pytest.fixture()
def manifest(demo_project: dict[str, Any]) -> dict[str, Any]:
    return copy.deepcopy(demo_project["manifest"])


def set_meta(manifest: dict[str, Any], uid: str, **changes: Any) -> None:
    node = manifest["nodes"].get(uid) or manifest["exposures"][uid]
    meta = node["config"]["meta"]["fsdbt"]
    for key, value in changes.items():
        if value is ...:
            meta.pop(key, None)
        else:
            meta[key] = value
    node["meta"] = node["config"]["meta"]


def only_error(manifest: dict[str, Any]) -> str:
    with pytest.raises(ContractErrors) as info:
        load_registry(manifest)
    assert len(info.value.errors) == 1, str(info.value)
    return str(info.value.errors[0])


def test_demo_manifest_loads(manifest: dict[str, Any]) -> None:
    registry = load_registry(manifest)
    assert set(registry.views) == {"driver_hourly_stats", "customer_profile", "driver_customer_stats",
                                   "driver_daily_activity"}
    view = registry.views["driver_hourly_stats"]
    assert view.entities == ("driver_id",)
    assert view.created_timestamp == "loaded_at"
    assert view.ttl is not None and view.ttl.total_seconds() == 2 * 86400
    assert len(view.features) == 20
    assert view.feature("conv_rate").description == "Share of offers accepted in the hour."
    assert registry.views["driver_customer_stats"].entities == ("driver_id", "customer_id")
    service = registry.services["trip_completion_model"]
    assert len(service.features) == 27 and service.owner == "ml-platform"
    assert set(registry.entities) == {"driver_id", "customer_id"}


def test_missing_entity_column(manifest: dict[str, Any]) -> None:
    set_meta(manifest, VIEW, entities=["driver"])
    message = only_error(manifest)
    assert message.startswith(f"model 'driver_hourly_stats' ({SQL_FILE}, {YML_FILE}): meta.fsdbt.entities:")
    assert "column 'driver' is not a column of the model; did you mean 'driver_id'?" in message


def test_unknown_timestamp_column(manifest: dict[str, Any]) -> None:
    set_meta(manifest, VIEW, timestamp="event_time")
    message = only_error(manifest)
    assert "meta.fsdbt.timestamp: column 'event_time' is not a column of the model; " \
           "did you mean 'event_timestamp'?" in message
    assert SQL_FILE in message


def test_timestamp_column_that_is_not_a_timestamp(manifest: dict[str, Any]) -> None:
    set_meta(manifest, VIEW, timestamp="conv_rate")
    message = only_error(manifest)
    assert "meta.fsdbt.timestamp: column 'conv_rate' has type 'double precision', not a timestamp; " \
           "cast it in the model (e.g. cast(conv_rate as timestamp)) or name a timestamp column" in message


def test_created_timestamp_unknown(manifest: dict[str, Any]) -> None:
    set_meta(manifest, VIEW, created_timestamp="loaded")
    assert "meta.fsdbt.created_timestamp: column 'loaded' is not a column of the model; " \
           "did you mean 'loaded_at'?" in only_error(manifest)


@pytest.mark.parametrize(("ttl", "expected"), [
    ("2 dayz", "unknown unit 'dayz' in '2 dayz'; use s, m, h, d or w"),
    ("two days", "cannot read 'two days' as a duration; write it like '2 days', '36h', '90m'"),
    ("", "got an empty string"),
])
def test_unparseable_ttl(manifest: dict[str, Any], ttl: str, expected: str) -> None:
    set_meta(manifest, VIEW, ttl=ttl)
    message = only_error(manifest)
    assert "meta.fsdbt.ttl:" in message and expected in message


@pytest.mark.parametrize("ttl", ["-1 day", "0s", -5])
def test_non_positive_ttl(manifest: dict[str, Any], ttl: Any) -> None:
    set_meta(manifest, VIEW, ttl=ttl)
    message = only_error(manifest)
    assert f"meta.fsdbt.ttl: must be positive; got {ttl!r}" in message
    assert "or leave ttl out for no maximum age" in message


def test_entities_not_a_list(manifest: dict[str, Any]) -> None:
    set_meta(manifest, VIEW, entities="driver_id")
    assert "meta.fsdbt.entities: must be a list of column names; write entities: [driver_id]" \
        in only_error(manifest)


def test_entities_missing(manifest: dict[str, Any]) -> None:
    set_meta(manifest, VIEW, entities=...)
    assert "meta.fsdbt.entities: is required: the join-key column(s) of the view, e.g. entities: [driver_id]" \
        in only_error(manifest)


def test_unknown_meta_key(manifest: dict[str, Any]) -> None:
    set_meta(manifest, VIEW, ttls="2 days")
    message = only_error(manifest)
    assert "meta.fsdbt.ttls: unknown key; did you mean 'ttl'? Allowed keys: 'created_timestamp', 'entities'" in message


def test_view_with_no_features(manifest: dict[str, Any]) -> None:
    node = manifest["nodes"][VIEW]
    node["columns"] = {k: v for k, v in node["columns"].items()
                       if k in ("driver_id", "event_timestamp", "loaded_at")}
    assert "columns: the view has no features: every column is a key or timestamp" in only_error(manifest)


def test_ephemeral_model(manifest: dict[str, Any]) -> None:
    manifest["nodes"][VIEW]["config"]["materialized"] = "ephemeral"
    message = only_error(manifest)
    assert "config.materialized: an ephemeral model has no relation in the warehouse to join or sync; " \
           "materialize the feature view as 'table', 'incremental' or 'view'" in message


def test_disabled_model_in_a_service(manifest: dict[str, Any]) -> None:
    node = manifest["nodes"].pop(VIEW)
    node["config"]["enabled"] = False
    manifest["disabled"] = {VIEW: [node]}
    message = only_error(manifest)
    assert message.startswith("exposure 'trip_completion_model' (models/demo/services.yml): meta.fsdbt.features:")
    assert f"feature view 'driver_hourly_stats' ({SQL_FILE}) is disabled; enable the model" in message


def test_unknown_view_in_service(manifest: dict[str, Any]) -> None:
    set_meta(manifest, SERVICE, features=["driver_hourly_stat.conv_rate"])
    message = only_error(manifest)
    assert "unknown feature view 'driver_hourly_stat'; did you mean 'driver_hourly_stats'?" in message
    assert "models/demo/services.yml" in message


def test_unknown_feature_in_service(manifest: dict[str, Any]) -> None:
    set_meta(manifest, SERVICE, features=["driver_hourly_stats.conv_rat"])
    message = only_error(manifest)
    assert "unknown feature 'conv_rat' in view 'driver_hourly_stats'; did you mean 'conv_rate'?" in message


def test_key_column_is_not_a_feature(manifest: dict[str, Any]) -> None:
    set_meta(manifest, SERVICE, features=["driver_hourly_stats.loaded_at"])
    assert "('loaded_at' is a key or timestamp column of the view, not a feature)" in only_error(manifest)


def test_bad_reference_syntax(manifest: dict[str, Any]) -> None:
    set_meta(manifest, SERVICE, features=["conv_rate"])
    assert "cannot read feature reference 'conv_rate'; write 'view.feature' or 'view.*'" in only_error(manifest)


def test_duplicate_feature_names_need_full_names(manifest: dict[str, Any]) -> None:
    columns = manifest["nodes"]["model.fsdbt.customer_profile"]["columns"]
    columns["conv_rate"] = {**columns["avg_spend"], "name": "conv_rate"}
    set_meta(manifest, SERVICE, features=["driver_hourly_stats.conv_rate", "customer_profile.*"])
    message = only_error(manifest)
    assert "feature name 'conv_rate' comes from both 'driver_hourly_stats' and 'customer_profile'" in message
    assert "use full feature names (full_feature_names: true, giving 'driver_hourly_stats__conv_rate' and " \
           "'customer_profile__conv_rate')" in message
    set_meta(manifest, SERVICE, full_feature_names=True)
    assert load_registry(manifest).services["trip_completion_model"].full_feature_names


def test_service_must_be_ml_exposure(manifest: dict[str, Any]) -> None:
    manifest["exposures"][SERVICE]["type"] = "dashboard"
    assert "type: a feature service is an exposure of type 'ml'; got 'dashboard'" in only_error(manifest)


def test_all_mistakes_reported_together(manifest: dict[str, Any]) -> None:
    set_meta(manifest, VIEW, timestamp="event_time", ttl="soon")
    with pytest.raises(ContractErrors) as info:
        load_registry(manifest)
    text = str(info.value)
    assert text.startswith("2 problem(s) in the feature definitions:")
    assert "meta.fsdbt.timestamp" in text and "meta.fsdbt.ttl" in text


def test_resolve_errors_name_the_view(manifest: dict[str, Any]) -> None:
    registry = load_registry(manifest)
    with pytest.raises(ContractError, match="unknown feature view 'drivers'"):
        registry.resolve(["drivers.*"])
    features = registry.resolve(["driver_hourly_stats:conv_rate", "customer_profile.*"])
    assert [str(f.ref) for f in features][:2] == ["driver_hourly_stats.conv_rate", "customer_profile.lifetime_trips"]
