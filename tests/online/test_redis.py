"""Redis-specific behaviour: the public key layout, Cluster routing, ACL users, TLS, secrets."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from fsdbt.dtypes import DType
from fsdbt.errors import OnlineStoreError
from fsdbt.online import FieldStatus, ViewRead, open_online_store
from fsdbt.online.redis_store import RedisOnlineStore, key_slot

from .conftest import RedisServer, start_redis
from .helpers import T0, make_view, rows

pytestmark = pytest.mark.redis

REPO = Path(__file__).resolve().parents[2]


def raw_client(url: str, **kwargs: Any) -> Any:
    import redis

    return redis.Redis.from_url(url, decode_responses=True, socket_timeout=5, **kwargs)


def test_layout_is_plain_text_readable_without_fsdbt(shared_redis_url: str, prefix: str) -> None:
    store = open_online_store({"type": "redis", "url": shared_redis_url, "key_prefix": prefix})
    view = make_view()
    r = raw_client(shared_redis_url)
    try:
        store.write_batch(view, rows(view, [{"driver_id": 1001, "event_timestamp": T0, "created": T0,
                                             "conv_rate": 0.5, "trips": 3, "city": "Zürich"}]))
        key = f"{prefix}:v1:driver_stats:g0:{{1001}}"
        assert r.hgetall(key) == {"_event_ts": "2024-05-01T12:00:00.000000Z",
                                  "_created_ts": "2024-05-01T12:00:00.000000Z",
                                  "conv_rate": "0.5", "trips": "3", "city": "Zürich"}
        gen = store.begin_refresh(view)
        store.write_batch(view, rows(view, [{"driver_id": 1001, "event_timestamp": T0, "trips": 4}]), gen)
        store.commit_refresh(view, gen)
        assert r.hget(f"{prefix}:v1:driver_stats:_gen", "current") == str(gen)
        assert r.hgetall(f"{prefix}:v1:driver_stats:g{gen}:{{1001}}") == {
            "_event_ts": "2024-05-01T12:00:00.000000Z", "trips": "4"}
        store.set_state("driver_stats", {"watermark": "x"})
        assert r.get(f"{prefix}:v1:driver_stats:_state") == '{"watermark": "x"}'
        store.acquire_lock("driver_stats", "worker-1", 30)
        assert r.get(f"{prefix}:v1:driver_stats:_lock") == "worker-1"
        assert 0 < r.pttl(f"{prefix}:v1:driver_stats:_lock") <= 30_000
        # Composite keys: values escaped, joined by ':' inside one hash tag.
        trips = make_view("trips", entities=(("city", DType.STRING), ("driver_id", DType.INT)))
        store.write_batch(trips, rows(trips, [{"city": "a:b{c}%", "driver_id": 7, "event_timestamp": T0}]))
        assert r.exists(f"{prefix}:v1:trips:g0:{{a%3Ab%7Bc%7D%25:7}}")
        assert store.entity_key(trips, {"city": "a:b{c}%", "driver_id": "7"}, 0) == \
            f"{prefix}:v1:trips:g0:{{a%3Ab%7Bc%7D%25:7}}"
    finally:
        store.teardown("driver_stats")
        store.teardown("trips")
        store.close()
        r.close()


def test_old_generation_expires_after_grace(shared_redis_url: str, prefix: str) -> None:
    store = open_online_store({"type": "redis", "url": shared_redis_url, "key_prefix": prefix,
                               "gc_grace_seconds": 30})
    view = make_view()
    r = raw_client(shared_redis_url)
    try:
        store.write_batch(view, rows(view, [{"driver_id": 1, "event_timestamp": T0, "trips": 1}]))
        gen = store.begin_refresh(view)
        store.write_batch(view, rows(view, [{"driver_id": 1, "event_timestamp": T0, "trips": 2}]), gen)
        assert store.commit_refresh(view, gen) == 1
        assert 0 < r.pttl(f"{prefix}:v1:driver_stats:g0:{{1}}") <= 30_000
        assert r.pttl(f"{prefix}:v1:driver_stats:g{gen}:{{1}}") == -1
    finally:
        store.teardown("driver_stats")
        store.close()
        r.close()


def test_cluster_slots_match_server_and_entities_spread(redis_cluster: list[RedisServer], prefix: str) -> None:
    node = redis_cluster[0]
    for key in ("a", "fsdbt:v1:v:g0:{1001}", "x:{}:y", "{}{a}", "p:{a%3Ab:7}:q", "ü{ß}"):
        assert key_slot(key.encode()) == int(node.cli("cluster", "keyslot", key))
    store = open_online_store({"type": "redis", "url": node.url, "cluster": True, "key_prefix": prefix})
    view = make_view()
    try:
        store.write_batch(view, rows(view, [{"driver_id": i, "event_timestamp": T0, "trips": i}
                                            for i in range(300)]))
        counts = [len(s.cli("--scan", "--pattern", f"{prefix}:*").split()) for s in redis_cluster]
        assert all(c > 50 for c in counts), counts
        res = store.read([ViewRead(view)], [{"driver_id": i} for i in range(300)], T0)
        assert res.to_dict()["trips"] == list(range(300))
        assert store.teardown("driver_stats") == 300
    finally:
        store.close()


def test_acl_user_limited_to_key_prefix(tmp_path: Path) -> None:
    server = start_redis(tmp_path / "acl")
    try:
        server.cli("acl", "setuser", "fsdbt_app", "on", ">app-Secr3t-pw", "resetkeys", "~fsdbt:*",
                   "resetchannels", "-@all", "+@read", "+@write", "+@keyspace", "+@scripting",
                   "+@connection", "+info")
        config = {"type": "redis", "url": server.url, "username": "fsdbt_app", "password": "app-Secr3t-pw",
                  "key_prefix": "fsdbt", "gc_grace_seconds": 0}
        store = open_online_store(config)
        view = make_view()
        assert store.ping()
        store.write_batch(view, rows(view, [{"driver_id": 1, "event_timestamp": T0, "trips": 1}]))
        gen = store.begin_refresh(view)
        store.write_batch(view, rows(view, [{"driver_id": 1, "event_timestamp": T0, "trips": 2}]), gen)
        store.commit_refresh(view, gen)
        assert store.acquire_lock(view.name, "me", 10) and store.release_lock(view.name, "me")
        store.set_state(view.name, {"a": 1})
        assert store.read([ViewRead(view)], [{"driver_id": 1}], T0).to_dict()["trips"] == [2]
        assert store.teardown(view.name) == 3  # row, _gen, _state
        store.close()
        # The same user cannot use keys outside its prefix, and the error says what to grant.
        other = open_online_store({**config, "key_prefix": "other"})
        with pytest.raises(OnlineStoreError, match="lacks a permission") as info:
            other.write_batch(view, rows(view, [{"driver_id": 1, "event_timestamp": T0, "trips": 1}]))
        assert "app-Secr3t-pw" not in str(info.value)
        other.close()
    finally:
        server.stop()


def test_bad_password_error_names_host_only(tmp_path: Path) -> None:
    server = start_redis(tmp_path / "auth", "--requirepass", "right-Secr3t-pw")
    try:
        secret = "wrong-Secr3t-pw"
        for config in ({"type": "redis", "url": server.url, "password": secret},
                       {"type": "redis", "url": f"redis://user1:{secret}@127.0.0.1:{server.port}/0"}):
            store = open_online_store(config)
            assert secret not in repr(store)
            with pytest.raises(OnlineStoreError) as info:
                store.ping()
            text = str(info.value)
            assert secret not in text and "right-Secr3t-pw" not in text
            assert f"127.0.0.1:{server.port}" in text
            assert "password" in text  # the hint says what to check
            assert info.value.__cause__ is None and info.value.__suppress_context__
            store.close()
    finally:
        server.stop()


def _make_certs(d: Path) -> dict[str, Path]:
    d.mkdir(parents=True, exist_ok=True)

    def run(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=d, check=True, capture_output=True, timeout=60)

    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt",
        "-days", "2", "-subj", "/CN=fsdbt-test-ca")
    run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr",
        "-subj", "/CN=127.0.0.1")
    (d / "ext.cnf").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    run("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
        "-out", "server.crt", "-days", "2", "-extfile", "ext.cnf")
    return {"ca": d / "ca.crt", "cert": d / "server.crt", "key": d / "server.key"}


def test_tls_with_self_signed_ca(tmp_path: Path) -> None:
    from .conftest import free_port

    certs = _make_certs(tmp_path / "certs")
    port = free_port()
    try:
        server = start_redis(tmp_path / "tls", "--port", "0", "--tls-port", str(port),
                             "--tls-cert-file", str(certs["cert"]), "--tls-key-file", str(certs["key"]),
                             "--tls-ca-cert-file", str(certs["ca"]), "--tls-auth-clients", "no", port=port)
    except RuntimeError as exc:
        if "tls" in str(exc).lower():
            pytest.skip(f"this redis-server was built without TLS: {exc}")
        raise
    try:
        store = open_online_store({"type": "redis", "url": f"rediss://127.0.0.1:{port}/0",
                                   "ssl_ca_certs": str(certs["ca"]), "key_prefix": "fsdbt"})
        view = make_view()
        store.write_batch(view, rows(view, [{"driver_id": 1, "event_timestamp": T0, "trips": 1}]))
        res = store.read([ViewRead(view)], [{"driver_id": 1}], T0)
        assert res.statuses["trips"] == [FieldStatus.PRESENT]
        store.close()
        # Without the CA the certificate is refused, with a message naming the server only.
        untrusted = open_online_store({"type": "redis", "url": f"rediss://127.0.0.1:{port}/0"})
        with pytest.raises(OnlineStoreError, match=rf"127\.0\.0\.1:{port}"):
            untrusted.ping()
        untrusted.close()
    finally:
        server.stop()


def test_script_cache_flush_is_survived(tmp_path: Path) -> None:
    server = start_redis(tmp_path / "flush")
    try:
        store = open_online_store({"type": "redis", "url": server.url})
        view = make_view()
        store.write_batch(view, rows(view, [{"driver_id": 1, "event_timestamp": T0, "trips": 1}]))
        server.cli("script", "flush")
        stats = store.write_batch(view, rows(view, [{"driver_id": 1, "event_timestamp": T0, "trips": 2},
                                                    {"driver_id": 2, "event_timestamp": T0}]))
        assert stats.written == 2
        assert store.read([ViewRead(view)], [{"driver_id": 1}], T0).to_dict()["trips"] == [2]
        store.close()
    finally:
        server.stop()


def test_config_errors_are_clear() -> None:
    from fsdbt.errors import ConfigError

    with pytest.raises(ConfigError, match="did you mean 'redis'"):
        open_online_store({"type": "rediss"})
    with pytest.raises(ConfigError, match="no setting 'pasword'; did you mean 'password'"):
        open_online_store({"type": "redis", "pasword": "x"})
    with pytest.raises(ConfigError, match="without"):
        RedisOnlineStore(key_prefix="a{b}")
    with pytest.raises(ConfigError, match="rediss://"):
        RedisOnlineStore(url="redis://127.0.0.1:1/0", ssl_ca_certs="/x")


def test_import_hygiene() -> None:
    code = ("import sys, fsdbt.online; "
            "bad = [m for m in ('pandas', 'redis', 'dbt') if m in sys.modules]; "
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60, cwd=REPO)
    importers = [p.name for p in (REPO / "fsdbt" / "online").glob("*.py")
                 if re.search(r"^\s*(import redis|from redis)", p.read_text(), re.M)]
    assert importers == ["redis_store.py"]


def test_rows_written_by_another_client_and_resp3_reads(shared_redis_url: str, prefix: str) -> None:
    """The layout is public: a hash written field by field in any order by another client reads
    the same, and so does every row over a RESP3 connection (maps instead of flat lists)."""
    view = make_view()
    r = raw_client(shared_redis_url)
    stores = [open_online_store({"type": "redis", "url": url, "key_prefix": prefix})
              for url in (shared_redis_url, shared_redis_url + "?protocol=3")]
    try:
        stores[0].write_batch(view, rows(view, [{"driver_id": 1, "event_timestamp": T0, "conv_rate": 0.5,
                                                 "trips": 3, "city": "a"}]))
        r.hset(f"{prefix}:v1:driver_stats:g0:{{2}}", mapping={
            "city": "b", "trips": "7", "_event_ts": "2024-05-01T12:00:00.000000Z", "conv_rate": "0.125"})
        r.hset(f"{prefix}:v1:driver_stats:g0:{{3}}", mapping={"trips": "8"})  # no event time: not a row
        for store in stores:
            for _ in range(2):
                got = store.read([ViewRead(view)], [{"driver_id": i} for i in (2, 1, 3, 2)], T0).to_dict()
                assert got == {"driver_id": [2, 1, 3, 2], "conv_rate": [0.125, 0.5, None, 0.125],
                               "trips": [7, 3, None, 7], "city": ["b", "a", None, "b"]}
    finally:
        stores[0].teardown("driver_stats")
        for store in stores:
            store.close()
        r.close()


def test_push_racing_the_start_of_a_refresh_is_carried(shared_redis_url: str, prefix: str) -> None:
    """A refresh that begins between a live write's read of the pointers and its write still gets the row."""
    config = {"type": "redis", "url": shared_redis_url, "key_prefix": prefix}
    syncer, pusher = open_online_store(config), open_online_store(config)
    assert isinstance(pusher, RedisOnlineStore)
    view = make_view()
    began: list[int] = []
    write = pusher._write_retrying

    def write_then_refresh_begins(*args: Any, **kwargs: Any) -> Any:
        stats = write(*args, **kwargs)
        if not began:
            began.append(syncer.begin_refresh(view))
        return stats

    try:
        syncer.write_batch(view, rows(view, [{"driver_id": 1, "event_timestamp": T0, "trips": 1}]))
        pusher._write_retrying = write_then_refresh_begins  # type: ignore[method-assign]
        later = T0.replace(hour=13)
        pusher.write_batch(view, rows(view, [{"driver_id": 1, "event_timestamp": later, "trips": 2}]))
        syncer.write_batch(view, rows(view, [{"driver_id": 1, "event_timestamp": T0, "trips": 3}]), began[0])
        syncer.commit_refresh(view, began[0])
        assert pusher.read([ViewRead(view)], [{"driver_id": 1}], later).to_dict()["trips"] == [2]
    finally:
        syncer.teardown("driver_stats")
        syncer.close()
        pusher.close()
