"""The point-in-time SQL per warehouse, as exact text, with hostile names (no I/O).

Names with quotes, apostrophes and mixed case must reach SQL only as quoted identifiers;
on Snowflake, names dbt creates unquoted are folded to upper case.
"""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest
from sqlglot import exp

from fsdbt.definitions import Feature, FeatureView, Relation
from fsdbt.dtypes import DType
from fsdbt.errors import ContractError
from fsdbt.offline.pit import plan_pit, render_pit
from fsdbt.sync.plan import Shard, latest_rows_sql

VIEW = FeatureView(
    name='a"b', unique_id="model.x.a", relation=Relation("db", "Mixed_Case", 'a"b'), entities=("o'brien",),
    timestamp="ts", created_timestamp="Created", ttl=timedelta(minutes=90),
    features=(Feature("Mixed_Case", 'a"b', DType.FLOAT),), columns=(),
)
SPINE = exp.Table(this=exp.to_identifier("__fsdbt_spine_0", quoted=True))
PLAN = plan_pit(list(VIEW.features), {VIEW.name: VIEW}, ["o'brien", "ts", "__fsdbt_row"], "ts",
                carry=["__fsdbt_row"], order_by="__fsdbt_row")

EXPECTED = {
    "duckdb": (
        'SELECT s."__fsdbt_row", CASE WHEN v0."ts" >= s."ts" - INTERVAL \'5400\' SECOND THEN v0."Mixed_Case" END '
        'AS "Mixed_Case" FROM "__fsdbt_spine_0" AS s LEFT JOIN (SELECT m."__fsdbt_row", v0."ts", v0."Mixed_Case" '
        'FROM "__fsdbt_spine_0" AS m ASOF LEFT JOIN (SELECT "o\'brien", "ts", "Created", "Mixed_Case" FROM '
        '"db"."Mixed_Case"."a""b" WHERE NOT "ts" IS NULL) AS v0 ON m."o\'brien" = v0."o\'brien" AND '
        'STRUCT_PACK(t := m."ts", c := CAST(\'infinity\' AS TIMESTAMP)) >= STRUCT_PACK(t := v0."ts", '
        'c := COALESCE(CAST(v0."Created" AS TIMESTAMP), CAST(\'-infinity\' AS TIMESTAMP))) WHERE NOT m."ts" IS NULL) '
        'AS v0 ON v0."__fsdbt_row" = s."__fsdbt_row" ORDER BY s."__fsdbt_row"'
    ),
    "postgres": (
        'SELECT s."__fsdbt_row", v0."Mixed_Case" AS "Mixed_Case" FROM "__fsdbt_spine_0" AS s LEFT JOIN LATERAL '
        '(SELECT r."Mixed_Case" FROM "db"."Mixed_Case"."a""b" AS r WHERE r."o\'brien" = s."o\'brien" AND '
        'r."ts" <= s."ts" AND r."ts" >= s."ts" - INTERVAL \'5400 SECOND\' ORDER BY r."ts" DESC NULLS LAST, '
        'r."Created" DESC NULLS LAST LIMIT 1) AS v0 ON TRUE ORDER BY s."__fsdbt_row"'
    ),
    "snowflake": (
        'SELECT s."__fsdbt_row", CASE WHEN v0."TS" >= DATEADD(SECOND, -5400, s."ts") THEN v0."MIXED_CASE" END '
        'AS "Mixed_Case" FROM "__fsdbt_spine_0" AS s LEFT JOIN (SELECT m."__fsdbt_row", v0."TS", v0."MIXED_CASE" '
        'FROM "__fsdbt_spine_0" AS m ASOF JOIN (SELECT "o\'brien", "TS", "CREATED", "MIXED_CASE" FROM '
        '"DB"."MIXED_CASE"."a""b" WHERE NOT "TS" IS NULL QUALIFY ROW_NUMBER() OVER (PARTITION BY "o\'brien", "TS" '
        'ORDER BY "CREATED" DESC NULLS LAST) = 1) AS v0 MATCH_CONDITION (m."ts" >= v0."TS") ON '
        'm."o\'brien" = v0."o\'brien") AS v0 ON v0."__fsdbt_row" = s."__fsdbt_row" ORDER BY s."__fsdbt_row"'
    ),
}


@pytest.mark.parametrize("dialect", sorted(EXPECTED))
def test_pit_sql_per_dialect(dialect: str) -> None:
    assert render_pit(PLAN, SPINE, dialect).sql(dialect) == EXPECTED[dialect]


