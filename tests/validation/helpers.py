"""Helpers shared by the validation tests: dbt in-process, and a private PostgreSQL schema."""

from __future__ import annotations

import contextlib
import sys
from typing import Any

PG = {"host": "127.0.0.1", "port": 5432, "user": "postgres", "dbname": "test", "connect_timeout": 3}


def dbt_in_process(args: list[str]) -> Any:
    """Run dbt in this process (a CLI start costs seconds); its log goes to stderr."""
    from dbt.cli.main import dbtRunner

    with contextlib.redirect_stdout(sys.stderr):
        return dbtRunner().invoke([*args, "--no-use-colors", "--no-send-anonymous-usage-stats"])


def failure_text(result: Any) -> str:
    parts = [str(result.exception)] if result.exception else []
    for r in getattr(result.result, "results", None) or []:
        if str(r.status) in ("error", "fail", "runtime error"):
            parts.append(f"{r.node.name}: {r.message}")
    return "\n".join(parts)


def postgres_available() -> str | None:
    """None when the server answers, else why not."""
    try:
        import psycopg2

        psycopg2.connect(**PG).close()
    except Exception as exc:  # no driver, no server
        return str(exc).strip()
    return None


def drop_schema(schema: str) -> None:
    import psycopg2
    from psycopg2 import sql

    con = psycopg2.connect(**PG)
    con.autocommit = True
    with con.cursor() as cur:
        cur.execute(sql.SQL("drop schema if exists {} cascade").format(sql.Identifier(schema)))
    con.close()
