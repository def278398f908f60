"""The error tree. Every message says what went wrong, where, and what would be right.

A message never carries a secret: connection settings are described by host, port and
database name only, and driver messages are scrubbed of passwords before they are shown.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from difflib import get_close_matches


class FsdbtError(Exception):
    """Base of every error fsdbt raises on purpose. The CLI prints these without a traceback."""

    exit_code = 1


class ConfigError(FsdbtError):
    """A mistake in the project's configuration (profiles, dbt_project.yml, flags)."""


class ManifestError(FsdbtError):
    """The dbt manifest is missing, unreadable or cannot be produced."""


class ContractError(ConfigError):
    """A feature view, feature service or feature reference breaks the fsdbt contract."""

    def __init__(self, message: str, *, model: str | None = None, file: str | None = None,
                 key: str | None = None) -> None:
        super().__init__(message)
        self.model = model
        self.file = file
        self.key = key


class ContractErrors(ConfigError):
    """Several contract mistakes found in one pass, reported together."""

    def __init__(self, errors: Sequence[ContractError], note: str | None = None) -> None:
        self.errors = list(errors)
        lines = [f"{len(self.errors)} problem(s) in the feature definitions:"]
        lines += [f"  - {e}" for e in self.errors]
        if note:
            lines.append(note)
        super().__init__("\n".join(lines))


class WarehouseError(FsdbtError):
    """The warehouse refused a query or could not be reached."""


class OnlineStoreError(FsdbtError):
    """The online store refused a command or could not be reached."""


class ValidationGateError(FsdbtError):
    """A view's latest dbt tests failed, so it is not published."""


def did_you_mean(word: str, candidates: Iterable[str]) -> str:
    """A ``; did you mean 'x'?`` suffix for a near-miss, or an empty string."""
    matches = get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return f"; did you mean '{matches[0]}'?" if matches else ""


def one_of(candidates: Iterable[str], limit: int = 12) -> str:
    """A short, sorted list of valid choices for an error message."""
    items = sorted(candidates)
    shown = ", ".join(f"'{c}'" for c in items[:limit])
    more = f" and {len(items) - limit} more" if len(items) > limit else ""
    return shown + more if items else "(none)"


def hint(word: str, candidates: Iterable[str], label: str) -> str:
    """``; did you mean 'x'? Label: 'a', 'b'`` (or ``. Label: ...`` without a near-miss)."""
    items = list(candidates)
    near = did_you_mean(word, items)
    return f"{near} {label}: {one_of(items)}" if near else f". {label}: {one_of(items)}"


def a_or_an(word: str) -> str:
    """``word`` with its indefinite article: "an int64", "a float64"."""
    return f"{'an' if word[:1].lower() in 'aeiou' else 'a'} {word}"