def test_available_at_uses_the_window_form() -> None:
    sql = render_pit(dataclasses.replace(PLAN, available_at=True), SPINE, "duckdb").sql("duckdb")
    assert "ASOF" not in sql
    assert 'r."Created" <= m."ts"' in sql and 'ROW_NUMBER() OVER (PARTITION BY m."__fsdbt_row"' in sql


def test_output_name_clash_needs_full_names() -> None:
    other = dataclasses.replace(VIEW, name="other", features=(Feature("Mixed_Case", "other", DType.FLOAT),))
    features = [VIEW.features[0], other.features[0]]
    with pytest.raises(ContractError, match="use full_feature_names=True"):
        plan_pit(features, {VIEW.name: VIEW, "other": other}, ["o'brien", "ts"], "ts")
    plan = plan_pit(features, {VIEW.name: VIEW, "other": other}, ["o'brien", "ts"], "ts", full_feature_names=True)
    assert [o.name for o in plan.outputs] == ['a"b__Mixed_Case', "other__Mixed_Case"]


LATEST = {
    "duckdb": (
        'SELECT "o\'brien" AS "o\'brien", "ts" AS "ts", "Created" AS "Created", "Mixed_Case" AS "Mixed_Case" FROM '
        '"db"."Mixed_Case"."a""b" WHERE rowid IN (SELECT ARG_MAX(rowid, STRUCT_PACK(t := "ts", c := '
        'COALESCE(CAST("Created" AS TIMESTAMP), CAST(\'-infinity\' AS TIMESTAMP)))) FROM "db"."Mixed_Case"."a""b" '
        'WHERE NOT "o\'brien" IS NULL AND NOT "ts" IS NULL AND "ts" >= CAST(\'2025-12-31 22:30:00.000000\' AS '
        'TIMESTAMP) AND HASH("o\'brien") % 2 = 1 GROUP BY "o\'brien")'
    ),
    # A dbt view has no row ids: the whole row travels through arg_max.
    "duckdb-view": (
        'SELECT l.r."o\'brien" AS "o\'brien", l.r."ts" AS "ts", l.r."Created" AS "Created", l.r."Mixed_Case" AS '
        '"Mixed_Case" FROM (SELECT ARG_MAX(STRUCT_PACK("o\'brien" := "o\'brien", "ts" := "ts", "Created" := '
        '"Created", "Mixed_Case" := "Mixed_Case"), STRUCT_PACK(t := "ts", c := COALESCE(CAST("Created" AS TIMESTAMP), '
        'CAST(\'-infinity\' AS TIMESTAMP)))) AS r FROM "db"."Mixed_Case"."a""b" WHERE NOT "o\'brien" IS NULL AND '
        'NOT "ts" IS NULL AND "ts" >= CAST(\'2025-12-31 22:30:00.000000\' AS TIMESTAMP) AND HASH("o\'brien") % 2 = 1 '
        'GROUP BY "o\'brien") AS l'
    ),
    "postgres": (
        'SELECT DISTINCT ON ("o\'brien") "o\'brien" AS "o\'brien", "ts" AS "ts", "Created" AS "Created", '
        '"Mixed_Case" AS "Mixed_Case" FROM "db"."Mixed_Case"."a""b" WHERE NOT "o\'brien" IS NULL AND NOT "ts" IS NULL '
        'AND "ts" >= CAST(\'2025-12-31 22:30:00.000000\' AS TIMESTAMP) AND ABS(HASHTEXTEXTENDED(CONCAT_WS(\'|\', '
        'CAST("o\'brien" AS TEXT)), 0)) % 2 = 1 ORDER BY "o\'brien", "ts" DESC NULLS LAST, "Created" DESC NULLS LAST'
    ),
}


@pytest.mark.parametrize("dialect", sorted(LATEST))
def test_latest_rows_sql(dialect: str) -> None:
    from datetime import datetime, timezone

    now = datetime(2026, 1, 1, tzinfo=timezone.utc)
    engine, _, kind = dialect.partition("-")
    view = dataclasses.replace(VIEW, materialized=kind or "table")
    assert latest_rows_sql(view, engine, now=now, shard=Shard(1, 2)).sql(engine) == LATEST[dialect]


def test_shard_parse() -> None:
    assert str(Shard.parse("1/4")) == "1/4"
    for bad in ("4/4", "x", "1/0", "-1/2"):
        with pytest.raises(ValueError, match="--shard"):
            Shard.parse(bad)
