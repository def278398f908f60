"""Parsing of ttl durations such as ``2 days``, ``36h``, ``90m`` or ``1 day 6 hours``."""

from __future__ import annotations

import re
from datetime import timedelta

_UNITS: dict[str, float] = {
    "us": 1e-6, "microsecond": 1e-6, "microseconds": 1e-6,
    "ms": 1e-3, "millisecond": 1e-3, "milliseconds": 1e-3,
    "s": 1, "sec": 1, "secs": 1, "second": 1, "seconds": 1,
    "m": 60, "min": 60, "mins": 60, "minute": 60, "minutes": 60,
    "h": 3600, "hr": 3600, "hrs": 3600, "hour": 3600, "hours": 3600,
    "d": 86400, "day": 86400, "days": 86400,
    "w": 604800, "week": 604800, "weeks": 604800,
}
_PART = re.compile(r"\s*(-?\d+(?:\.\d+)?)\s*([a-zA-Z]+)\s*")

EXAMPLES = "'2 days', '36h', '90m', '1 day 6 hours'"


def parse_duration(text: str | int | float) -> timedelta:
    """Parse a duration; a bare number means seconds.

    >>> parse_duration("2 days")
    datetime.timedelta(days=2)
    >>> parse_duration("36h") == timedelta(hours=36)
    True

    Raises ``ValueError`` with a message that shows accepted forms.
    """
    if isinstance(text, bool):
        raise ValueError(f"expected a duration such as {EXAMPLES}; got {text!r}")
    if isinstance(text, (int, float)):
        return timedelta(seconds=text)
    raw = str(text).strip()
    if not raw:
        raise ValueError(f"expected a duration such as {EXAMPLES}; got an empty string")
    if re.fullmatch(r"-?\d+(?:\.\d+)?", raw):
        return timedelta(seconds=float(raw))
    pos, seconds = 0, 0.0
    for match in _PART.finditer(raw):
        if match.start() != pos:
            break
        unit = match.group(2).lower()
        if unit not in _UNITS:
            raise ValueError(f"unknown unit '{match.group(2)}' in {raw!r}; use s, m, h, d or w "
                             f"(or words: seconds, minutes, hours, days, weeks), e.g. {EXAMPLES}")
        seconds += float(match.group(1)) * _UNITS[unit]
        pos = match.end()
    if pos != len(raw):
        raise ValueError(f"cannot read {raw!r} as a duration; write it like {EXAMPLES}")
    return timedelta(seconds=seconds)


def format_duration(delta: timedelta) -> str:
    """The shortest exact text for a duration: ``2 days``, ``36h``, ``90m``, ``45s``."""
    total = delta.total_seconds()
    for unit, size in (("days", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if total and total % size == 0:
            count = int(total // size)
            if unit == "days":
                return f"{count} day" if count == 1 else f"{count} days"
            return f"{count}{unit}"
    return f"{total}s"
