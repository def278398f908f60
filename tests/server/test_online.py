"""POST /get-online-features: Feast's requests in, Feast's columnar responses out."""

from __future__ import annotations

from typing import Any

import pytest

from tests.server.conftest import DEMO_NOW

pytestmark = pytest.mark.redis


def test_feast_request_gives_feast_columnar_response(client: Any, served: dict[str, Any]) -> None:
    from fsdbt.store import FeatureStore
    from tests.conftest import PROFILES, REPO

    body = {"features": ["driver_hourly_stats:conv_rate", "driver_hourly_stats:acc_rate",
                         "driver_hourly_stats:avg_daily_trips"],
            "entities": {"driver_id": [1001, 1002, 999999]}}
    r = client.post("/get-online-features", json=body)
    assert r.status_code == 200, r.text
    doc = r.json()
    assert doc["metadata"]["feature_names"] == ["driver_id", "conv_rate", "acc_rate", "avg_daily_trips"]
    assert len(doc["results"]) == 4
    keys = doc["results"][0]
    assert keys == {"values": [1001, 1002, 999999], "statuses": ["PRESENT"] * 3,
                    "event_timestamps": ["1970-01-01T00:00:00Z"] * 3}
    conv = doc["results"][1]
    assert conv["statuses"][:2] == ["PRESENT", "PRESENT"]
    assert conv["statuses"][2] == "NOT_FOUND" and conv["values"][2] is None
    assert conv["event_timestamps"][2] == "1970-01-01T00:00:00Z"
    assert conv["event_timestamps"][0].endswith("Z") and "+" not in conv["event_timestamps"][0]
    assert isinstance(doc["results"][3]["values"][0], int)
    # The same values as the SDK at the same "now".
    with FeatureStore(REPO, PROFILES, "redis") as store:
        sdk = store.get_online_features(["driver_hourly_stats.conv_rate", "driver_hourly_stats.acc_rate",
                                         "driver_hourly_stats.avg_daily_trips"],
                                        {"driver_id": [1001, 1002, 999999]}, now=DEMO_NOW).to_dict()
    assert conv["values"] == sdk["conv_rate"]
    assert doc["results"][2]["values"] == sdk["acc_rate"]


def test_feature_service_and_full_feature_names(client: Any) -> None:
    r = client.post("/get-online-features", json={
        "feature_service": "trip_completion_model", "full_feature_names": True,
        "entities": {"driver_id": [1001], "customer_id": [50001]}})
    assert r.status_code == 200, r.text
    names = r.json()["metadata"]["feature_names"]
    assert names[:2] == ["driver_id", "customer_id"]
    assert "driver_hourly_stats__conv_rate" in names and "customer_profile__avg_spend" in names
    assert len(r.json()["results"]) == len(names)


def test_dot_references_and_view_wildcard(client: Any) -> None:
    r = client.post("/get-online-features", json={"features": ["customer_profile.*"],
                                                  "entities": {"customer_id": [50001]}})
    assert r.status_code == 200, r.text
    assert "membership_tier" in r.json()["metadata"]["feature_names"]


def test_unknown_feature_is_422_naming_it_with_did_you_mean(client: Any) -> None:
    r = client.post("/get-online-features", json={"features": ["driver_hourly_stats:conv_rat"],
                                                  "entities": {"driver_id": [1001]}})
    assert r.status_code == 422
    err = r.json()["error"]
    assert err["code"] == "unknown_feature" and err["field"] == "features"
    assert "conv_rat" in err["message"] and "did you mean 'conv_rate'" in err["message"]
    r = client.post("/get-online-features", json={"features": ["driver_hourly_stat:conv_rate"],
                                                  "entities": {"driver_id": [1001]}})
    assert r.status_code == 422 and "driver_hourly_stats" in r.json()["error"]["message"]
    r = client.post("/get-online-features", json={"feature_service": "trip_completion_mode",
                                                  "entities": {"driver_id": [1001]}})
    assert r.status_code == 422 and r.json()["error"]["code"] == "unknown_feature_service"
    assert "trip_completion_model" in r.json()["error"]["message"]


def test_expired_values_are_outside_max_age_and_null(served: dict[str, Any]) -> None:
    from starlette.testclient import TestClient

    from tests.server.conftest import make_app

    # A week after the demo's last rows: past driver_hourly_stats' 2-day ttl; customer_profile has none.
    later = make_app(clock=lambda: DEMO_NOW.replace(day=8))
    c = TestClient(later)
    r = c.post("/get-online-features", json={
        "features": ["driver_hourly_stats:conv_rate", "customer_profile:avg_spend"],
        "entities": {"driver_id": [1001], "customer_id": [50001]}})
    assert r.status_code == 200, r.text
    conv, spend = r.json()["results"][2:]
    assert conv["statuses"] == ["OUTSIDE_MAX_AGE"] and conv["values"] == [None]
    assert conv["event_timestamps"][0] != "1970-01-01T00:00:00Z"
    assert spend["statuses"] == ["PRESENT"] and spend["values"][0] is not None


@pytest.mark.parametrize(("body", "status", "field"), [
    ({"features": ["driver_hourly_stats:conv_rate"]}, 422, "entities"),
    ({"entities": {"driver_id": [1]}}, 422, "features"),
    ({"features": "driver_hourly_stats:conv_rate", "entities": {"driver_id": [1]}}, 422, "features"),
    ({"features": [1], "entities": {"driver_id": [1]}}, 422, "features[0]"),
    ({"features": ["driver_hourly_stats:conv_rate"], "entities": {"driver_id": 1}}, 422, "entities.driver_id"),
    ({"features": ["driver_hourly_stats:conv_rate"], "entities": {"driver_id": [[1]]}}, 422, "entities.driver_id[0]"),
    ({"features": ["driver_hourly_stats:conv_rate"], "entities": {"driver": [1]}}, 422, "entities"),
    ({"features": ["driver_hourly_stats:conv_rate"], "entities": {"driver_id": [1], "x": [2]}}, 422, "entities.x"),
    ({"features": ["driver_hourly_stats:conv_rate"], "entities": {"driver_id": ["abc"]}}, 422, "entities"),
    ({"features": ["driver_hourly_stats:conv_rate"], "entities": {"driver_id": [1]}, "entites": {}}, 422,
     "entites"),
    ({"features": ["driver_hourly_stats:conv_rate"], "entities": {"driver_id": [1]}, "full_feature_names": "yes"},
     422, "full_feature_names"),
    ([1, 2], 422, None),
])
def test_bad_requests_name_the_field(client: Any, body: Any, status: int, field: str | None) -> None:
    r = client.post("/get-online-features", json=body)
    assert r.status_code == status, r.text
    err = r.json()["error"]
    assert err["field"] == field and err["message"]


def test_invalid_json_is_400(client: Any) -> None:
    r = client.post("/get-online-features", content=b"{not json")
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_json"
