"""Warehouse connections, opened from the dbt target (one module per engine)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fsdbt.errors import ConfigError

if TYPE_CHECKING:
    from fsdbt.project import Target
    from fsdbt.warehouse.base import Warehouse

SUPPORTED = ("duckdb", "postgres", "snowflake")


def open_warehouse(target: Target, *, read_only: bool = True) -> Warehouse:
    """Connect to the warehouse of a dbt target (the driver is imported here, lazily)."""
    if target.type == "duckdb":
        from fsdbt.warehouse.duckdb import DuckDBWarehouse

        return DuckDBWarehouse.from_settings(target.settings, read_only=read_only)
    if target.type == "postgres":
        from fsdbt.warehouse.postgres import PostgresWarehouse

        return PostgresWarehouse.from_settings(target.settings)
    if target.type == "snowflake":
        from fsdbt.warehouse.snowflake import SnowflakeWarehouse

        return SnowflakeWarehouse.from_settings(target.settings)
    raise ConfigError(f"{target.describe()}: warehouse type '{target.type}' is not supported by fsdbt; "
                      f"supported: {', '.join(SUPPORTED)}")
