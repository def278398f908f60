"""Names in SQL: identifiers are normalized for the dialect, then always quoted.

Names from users, the manifest or config never reach SQL as text: they become sqlglot
identifiers here. Snowflake folds unquoted names to upper case, and dbt creates relations
and columns unquoted by default, so a plain name (``driver_id``, ``Mixed_Case``) is the
quoted identifier ``"DRIVER_ID"`` / ``"MIXED_CASE"`` there; a name that could only have been
created quoted (``a"b``, ``o'brien``, ``Mixed Case``) is kept exactly.
"""

from __future__ import annotations

import re

from sqlglot import exp

from fsdbt.definitions import Relation

_SIMPLE = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]*$")
FOLD_UPPER = {"snowflake"}


def normalize(name: str, dialect: str) -> str:
    if dialect in FOLD_UPPER and _SIMPLE.match(name):
        return name.upper()
    return name


def ident(name: str, dialect: str) -> exp.Identifier:
    return exp.to_identifier(normalize(name, dialect), quoted=True)


def alias_ident(name: str) -> exp.Identifier:
    """An output column name, kept exactly as written (results carry fsdbt's names on every engine)."""
    return exp.to_identifier(name, quoted=True)


def col(name: str, table: str | None, dialect: str) -> exp.Column:
    return exp.Column(this=ident(name, dialect), table=exp.to_identifier(table) if table else None)


def table(relation: Relation, dialect: str, alias: str | None = None) -> exp.Table:
    node = exp.Table(
        this=ident(relation.identifier, dialect),
        db=ident(relation.schema, dialect) if relation.schema else None,
        catalog=ident(relation.database, dialect) if relation.database else None,
    )
    if alias:
        node.set("alias", exp.TableAlias(this=exp.to_identifier(alias)))
    return node
