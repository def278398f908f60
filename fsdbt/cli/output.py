"""Printing results: tables for people, one JSON document for machines."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any


def _default(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, Decimal):
        return str(value)
    if hasattr(value, "value"):
        return value.value
    return str(value)


def print_json(document: Any) -> None:
    sys.stdout.write(json.dumps(document, indent=2, default=_default) + "\n")


def print_table(title: str, headers: Sequence[str], rows: Sequence[Sequence[Any]], *, max_width: int = 60) -> None:
    """A plain-text table (no colour codes, so it reads the same in a pipe and a terminal)."""
    cells = [[_cell(v, max_width) for v in row] for row in rows]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]
    out = sys.stdout
    out.write(f"{title}\n")
    out.write("  ".join(h.ljust(w) for h, w in zip(headers, widths)).rstrip() + "\n")
    out.write("  ".join("-" * w for w in widths) + "\n")
    for row in cells:
        out.write("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() + "\n")
    if not rows:
        out.write("(none)\n")
    out.write("\n")


def _cell(value: Any, max_width: int) -> str:
    if value is None:
        text = "-"
    elif isinstance(value, (list, tuple)):
        text = ", ".join(str(v) for v in value) or "-"
    elif isinstance(value, bool):
        text = "yes" if value else "no"
    else:
        text = str(value)
    text = " ".join(text.split())
    return text if len(text) <= max_width else text[: max_width - 1] + "…"


def info(message: str) -> None:
    print(message, file=sys.stderr)
