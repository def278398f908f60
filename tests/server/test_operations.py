"""Auth, limits, health and readiness (with a Redis that goes away and comes back), discovery,
metrics, docs, and a real ``fsdbt serve`` process answering a Feast request."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import REPO
from tests.online.conftest import free_port, start_redis
from tests.server.conftest import make_app

pytestmark = pytest.mark.redis

FEAST_REQUEST = {"features": ["driver_hourly_stats:conv_rate", "driver_hourly_stats:acc_rate"],
                 "entities": {"driver_id": [1001, 1002]}}


def _client(app: Any) -> Any:
    from starlette.testclient import TestClient

    return TestClient(app, base_url="http://fsdbt.test")


def test_bearer_token_guards_everything_but_liveness(served: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FSDBT_TEST_TOKEN", "s3cret-token")
    c = _client(make_app(token_env="FSDBT_TEST_TOKEN"))
    assert c.get("/health").status_code == 200
    for method, path in [("post", "/get-online-features"), ("post", "/push"), ("get", "/feature-views"),
                         ("get", "/metrics"), ("get", "/health/ready"), ("get", "/health?ready=1"),
                         ("get", "/openapi.json"), ("get", "/docs")]:
        r = getattr(c, method)(path)
        assert r.status_code == 401, (path, r.text)
        assert r.json()["error"]["code"] == "unauthorized" and "s3cret" not in r.text
        assert r.headers["www-authenticate"].startswith("Bearer")
    wrong = c.post("/get-online-features", json=FEAST_REQUEST, headers={"Authorization": "Bearer s3cret-tokem"})
    assert wrong.status_code == 401 and "wrong" in wrong.json()["error"]["message"]
    ok = c.post("/get-online-features", json=FEAST_REQUEST, headers={"Authorization": "Bearer s3cret-token"})
    assert ok.status_code == 200


def test_limits_give_413_with_a_message(served: dict[str, Any]) -> None:
    c = _client(make_app(max_body_bytes=2_000, max_entities=50, max_push_rows=3))
    big = c.post("/get-online-features", content=b" " * 5_000, headers={"content-type": "application/json"})
    assert big.status_code == 413 and big.json()["error"]["code"] == "body_too_large"
    many = c.post("/get-online-features", json={"features": ["driver_hourly_stats:conv_rate"],
                                                "entities": {"driver_id": list(range(51))}})
    assert many.status_code == 413 and "at most 50" in many.json()["error"]["message"]
    rows = c.post("/push", json={"push_source_name": "driver_hourly_stats", "df": {"driver_id": [1, 2, 3, 4]}})
    assert rows.status_code == 413 and rows.json()["error"]["field"] == "df"


def test_readiness_follows_the_online_store_and_recovers(served: dict[str, Any], tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    server = start_redis(tmp_path / "redis")
    try:
        monkeypatch.setenv("FSDBT_REDIS_URL", server.url)
        c = _client(make_app(store_timeout=0.5))
        assert c.get("/health/ready").json()["status"] == "ready"
        server.stop()
        down = c.get("/health/ready")
        assert down.status_code == 503 and down.json()["online_store"] == "unreachable"
        assert "unreachable" in down.json()["error"]["message"] and down.headers["retry-after"] == "1"
        assert c.get("/health?ready=1").status_code == 503
        assert c.get("/health").status_code == 200  # liveness does not depend on the store
        read = c.post("/get-online-features", json=FEAST_REQUEST)
        assert read.status_code == 503 and read.json()["error"]["code"] == "online_store_unavailable"
        server = start_redis(tmp_path / "redis", port=server.port)
        assert c.get("/health/ready").status_code == 200
        back = c.post("/get-online-features", json=FEAST_REQUEST)
        assert back.status_code == 200 and back.json()["results"][1]["statuses"] == ["NOT_FOUND"] * 2
        metrics = c.get("/metrics").text
        assert 'fsdbt_online_store_errors_total{operation="ping"' in metrics
    finally:
        server.stop()


def test_discovery_matches_the_catalog(client: Any, served: dict[str, Any]) -> None:
    from fsdbt import catalog_views
    from fsdbt.store import FeatureStore
    from tests.conftest import PROFILES

    views = client.get("/feature-views").json()["feature_views"]
    services = client.get("/feature-services").json()["feature_services"]
    with FeatureStore(REPO, PROFILES, "redis") as store:
        assert views == [catalog_views.view_summary(v) for v in store.list_feature_views()]
        assert [s["name"] for s in services] == [s.name for s in store.list_feature_services()]
        detail = client.get("/feature-views/driver_hourly_stats").json()
        assert detail["kind"] == "feature_view" and detail["used_by"]["services"]
        assert detail == store.describe("driver_hourly_stats") | {"ttl_seconds": detail["ttl_seconds"]}
    missing = client.get("/feature-views/driver_hourly_stat")
    assert missing.status_code == 404 and "did you mean 'driver_hourly_stats'" in missing.json()["error"]["message"]


def test_metrics_docs_and_openapi(client: Any) -> None:
    client.post("/get-online-features", json=FEAST_REQUEST)
    text = client.get("/metrics").text
    assert 'fsdbt_http_requests_total{endpoint="/get-online-features",status="200"' in text
    assert 'fsdbt_http_request_duration_seconds_bucket{endpoint="/get-online-features"' in text
    assert "# TYPE fsdbt_http_request_duration_seconds histogram" in text
    schema = client.get("/openapi.json").json()
    assert schema["openapi"].startswith("3.") and "/get-online-features" in schema["paths"]
    docs = client.get("/docs")
    assert docs.status_code == 200 and "<script" in docs.text and "http://" not in docs.text.split("<body>")[1]
    assert client.get("/nope").status_code == 404 and client.get("/nope").json()["error"]["code"] == "not_found"
    assert client.get("/get-online-features").status_code == 405


def test_fsdbt_serve_process_answers_a_feast_request(served: dict[str, Any], tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, **served["env"], "FSDBT_SERVER_TOKEN": "tok"}
    log = open(tmp_path / "serve.log", "wb")  # noqa: SIM115 - closed after the server stops
    proc = subprocess.Popen([sys.executable, "-m", "fsdbt", "serve", "--port", str(port), "--workers", "2",
                             "--target", "redis", "--project-dir", str(REPO), "--log-level", "warning"],
                            env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, (tmp_path / "serve.log").read_text()
            try:
                if httpx.get(url + "/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "fsdbt serve did not answer within 60 s"
            time.sleep(0.2)
        auth = {"Authorization": "Bearer tok"}
        assert httpx.post(url + "/get-online-features", json=FEAST_REQUEST, timeout=10).status_code == 401
        r = httpx.post(url + "/get-online-features", json=FEAST_REQUEST, headers=auth, timeout=10)
        assert r.status_code == 200, r.text
        doc = r.json()
        assert doc["metadata"]["feature_names"] == ["driver_id", "conv_rate", "acc_rate"]
        # Real time is long after the demo's rows: past the 2-day ttl.
        assert doc["results"][1]["statuses"] == ["OUTSIDE_MAX_AGE"] * 2
        assert httpx.get(url + "/health/ready", headers=auth, timeout=10).status_code == 200
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        log.close()
