"""The feature server under faults: a real ``fsdbt serve`` process (one worker) over a private
redis-server that is slowed down (SIGSTOP), killed and restarted, and clients that hang up
mid-request. The server answers 503 with a clear body within its store timeout, never hangs
its worker, and recovers by itself. (Readiness with Redis down, in process, is
``tests/server/test_operations.py::test_readiness_follows_the_online_store_and_recovers``.)
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from fsdbt.store import FeatureStore
from tests.conftest import PROFILES, REPO
from tests.faults import report
from tests.faults.helpers import stop_server
from tests.online.conftest import RedisServer, free_port, start_redis
from tests.server.conftest import DEMO_NOW, EnvPatch

pytestmark = [pytest.mark.redis, pytest.mark.slow]

REQUEST = {"features": ["driver_hourly_stats:conv_rate", "driver_hourly_stats:acc_rate"],
           "entities": {"driver_id": [1001, 1002, 1003]}}
STORE_TIMEOUT = 0.5
CLIENT_TIMEOUT = 20.0  # a bound on every request: far above the store timeout, so a hang fails the test


class Served:
    def __init__(self, redis: RedisServer, url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
        self.redis, self.url, self.proc, self.log = redis, url, proc, log

    def post(self, payload: Any = REQUEST) -> httpx.Response:
        return httpx.post(self.url + "/get-online-features", json=payload, timeout=CLIENT_TIMEOUT)

    def get(self, path: str) -> httpx.Response:
        return httpx.get(self.url + path, timeout=CLIENT_TIMEOUT)

    def alive(self) -> None:
        assert self.proc.poll() is None, self.log.read_text()[-3000:]


@pytest.fixture
def served(demo_project: dict[str, Any], tmp_path: Path) -> Iterator[Served]:
    """The demo synced into a private Redis, served by ``fsdbt serve`` with a short store timeout."""
    redis = start_redis(tmp_path / "redis")
    prefix = f"fsdbt-fault-{uuid.uuid4().hex[:8]}"
    env = {**demo_project["env"], "FSDBT_TARGET": "redis", "FSDBT_REDIS_URL": redis.url,
           "FSDBT_REDIS_KEY_PREFIX": prefix, "FSDBT_PUSH_LOG_DIR": str(tmp_path / "push_log")}
    patch = EnvPatch(env)
    try:
        with FeatureStore(REPO, PROFILES, "redis") as store:
            assert all(r.status == "ok" for r in store.sync(now=DEMO_NOW))
    finally:
        patch.restore()
    port = free_port()
    log = tmp_path / "serve.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "fsdbt", "serve", "--port", str(port), "--workers", "1",
                                 "--target", "redis", "--project-dir", str(REPO), "--store-timeout", str(STORE_TIMEOUT),
                                 "--log-level", "warning"], env={**os.environ, **env}, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
    server = Served(redis, f"http://127.0.0.1:{port}", proc, log)
    try:
        deadline = time.monotonic() + 60
        while True:
            server.alive()
            try:
                if server.get("/health").status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "fsdbt serve did not answer within 60 s"
            time.sleep(0.2)
        yield server
    finally:
        if redis.proc.poll() is None:
            redis.proc.send_signal(signal.SIGCONT)
        stop_server(proc)
        redis.stop()


def assert_unavailable(response: httpx.Response) -> None:
    assert response.status_code in (503, 504), response.text
    error = response.json()["error"]
    assert error["code"] == "online_store_unavailable", error
    assert "online store is unreachable" in error["message"] and "Redis at 127.0.0.1:" in error["message"], error
    assert response.headers["retry-after"] == "1"


@pytest.mark.timeout(240)
def test_slow_redis_gives_503_within_the_timeout_and_no_hung_worker(served: Served) -> None:
    good = served.post()
    assert good.status_code == 200, good.text
    served.redis.proc.send_signal(signal.SIGSTOP)  # Redis stops answering; its sockets stay open
    report.fault()
    try:
        for _ in range(3):
            slow = served.post()
            assert_unavailable(slow)
            assert "Timeout" in slow.json()["error"]["message"], slow.text
            assert served.get("/health").status_code == 200  # the worker is free between requests
        assert served.get("/health/ready").status_code == 503
    finally:
        served.redis.proc.send_signal(signal.SIGCONT)
    # The first request after SIGCONT succeeds, with the same answer as before: no late reply of a
    # timed-out command is read as the answer to a new one.
    for _ in range(5):
        again = served.post()
        assert again.status_code == 200, again.text
        assert again.json() == good.json()
        report.count("keys checked", len(REQUEST["entities"]["driver_id"]))
    assert served.get("/health/ready").status_code == 200
    report.count("reruns converged")
    served.alive()


@pytest.mark.timeout(240)
def test_redis_killed_then_restarted_recovers_by_itself(served: Served, tmp_path: Path) -> None:
    good = served.post()
    assert good.status_code == 200
    port = served.redis.port
    served.redis.proc.send_signal(signal.SIGKILL)
    served.redis.proc.wait(timeout=10)
    report.fault()
    down = served.post()
    assert_unavailable(down)
    ready = served.get("/health/ready")
    assert ready.status_code == 503 and ready.json()["online_store"] == "unreachable"
    # Restarted empty on the same port (no persistence): the server reconnects by itself and
    # answers again; the entities are now unknown, reported as such.
    served.redis = start_redis(tmp_path / "redis2", port=port)
    deadline = time.monotonic() + 30
    while served.get("/health/ready").status_code != 200:
        assert time.monotonic() < deadline, "the server did not recover within 30 s"
        time.sleep(0.2)
    back = served.post()
    assert back.status_code == 200, back.text
    assert back.json()["results"][1]["statuses"] == ["NOT_FOUND"] * 3
    served.alive()


def _raw(port: int, data: bytes, read: bool = False) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=CLIENT_TIMEOUT) as s:
        if data:
            s.sendall(data)
        if read:
            s.recv(1)
        # Close at once: an RST if unread data remains.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")


@pytest.mark.timeout(240)
def test_clients_that_hang_up_mid_request_do_not_stop_the_server(served: Served) -> None:
    good = served.post()
    assert good.status_code == 200
    port = int(served.url.rsplit(":", 1)[1])
    body = httpx.Request("POST", "http://x", json=REQUEST).content
    big = httpx.Request("POST", "http://x", json={**REQUEST, "entities": {"driver_id": list(range(5000))}}).content

    def head(length: int) -> bytes:
        return (f"POST /get-online-features HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                f"Content-Length: {length}\r\n\r\n").encode()

    cases = [
        b"",  # connect and leave
        b"POST /get-online-fea",  # half a request line
        head(len(body)),  # headers, no body
        head(len(body)) + body[:10],  # half a body
        head(len(body)) + body,  # a whole request, the answer never read
        head(len(big)) + big,  # a large one, never read
        head(10_000_000) + b"{",  # a body that would be too large, abandoned
    ]
    for _ in range(3):
        for data in cases:
            _raw(port, data)
            report.fault()
    # Slow Redis while a client hangs up: the timed-out request has nobody to answer.
    served.redis.proc.send_signal(signal.SIGSTOP)
    try:
        _raw(port, head(len(body)) + body)
        report.fault()
        time.sleep(STORE_TIMEOUT * 2)
    finally:
        served.redis.proc.send_signal(signal.SIGCONT)
    for _ in range(5):
        again = served.post()
        assert again.status_code == 200 and again.json() == good.json()
    served.alive()
    assert "Traceback" not in served.log.read_text()
