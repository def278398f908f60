"""Online stores: the latest feature values per entity, for low-latency reads.

>>> store = open_online_store({"type": "sqlite", "path": "/tmp/fsdbt-doctest/online.db"})
>>> store.ping()
True
>>> store.close()

Redis (standalone or Cluster) is the production store; SQLite is the embedded one. Both
share one set of semantics (``fsdbt.online.base``). This package never imports pandas at
import time, and only ``fsdbt.online.redis_store`` imports ``redis``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fsdbt.errors import ConfigError, did_you_mean, one_of
from fsdbt.online.base import (
    FeatureColumn,
    FieldStatus,
    OnlineResult,
    OnlineStore,
    ViewRead,
    WriteStats,
)
from fsdbt.online.codec import EntityKeyError

__all__ = [
    "EntityKeyError",
    "FeatureColumn",
    "FieldStatus",
    "OnlineResult",
    "OnlineStore",
    "ViewRead",
    "WriteStats",
    "open_online_store",
]

STORE_TYPES = ("redis", "sqlite")
_REDIS_KEYS = {"url", "cluster", "username", "password", "ssl_ca_certs", "ssl_certfile", "ssl_keyfile",
               "key_prefix", "socket_timeout", "socket_connect_timeout", "gc_grace_seconds",
               "write_chunk_rows", "encode_rows", "max_pending"}
_SQLITE_KEYS = {"path", "timeout_seconds", "write_chunk_rows"}


def open_online_store(config: Mapping[str, Any]) -> OnlineStore:
    """Open the online store that ``config`` describes (secrets already resolved).

    ``{"type": "redis", "url": "redis://host:6379/0", "cluster": False, "username": ...,
    "password": ..., "ssl_ca_certs": ..., "key_prefix": "fsdbt", "socket_timeout": 1.0}``
    or ``{"type": "sqlite", "path": "online.db"}``.
    """
    kind = str(config.get("type", "")).lower()
    options = {k: v for k, v in config.items() if k != "type"}
    if kind == "redis":
        unknown = set(options) - _REDIS_KEYS
        _check_unknown(kind, unknown, _REDIS_KEYS)
        from fsdbt.online.redis_store import RedisOnlineStore  # imports redis only when asked for

        return RedisOnlineStore(**options)
    if kind == "sqlite":
        _check_unknown(kind, set(options) - _SQLITE_KEYS, _SQLITE_KEYS)
        if "path" not in options:
            raise ConfigError("online store of type 'sqlite' needs a 'path' (e.g. data/online.db)")
        from fsdbt.online.sqlite_store import SqliteOnlineStore

        return SqliteOnlineStore(**options)
    raise ConfigError(f"unknown online store type {kind!r}{did_you_mean(kind, STORE_TYPES)}; "
                      f"use one of {one_of(STORE_TYPES)}")


def _check_unknown(kind: str, unknown: set[str], known: set[str]) -> None:
    if unknown:
        name = sorted(unknown)[0]
        raise ConfigError(f"online store of type '{kind}' has no setting '{name}'"
                          f"{did_you_mean(name, known)}; settings: {one_of(known)}")
