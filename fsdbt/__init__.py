"""fsdbt: a dbt-native feature store.

Features are dbt models with ``meta.fsdbt``; ``FeatureStore`` turns them into
point-in-time correct training sets and serves their latest values online.
Importing fsdbt never imports dbt.
"""

from fsdbt.errors import (
    ConfigError,
    ContractError,
    FsdbtError,
    ManifestError,
    OnlineStoreError,
    WarehouseError,
)
from fsdbt.store import FeatureStore

__version__ = "0.1.0"
__all__ = [
    "ConfigError",
    "ContractError",
    "FeatureStore",
    "FsdbtError",
    "ManifestError",
    "OnlineStoreError",
    "WarehouseError",
    "__version__",
]
