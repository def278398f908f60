"""Feature references: ``view.feature``, ``view.*``, and Feast's ``view:feature``."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class FeatureRef:
    """A reference to one feature (``feature`` is a name) or all of a view's (``feature == '*'``)."""

    view: str
    feature: str

    @property
    def is_wildcard(self) -> bool:
        return self.feature == "*"

    def __str__(self) -> str:
        return f"{self.view}.{self.feature}"


def parse_ref(text: object) -> FeatureRef:
    """Parse a reference; raises ``ValueError`` saying the accepted forms.

    >>> parse_ref("driver_hourly_stats.conv_rate")
    FeatureRef(view='driver_hourly_stats', feature='conv_rate')
    >>> parse_ref("driver_hourly_stats:conv_rate").feature
    'conv_rate'
    """
    if not isinstance(text, str):
        raise ValueError(f"a feature reference is a string like 'view.feature' or 'view.*'; got {text!r}")
    raw = text.strip()
    sep = ":" if ":" in raw and "." not in raw else "."
    view, found, feature = raw.partition(sep)
    if not found or not view or not feature or sep in feature:
        raise ValueError(f"cannot read feature reference {text!r}; write 'view.feature' or 'view.*'")
    return FeatureRef(view.strip(), feature.strip())
