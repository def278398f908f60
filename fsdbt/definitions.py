"""The typed, immutable objects a project's feature definitions load into."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from fsdbt.dtypes import DType
from fsdbt.references import FeatureRef


@dataclass(frozen=True)
class Relation:
    """Where a model lives in the warehouse (names exactly as dbt renders them)."""

    database: str | None
    schema: str | None
    identifier: str

    def parts(self) -> tuple[str, ...]:
        return tuple(p for p in (self.database, self.schema, self.identifier) if p)

    def __str__(self) -> str:
        return ".".join(self.parts())


@dataclass(frozen=True)
class Column:
    name: str
    dtype: DType
    data_type: str | None = None  # the type as written in yml or reported by the catalog
    description: str = ""


@dataclass(frozen=True)
class Feature:
    """One feature: a column of a feature view that is neither a key nor a timestamp."""

    name: str
    view: str
    dtype: DType
    data_type: str | None = None
    description: str = ""
    tags: tuple[str, ...] = ()

    @property
    def ref(self) -> FeatureRef:
        return FeatureRef(self.view, self.name)

    @property
    def full_name(self) -> str:
        return f"{self.view}__{self.name}"


@dataclass(frozen=True)
class FeatureView:
    """A dbt model with ``meta.fsdbt``: entity keys, event time, optional ttl, and its features."""

    name: str
    unique_id: str
    relation: Relation
    entities: tuple[str, ...]
    timestamp: str
    features: tuple[Feature, ...]
    columns: tuple[Column, ...]
    created_timestamp: str | None = None
    ttl: timedelta | None = None
    online: bool = True
    owner: str | None = None
    tags: tuple[str, ...] = ()
    description: str = ""
    materialized: str = "table"
    file: str = ""
    yml_file: str | None = None
    package: str = ""

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)

    def feature(self, name: str) -> Feature:
        return next(f for f in self.features if f.name == name)

    @property
    def feature_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.features)


@dataclass(frozen=True)
class Entity:
    """A join key, with the views keyed by it (an entity is named after its column)."""

    name: str
    dtype: DType
    views: tuple[str, ...]
    description: str = ""


@dataclass(frozen=True)
class FeatureService:
    """A named set of features for one model: a dbt exposure of type ``ml``."""

    name: str
    unique_id: str
    features: tuple[Feature, ...]
    refs: tuple[FeatureRef, ...]
    full_feature_names: bool = False
    description: str = ""
    owner: str | None = None
    tags: tuple[str, ...] = ()
    file: str = ""
    views: tuple[str, ...] = field(default=())
