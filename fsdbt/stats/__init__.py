"""Feature statistics computed in the warehouse, exported as TensorFlow Metadata, and a report.

>>> from fsdbt.stats import compute_statistics, to_statistics_list      # doctest: +SKIP
>>> stats = compute_statistics(store.warehouse, store.list_feature_views())  # doctest: +SKIP
>>> to_statistics_list(stats).datasets[0].name                             # doctest: +SKIP
'customer_profile'
"""

from fsdbt.stats.compute import (
    Drift,
    FeatureStatistics,
    NumericSummary,
    ViewStatistics,
    compute_statistics,
    compute_view,
    psi,
)
from fsdbt.stats.plan import Kind, StatsPlan, Windows

__all__ = [
    "Drift", "FeatureStatistics", "Kind", "NumericSummary", "StatsPlan", "ViewStatistics", "Windows",
    "compute_statistics", "compute_view", "psi",
]
