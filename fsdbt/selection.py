"""``--select`` for feature views: names, globs and ``tag:NAME``, like a subset of dbt's syntax."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from fnmatch import fnmatchcase

from fsdbt.definitions import FeatureView
from fsdbt.errors import ConfigError, hint


def select_views(views: Iterable[FeatureView], selectors: Sequence[str] | None) -> list[FeatureView]:
    """The views matching any selector (all views when there is none), sorted by name."""
    views = sorted(views, key=lambda v: v.name)
    if not selectors:
        return views
    terms = [t for s in selectors for t in s.replace(",", " ").split()]
    chosen: dict[str, FeatureView] = {}
    for term in terms:
        if term.startswith("tag:"):
            hits = [v for v in views if term[4:] in v.tags]
        else:
            hits = [v for v in views if fnmatchcase(v.name, term)]
        if not hits:
            names = [v.name for v in views]
            raise ConfigError(f"--select '{term}' matches no feature view{hint(term, names, 'Views')}")
        chosen.update((v.name, v) for v in hits)
    return sorted(chosen.values(), key=lambda v: v.name)
