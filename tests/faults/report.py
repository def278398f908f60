"""What the fault suite did, counted by the tests themselves and printed at the end of the run.

``data lost`` counts keys that a fault or a refused input left missing or wrong after the
recovery the product promises (a rerun, a retry); every test asserts it stays 0, and the
report shows the total so that a run proves it rather than claims it.
"""

from __future__ import annotations

from collections import Counter

COUNTERS = ("faults injected", "reruns converged", "keys checked", "bad inputs tried", "data lost")
counts: Counter[str] = Counter()
seeds: list[str] = []


def count(name: str, n: int = 1) -> None:
    assert name in COUNTERS, name
    counts[name] += n


def fault(n: int = 1) -> None:
    count("faults injected", n)


def seed(label: str, value: int) -> None:
    seeds.append(f"{label}={value}")


def lines() -> list[str]:
    out = [f"{name}: {counts[name]:,}" for name in COUNTERS]
    if seeds:
        out.append("seeds: " + ", ".join(seeds))
    return out
