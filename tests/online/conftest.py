"""Fixtures for the online store tests: real Redis servers (shared, private, cluster) and SQLite.

Every server start is bounded in time; every server a fixture starts is stopped by its pid.
"""

from __future__ import annotations

import os
import random
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from fsdbt.online import OnlineStore, open_online_store

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"
REDIS_CLI = shutil.which("redis-cli") or "/usr/bin/redis-cli"
SHARED_URL = os.environ.get("FSDBT_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
START_TIMEOUT = 15.0


def free_port(cluster: bool = False) -> int:
    """A free loopback port; for a cluster node, one whose bus port (port + 10000) is free too."""
    for _ in range(200):
        port = random.randint(20000, 45000)
        if all(_bindable(p) for p in ((port, port + 10000) if cluster else (port,))):
            return port
    raise RuntimeError("no free port found")


def _bindable(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def wait_until(check: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except Exception:  # the server is not up yet
            pass
        time.sleep(0.05)
    raise TimeoutError(f"{what} not ready after {timeout}s")


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


@dataclass
class RedisServer:
    """A private redis-server process owned by one test or session."""

    port: int
    proc: subprocess.Popen[bytes]
    dir: Path

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def cli(self, *args: str, timeout: float = 10.0) -> str:
        out = subprocess.run([REDIS_CLI, "-p", str(self.port), *args], capture_output=True,
                             timeout=timeout, check=True)
        return out.stdout.decode()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


def start_redis(tmp: Path, *extra: str, port: int | None = None, ready: Any = None) -> RedisServer:
    """Start redis-server in the foreground of a child process; wait (bounded) until it listens."""
    port = port or free_port()
    tmp.mkdir(parents=True, exist_ok=True)
    args = [REDIS_SERVER, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
            "--dir", str(tmp), "--logfile", str(tmp / f"redis-{port}.log"), *extra]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    server = RedisServer(port if "--tls-port" not in extra else int(extra[extra.index("--tls-port") + 1]),
                         proc, tmp)
    def up() -> bool:
        if proc.poll() is not None:
            log = tmp / f"redis-{port}.log"
            tail = log.read_text()[-600:] if log.exists() else ""
            raise RuntimeError(f"redis-server exited ({proc.returncode}): {tail}")
        return bool(ready() if ready else _port_open(port))

    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not up():
            if time.monotonic() > deadline:
                raise TimeoutError(f"redis-server on port {port} not ready after {START_TIMEOUT}s")
            time.sleep(0.05)
    except BaseException:
        server.stop()
        raise
    return server


@pytest.fixture(scope="session")
def shared_redis_url() -> str:
    import redis

    try:
        redis.Redis.from_url(SHARED_URL, socket_connect_timeout=1, socket_timeout=1).ping()
    except Exception as exc:  # the shared server is part of the test environment
        pytest.fail(f"no Redis at {SHARED_URL.split('@')[-1]}: {exc}")
    return SHARED_URL


def _start_cluster(base: Path) -> list[RedisServer]:
    servers: list[RedisServer] = []
    try:
        for _ in range(3):
            port = free_port(cluster=True)
            node_dir = base / str(port)
            servers.append(start_redis(node_dir, "--cluster-enabled", "yes", "--cluster-config-file",
                                       str(node_dir / "nodes.conf"), "--cluster-node-timeout", "5000",
                                       port=port))
        created = subprocess.run([REDIS_CLI, "--cluster", "create", *[f"127.0.0.1:{s.port}" for s in servers],
                                  "--cluster-replicas", "0", "--cluster-yes"], capture_output=True, timeout=60)
        if created.returncode != 0:
            raise RuntimeError(f"redis-cli --cluster create failed ({created.returncode}): "
                               f"{(created.stdout + created.stderr).decode()[-800:]}")

        def cluster_ok() -> bool:
            return all("cluster_state:ok" in s.cli("cluster", "info") for s in servers)

        wait_until(cluster_ok, 30, "redis cluster")
        return servers
    except BaseException:
        for s in servers:
            s.stop()
        raise


@pytest.fixture(scope="session")
def redis_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[RedisServer]]:
    """Three primaries, no replicas, on free ports; torn down at the end of the session.

    A port picked free can be taken (by another process, or as a cluster bus port) before
    the node binds it: a failed creation is retried on new ports, and the last error kept.
    """
    servers: list[RedisServer] = []
    for attempt in range(3):
        try:
            servers = _start_cluster(tmp_path_factory.mktemp(f"cluster{attempt}"))
            break
        except (RuntimeError, TimeoutError, subprocess.SubprocessError):
            if attempt == 2:
                raise
    try:
        yield servers
    finally:
        for s in servers:
            s.stop()


@pytest.fixture
def prefix() -> str:
    return f"fsdbt-test-{uuid.uuid4().hex[:10]}"


def _cleanup_redis(url: str, cluster: bool, prefix: str) -> None:
    import redis
    from redis.cluster import RedisCluster

    client: Any = RedisCluster.from_url(url) if cluster else redis.Redis.from_url(url)
    nodes = [n.redis_connection for n in client.get_primaries()] if cluster else [client]
    for node in nodes:
        pipe = node.pipeline(transaction=False)  # one UNLINK per key: a cluster refuses cross-slot ones
        for key in node.scan_iter(match=f"{prefix}:*", count=5000):
            pipe.unlink(key)
        pipe.execute()
    client.close()


STORE_KINDS = [pytest.param("redis", marks=pytest.mark.redis),
               pytest.param("cluster", marks=pytest.mark.redis),
               "sqlite"]


@pytest.fixture(params=STORE_KINDS)
def store_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def make_store(store_kind: str, request: pytest.FixtureRequest, tmp_path: Path,
               prefix: str) -> Iterator[Any]:
    """A factory of stores of one kind sharing one key prefix (or file); cleaned up afterwards."""
    opened: list[OnlineStore] = []
    cleanup: list[tuple[str, bool]] = []

    def make(**options: Any) -> OnlineStore:
        if store_kind == "sqlite":
            config = {"type": "sqlite", "path": str(tmp_path / "online.db"), **options}
        else:
            cluster = store_kind == "cluster"
            if cluster:
                servers = request.getfixturevalue("redis_cluster")
                url = servers[0].url
            else:
                url = request.getfixturevalue("shared_redis_url")
            config = {"type": "redis", "url": url, "cluster": cluster, "key_prefix": prefix,
                      "gc_grace_seconds": 0, **options}
            cleanup.append((url, cluster))
        store = open_online_store(config)
        opened.append(store)
        return store

    yield make
    for store in opened:
        store.close()
    for url, cluster in set(cleanup):
        _cleanup_redis(url, cluster, prefix)


@pytest.fixture
def store(make_store: Any) -> OnlineStore:
    return make_store()  # type: ignore[no-any-return]
