"""The dbt macro ``fsdbt.point_in_time_join`` against the brute-force oracle, on real warehouses.

The dbt project in ``tests/dbt_pit`` installs fsdbt (``packages.yml``: ``local: ../..``) and
defines four feature views, a few spines and ``training_*`` models that call the macro. Each
test writes generated raw tables into a warehouse, runs ``dbt deps`` and ``dbt build``
in-process (``dbtRunner``), reads every training model back and compares it with
``tests/pit_oracle.py`` row for row.

Every view has ``case_id`` as its first key, so many independent generated cases (hypothesis
draws plus hand-written edge cases) share one set of tables and one dbt build.

- DuckDB: an embedded file in a temporary directory.
- PostgreSQL (marker ``postgres``): the server on 127.0.0.1:5432 (user postgres, database
  test), in a schema of its own that the test drops; a missing server fails the test.
- Snowflake (marker ``snowflake``): a fakesnow server that the test starts. fakesnow runs
  DuckDB underneath and cannot run Snowflake's ``ASOF JOIN ... MATCH_CONDITION``, so the
  server process used here rewrites that join into DuckDB's ``ASOF LEFT JOIN`` before
  fakesnow translates the statement. The rewrite lives only in this test harness; the
  compiled Snowflake SQL of one model is also checked as text.
"""

from __future__ import annotations

import abc
import json
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import closing, contextmanager
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tests.pit_oracle import OracleView, pit_oracle

PROJECT = Path(__file__).resolve().parent / "dbt_pit"
BASE = datetime(2024, 3, 9, 12, 0)
US = timedelta(microseconds=1)

# ---------------------------------------------------------------------------------------------
# The raw tables the test writes, and what the dbt project makes of them.
# ---------------------------------------------------------------------------------------------
TABLES: dict[str, list[tuple[str, str]]] = {
    "raw_spine": [
        ("case_id", "int"),
        ("k1", "int"),
        ("k2", "text"),
        ("event_timestamp", "ts"),
        ("label", "text"),
        ("row_tag", "int"),
    ],
    "raw_v_pair": [
        ("case_id", "int"),
        ("k1", "int"),
        ("k2", "text"),
        ("ts", "ts"),
        ("created", "ts"),
        ("f_num", "float"),
        ("f_text", "text"),
    ],
    "raw_v_user": [("case_id", "int"), ("k1", "int"), ("event_ts", "ts"), ("f_num", "float"), ("amount", "int")],
    "raw_v_item": [
        ("case_id", "int"),
        ("k2", "text"),
        ("ts", "ts"),
        ("loaded_at", "ts"),
        ("score", "float"),
        ("flag", "bool"),
    ],
    # A hostile column name: upper case and a space, so it must be quoted on every warehouse.
    "raw_v_recent": [("case_id", "int"), ("k1", "int"), ("ts", "ts"), ("f_int", "int"), ("Mixed Case", "int")],
}
SQL_TYPES = {
    "duckdb": {"int": "integer", "text": "varchar", "ts": "timestamp", "float": "double", "bool": "boolean"},
    "postgres": {"int": "integer", "text": "text", "ts": "timestamp", "float": "double precision", "bool": "boolean"},
    "snowflake": {"int": "integer", "text": "varchar", "ts": "timestamp_ntz", "float": "float", "bool": "boolean"},
}

# The feature views as declared in tests/dbt_pit/models/feature_views.
VIEWS: dict[str, dict[str, Any]] = {
    "v_pair": {
        "table": "raw_v_pair",
        "entities": ["case_id", "k1", "k2"],
        "timestamp": "ts",
        "created_timestamp": "created",
        "ttl": timedelta(days=1, hours=6),
    },
    "v_user": {
        "table": "raw_v_user",
        "entities": ["case_id", "k1"],
        "timestamp": "event_ts",
        "created_timestamp": None,
        "ttl": None,
    },
    "v_item": {
        "table": "raw_v_item",
        "entities": ["case_id", "k2"],
        "timestamp": "ts",
        "created_timestamp": "loaded_at",
        "ttl": None,
    },
    "v_recent": {
        "table": "raw_v_recent",
        "entities": ["case_id", "k1"],
        "timestamp": "ts",
        "created_timestamp": None,
        "ttl": timedelta(minutes=90),
    },
}
ALL_FEATURES = [
    ("v_pair", ["f_num", "f_text"]),
    ("v_user", ["f_num"]),
    ("v_item", ["score", "flag"]),
    ("v_recent", ["f_int", "Mixed Case"]),
    ("v_user", ["amount"]),
]
# What each training model in tests/dbt_pit/models/training asks for.
TRAINING: dict[str, dict[str, Any]] = {
    "training_full": {"features": ALL_FEATURES, "full": True, "available_at": False},
    "training_available_at": {"features": ALL_FEATURES, "full": True, "available_at": True},
    "training_window": {"features": ALL_FEATURES, "full": True, "available_at": False},
    "training_short": {
        "features": [
            ("v_item", ["score", "flag"]),
            ("v_pair", ["f_text"]),
            ("v_recent", ["f_int", "Mixed Case"]),
            ("v_user", ["amount"]),
        ],
        "full": False,
        "available_at": False,
        "spine_ts": "prediction_ts",
    },
    "training_service": {
        "features": [("v_pair", ["f_num"]), ("v_item", ["score"])],
        "full": True,
        "available_at": False,
    },
    "training_text": {
        "features": [("v_recent", ["f_int"]), ("v_item", ["score"])],
        "full": False,
        "available_at": False,
    },
}

Data = dict[str, list[dict[str, Any]]]  # raw table -> rows


def expected_output(model: str, data: Data) -> list[dict[str, Any]]:
    """The oracle's answer for one training model."""
    spec = TRAINING[model]
    spine_ts = spec.get("spine_ts", "event_timestamp")
    spine = [{(spine_ts if k == "event_timestamp" else k): v for k, v in row.items()} for row in data["raw_spine"]]
    views: list[OracleView] = []
    for name, features in spec["features"]:
        view = VIEWS[name]
        views.append(
            OracleView(
                name=name,
                rows=data[view["table"]],
                entities=view["entities"],
                timestamp=view["timestamp"],
                created_timestamp=view["created_timestamp"],
                ttl=view["ttl"],
                features=features,
            )
        )
    rows = pit_oracle(spine, spine_ts, views, full_feature_names=spec["full"], available_at=spec["available_at"])
    return [{k.lower(): v for k, v in row.items()} for row in rows]  # as the readers return them


# ---------------------------------------------------------------------------------------------
# Data: hand-written edge cases and hypothesis-generated cases.
# ---------------------------------------------------------------------------------------------
T0 = BASE
T1 = BASE + timedelta(hours=1)


def edge_case() -> Data:
    """One case with every edge the semantics name (expected values: test_oracle_edge_case)."""
    pair = [
        {"k1": 1, "k2": "a", "ts": T0, "created": T0, "f_num": 1.0, "f_text": "old"},
        {"k1": 1, "k2": "a", "ts": T1, "created": T1 + timedelta(minutes=5), "f_num": 2.0, "f_text": "first"},
        # Same event time, created later: a correction; its NULL feature stays NULL.
        {"k1": 1, "k2": "a", "ts": T1, "created": T1 + timedelta(minutes=10), "f_num": None, "f_text": "corrected"},
        # Same event time, NULL created: ranks below any created time.
        {"k1": 1, "k2": "a", "ts": T1, "created": None, "f_num": 9.0, "f_text": "null-created"},
        {"k1": None, "k2": "a", "ts": T1, "created": T1, "f_num": 5.0, "f_text": "null-key"},
        {"k1": 1, "k2": "a", "ts": None, "created": T0, "f_num": 6.0, "f_text": "null-ts"},
    ]
    user = [{"k1": 1, "event_ts": T0 - timedelta(days=30), "f_num": 7.5, "amount": 3}]
    item = [
        {"k2": "a", "ts": T0, "loaded_at": T0, "score": 1.0, "flag": True},
        # Backfilled: event at T0+2h, loaded a day later.
        {"k2": "a", "ts": T0 + timedelta(hours=2), "loaded_at": T0 + timedelta(days=1), "score": 2.0, "flag": False},
    ]
    recent = [{"k1": 1, "ts": T0, "f_int": 10, "Mixed Case": None}]
    spine_times = {
        1: (1, "a", T0 - US),  # before every row
        2: (1, "a", T0),  # exactly on a row
        3: (1, "a", T1),  # three rows tie on event time
        4: (1, "a", T1 + timedelta(minutes=7)),  # between two created times
        5: (1, "a", T1 + timedelta(hours=30)),  # exactly on v_pair's ttl edge
        6: (1, "a", T1 + timedelta(hours=30) + US),  # one microsecond past it
        7: (None, "a", T1),  # NULL key
        8: (1, "a", None),  # NULL time
        9: (1, "a", T1),  # duplicate of 3
        10: (1, "a", T0 + timedelta(minutes=90)),  # exactly on v_recent's ttl edge
        11: (1, "a", T0 + timedelta(minutes=90) + US),  # one microsecond past it
        12: (1, "a", T0 + timedelta(hours=3)),  # backfilled v_item row not yet loaded
    }
    spine = [
        {"k1": k1, "k2": k2, "event_timestamp": t, "label": f"edge-{tag}", "row_tag": tag}
        for tag, (k1, k2, t) in spine_times.items()
    ]
    spine[8]["row_tag"] = 3
    spine[8]["label"] = "edge-3"
    return {"raw_spine": spine, "raw_v_pair": pair, "raw_v_user": user, "raw_v_item": item, "raw_v_recent": recent}


def _opt(draw: st.DrawFn, strategy: st.SearchStrategy[Any], one_in: int) -> Any:
    return None if draw(st.integers(0, one_in - 1)) == 0 else draw(strategy)


def _unique(rows: list[dict[str, Any]], key: Sequence[str]) -> list[dict[str, Any]]:
    """Drop rows that tie with an earlier one on every ordering column (their choice is unspecified)."""
    seen: set[tuple[Any, ...]] = set()
    out = []
    for row in rows:
        k = tuple(row[c] for c in key)
        if k not in seen:
            seen.add(k)
            out.append(row)
    return out


MINUTES = [0, 30, 60, 90, 91, 120, 1440, 1800, 1830, 2880]
times = st.one_of(st.sampled_from(MINUTES), st.integers(0, 3000)).map(lambda m: BASE + timedelta(minutes=m))
k1s = st.sampled_from([1, 1, 2, 2, None])
k2s = st.sampled_from(["a", "a", "o'b", "B", None])
nums = st.sampled_from([0.5, -2.25, 1e6, 3.0])
texts = st.sampled_from(["x", "Ünï", "o'brien", ""])
ints = st.sampled_from([0, 7, -3, 123456])
created_after = st.sampled_from([timedelta(0), timedelta(minutes=5), timedelta(minutes=10), timedelta(days=1)])


@st.composite
def generated_case(draw: st.DrawFn) -> Data:
    """Small views with frequent ties, and spine times anchored on rows, ttl edges and created times."""
    pair = []
    for _ in range(draw(st.integers(0, 7))):
        ts = _opt(draw, times, 12)
        created = _opt(draw, created_after, 6)
        pair.append(
            {
                "k1": draw(k1s),
                "k2": draw(k2s),
                "ts": ts,
                "created": None if created is None else (ts or BASE) + created,
                "f_num": _opt(draw, nums, 4),
                "f_text": _opt(draw, texts, 4),
            }
        )
    pair = _unique(pair, ["k1", "k2", "ts", "created"])
    user = _unique(
        [
            {
                "k1": draw(k1s),
                "event_ts": _opt(draw, times, 12),
                "f_num": _opt(draw, nums, 4),
                "amount": _opt(draw, ints, 4),
            }
            for _ in range(draw(st.integers(0, 5)))
        ],
        ["k1", "event_ts"],
    )
    item = []
    for _ in range(draw(st.integers(0, 6))):
        ts = _opt(draw, times, 12)
        loaded = _opt(draw, created_after, 6)
        item.append(
            {
                "k2": draw(k2s),
                "ts": ts,
                "loaded_at": None if loaded is None else (ts or BASE) + loaded,
                "score": _opt(draw, nums, 4),
                "flag": _opt(draw, st.booleans(), 4),
            }
        )
    item = _unique(item, ["k2", "ts", "loaded_at"])
    recent = _unique(
        [
            {
                "k1": draw(k1s),
                "ts": _opt(draw, times, 12),
                "f_int": _opt(draw, ints, 4),
                "Mixed Case": _opt(draw, ints, 3),
            }
            for _ in range(draw(st.integers(0, 5)))
        ],
        ["k1", "ts"],
    )

    # Spine times near what decides the answer: row times, ttl edges (+-1us), created times.
    ttl_pair, ttl_recent = VIEWS["v_pair"]["ttl"], VIEWS["v_recent"]["ttl"]
    near = [timedelta(0), -US, US]
    anchors: list[tuple[Any, Any, datetime, list[timedelta]]] = []
    for r in pair:
        if r["ts"] is not None:
            anchors.append((r["k1"], r["k2"], r["ts"], [*near, ttl_pair, ttl_pair - US, ttl_pair + US]))
        if r["created"] is not None:
            anchors.append((r["k1"], r["k2"], r["created"], near))
    for r in recent:
        if r["ts"] is not None:
            anchors.append((r["k1"], None, r["ts"], [*near, ttl_recent, ttl_recent - US, ttl_recent + US]))
    for r in item:
        for t in (r["ts"], r["loaded_at"]):
            if t is not None:
                anchors.append((None, r["k2"], t, near))
    for r in user:
        if r["event_ts"] is not None:
            anchors.append((r["k1"], None, r["event_ts"], [*near, timedelta(days=3)]))

    spine = []
    for _ in range(draw(st.integers(1, 8))):
        if anchors and draw(st.integers(0, 3)) > 0:
            k1, k2, t, deltas = draw(st.sampled_from(anchors))
            k1 = draw(k1s) if k1 is None else k1
            k2 = draw(k2s) if k2 is None else k2
            t = t + draw(st.sampled_from(deltas))
        else:
            k1, k2, t = draw(k1s), draw(k2s), _opt(draw, times, 8)
        spine.append(
            {
                "k1": k1,
                "k2": k2,
                "event_timestamp": t,
                "label": _opt(draw, st.just("yes"), 2),
                "row_tag": len(spine) + 1,
            }
        )
    for index in draw(st.lists(st.integers(0, len(spine) - 1), max_size=2)):
        spine.append(dict(spine[index]))  # duplicate spine rows stay duplicates
    return {"raw_spine": spine, "raw_v_pair": pair, "raw_v_user": user, "raw_v_item": item, "raw_v_recent": recent}


def assemble(cases: Sequence[Data]) -> Data:
    """Stack cases into one dataset: ``case_id`` first in every table, row tags made unique.

    A spine row's ``row_tag`` becomes ``case_id * 100 + row_tag``; duplicated spine rows share it.
    """
    data: Data = {table: [] for table in TABLES}
    for case_id, case in enumerate(cases):
        for table in TABLES:
            for row in case.get(table, []):
                full = {**row, "case_id": case_id}
                if table == "raw_spine":
                    full["row_tag"] = case_id * 100 + row["row_tag"]
                data[table].append({col: full.get(col) for col, _ in TABLES[table]})
    return data


# ---------------------------------------------------------------------------------------------
# Warehouses: write the raw tables, read a model back.
# ---------------------------------------------------------------------------------------------
def quote(name: str) -> str:
    """Plain lower-case names stay unquoted (Snowflake folds them to upper case like dbt does)."""
    return name if name.isidentifier() and name == name.lower() else '"' + name.replace('"', '""') + '"'


class Warehouse(abc.ABC):
    target: str

    @abc.abstractmethod
    def load(self, data: Data) -> None:
        """Write every raw table of ``data``."""

    @abc.abstractmethod
    def read(self, table: str) -> tuple[list[str], list[dict[str, Any]]]:
        """A model's column names and rows."""

    @staticmethod
    def ddl(table: str, dialect: str) -> str:
        cols = ", ".join(f"{quote(c)} {SQL_TYPES[dialect][kind]}" for c, kind in TABLES[table])
        return f"create table {table} ({cols})"


class DuckDBWarehouse(Warehouse):
    target = "duckdb"

    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self, data: Data) -> None:
        import duckdb

        # dbt-duckdb may keep the file open in this process, so replace tables, not the file.
        with closing(duckdb.connect(str(self.path))) as con:
            for table, cols in TABLES.items():
                con.execute(self.ddl(table, "duckdb").replace("create table", "create or replace table"))
                if data[table]:
                    marks = ", ".join("?" for _ in cols)
                    con.executemany(
                        f"insert into {table} values ({marks})", [[row[c] for c, _ in cols] for row in data[table]]
                    )

    def read(self, table: str) -> tuple[list[str], list[dict[str, Any]]]:
        import duckdb

        with closing(duckdb.connect(str(self.path))) as con:
            cur = con.execute(f"select * from {table}")
            names = [d[0].lower() for d in cur.description]
            return names, [dict(zip(names, row)) for row in cur.fetchall()]


class PostgresWarehouse(Warehouse):
    target = "postgres"

    def __init__(self, schema: str) -> None:
        self.schema = schema

    @staticmethod
    def connect() -> Any:
        import psycopg2

        return psycopg2.connect(
            host="127.0.0.1",
            port=int(os.environ.get("FSDBT_PIT_PG_PORT", "5432")),
            user="postgres",
            dbname="test",
            connect_timeout=5,
        )

    def load(self, data: Data) -> None:
        from psycopg2.extras import execute_values

        with closing(self.connect()) as con, con.cursor() as cur:
            cur.execute(f"drop schema if exists {self.schema} cascade")
            cur.execute(f"create schema {self.schema}")
            cur.execute(f"set search_path to {self.schema}")
            for table, cols in TABLES.items():
                cur.execute(self.ddl(table, "postgres"))
                if data[table]:
                    execute_values(
                        cur, f"insert into {table} values %s", [[row[c] for c, _ in cols] for row in data[table]]
                    )
            con.commit()

    def read(self, table: str) -> tuple[list[str], list[dict[str, Any]]]:
        with closing(self.connect()) as con, con.cursor() as cur:
            cur.execute(f"select * from {self.schema}.{table}")
            names = [d[0].lower() for d in cur.description]
            return names, [dict(zip(names, row)) for row in cur.fetchall()]

    def drop(self) -> None:
        with closing(self.connect()) as con, con.cursor() as cur:
            cur.execute(f"drop schema if exists {self.schema} cascade")
            con.commit()


class SnowflakeWarehouse(Warehouse):
    target = "snowflake"

    def __init__(self, port: int, schema: str) -> None:
        self.port, self.schema = port, schema

    def connect(self) -> Any:
        import snowflake.connector

        return snowflake.connector.connect(
            host="127.0.0.1",
            port=self.port,
            protocol="http",
            account="fakesnow",
            user="fake",
            password="snow",
            database="fsdbt_pit",
            schema=self.schema,
            warehouse="fakesnow",
            role="fakesnow",
            login_timeout=10,
            network_timeout=60,
        )

    def load(self, data: Data) -> None:
        with closing(self.connect()) as con, closing(con.cursor()) as cur:
            for table, cols in TABLES.items():
                cur.execute(f"drop table if exists {table}")
                cur.execute(self.ddl(table, "snowflake"))
                if data[table]:
                    marks = ", ".join("%s" for _ in cols)
                    cur.executemany(
                        f"insert into {table} values ({marks})", [[row[c] for c, _ in cols] for row in data[table]]
                    )

    def read(self, table: str) -> tuple[list[str], list[dict[str, Any]]]:
        with closing(self.connect()) as con, closing(con.cursor()) as cur:
            cur.execute(f"select * from {table}")
            names = [d[0].lower() for d in cur.description]
            rows = [dict(zip(names, row)) for row in cur.fetchall()]
        # fakesnow returns a NULL TIMESTAMP_NTZ as 1970-01-01 (a fakesnow bug); no test time is 1970.
        epoch = datetime(1970, 1, 1)
        return names, [{k: (None if v == epoch else v) for k, v in row.items()} for row in rows]


# ---------------------------------------------------------------------------------------------
# dbt, in-process.
# ---------------------------------------------------------------------------------------------
def run_dbt(args: list[str], workdir: Path, target: str | None = None) -> Any:
    from dbt.cli.main import dbtRunner

    flags = ["--project-dir", str(PROJECT), "--profiles-dir", str(PROJECT), "--log-path", str(workdir / "logs")]
    if args[0] != "deps":
        flags += ["--target-path", str(workdir / "target")]
    if target:
        flags += ["--target", target]
    return dbtRunner().invoke([*args, *flags, "--no-use-colors"])


def failure_text(result: Any) -> str:
    parts = [str(result.exception)] if result.exception else []
    for r in getattr(result.result, "results", None) or []:
        if str(r.status) in ("error", "fail", "runtime error"):
            parts.append(f"{r.node.name}: {r.message}")
    return "\n".join(parts)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A scratch directory for dbt's packages, target and logs; dbt deps runs once into it."""
    path = tmp_path_factory.mktemp("dbt_pit")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FSDBT_PIT_PACKAGES_DIR", str(path / "dbt_packages"))
        mp.setenv("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
        mp.setenv("FSDBT_PIT_DUCKDB_PATH", str(path / "pit.duckdb"))
        res = run_dbt(["deps"], path)
        assert res.success, failure_text(res)
        yield path


@contextmanager
def env(**values: str) -> Iterator[None]:
    with pytest.MonkeyPatch.context() as mp:
        for key, value in values.items():
            mp.setenv(key, value)
        yield


def build_and_compare(warehouse: Warehouse, data: Data, workdir: Path) -> dict[str, int]:
    """Load, dbt build, and compare every training model with the oracle. Returns rows checked."""
    warehouse.load(data)
    res = run_dbt(["build", "--exclude", "path:models/errors"], workdir, warehouse.target)
    assert res.success, failure_text(res)
    checked = {}
    for model in TRAINING:
        names, actual = warehouse.read(model)
        expected = expected_output(model, data)
        assert names == list(expected[0]), f"{model}: columns {names} != {list(expected[0])}"
        compare(model, actual, expected, data)
        checked[model] = len(actual)
    return checked


def _normal(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def _key(row: Mapping[str, Any]) -> str:
    return json.dumps({k: _normal(v) for k, v in row.items()}, default=str, sort_keys=True)


def compare(model: str, actual: list[dict[str, Any]], expected: list[dict[str, Any]], data: Data) -> None:
    """Row for row (as multisets: SQL tables have no order); on failure show the first bad case."""
    got = sorted(_key(r) for r in actual)
    want = sorted(_key(r) for r in expected)
    if got == want:
        return
    bad = sorted(
        {json.loads(k)["case_id"] for k in set(got) ^ set(want)}
        | {json.loads(k)["case_id"] for k in got if got.count(k) != want.count(k)}
    )
    case = bad[0]
    inputs = {t: [r for r in rows if r["case_id"] == case] for t, rows in data.items()}
    pytest.fail(
        f"{model}: {len(actual)} rows, expected {len(expected)}; cases differing: {bad}\n"
        f"case {case} input:\n{json.dumps(inputs, default=str, indent=1)}\n"
        f"expected:\n" + "\n".join(k for k in want if json.loads(k)["case_id"] == case) + "\n"
        "got:\n" + "\n".join(k for k in got if json.loads(k)["case_id"] == case)
    )


def expect_failures(workdir: Path, target: str, case: str, select: str, messages: Mapping[str, Sequence[str]]) -> None:
    res = run_dbt(["build", "--select", select, "--vars", json.dumps({"pit_error_case": case})], workdir, target)
    assert not res.success, f"{case}: dbt build should have failed"
    text = failure_text(res)
    for model, fragments in messages.items():
        for fragment in fragments:
            assert fragment in text, f"{model}: {fragment!r} not in:\n{text}"


# ---------------------------------------------------------------------------------------------
# Tests
# ---------------------------------------------------------------------------------------------
def test_oracle_edge_case() -> None:
    """The oracle itself, on the hand-written edge case, against values worked out by hand."""
    data = assemble([edge_case()])
    got = {(r["row_tag"], r["label"]): r for r in expected_output("training_full", data)}
    late = {(r["row_tag"], r["label"]): r for r in expected_output("training_available_at", data)}

    def feats(row: Mapping[str, Any]) -> tuple[Any, ...]:
        return (
            row["v_pair__f_num"],
            row["v_pair__f_text"],
            row["v_user__f_num"],
            row["v_item__score"],
            row["v_recent__f_int"],
        )

    user = 7.5
    assert feats(got[1, "edge-1"]) == (None, None, user, None, None)
    assert feats(got[2, "edge-2"]) == (1.0, "old", user, 1.0, 10)
    assert feats(got[3, "edge-3"]) == (None, "corrected", user, 1.0, 10)
    assert feats(late[3, "edge-3"]) == (1.0, "old", user, 1.0, 10)
    assert feats(got[4, "edge-4"])[:2] == (None, "corrected")
    assert feats(late[4, "edge-4"])[:2] == (2.0, "first")
    assert feats(got[5, "edge-5"]) == (None, "corrected", user, 2.0, None)
    assert feats(got[6, "edge-6"])[:2] == (None, None)
    assert feats(got[7, "edge-7"]) == (None, None, None, 1.0, None)
    assert feats(got[8, "edge-8"]) == (None, None, None, None, None)
    assert feats(got[10, "edge-10"])[4] == 10
    assert feats(got[11, "edge-11"])[4] is None
    assert got[12, "edge-12"]["v_item__flag"] is False and late[12, "edge-12"]["v_item__flag"] is True
    assert len(expected_output("training_full", data)) == 12  # the duplicate row is kept
    with pytest.raises(ValueError, match="full_feature_names"):
        pit_oracle(
            data["raw_spine"],
            "event_timestamp",
            [
                OracleView(
                    name=n,
                    rows=[],
                    entities=["case_id"],
                    timestamp="ts",
                    created_timestamp=None,
                    ttl=None,
                    features=["f_num"],
                )
                for n in ("v_pair", "v_user")
            ],
        )


GENERATED = st.lists(generated_case(), min_size=8, max_size=8)
FEW = settings(
    deadline=None, database=None, phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck)
)


@pytest.mark.slow
@settings(FEW, max_examples=3)
@given(cases=GENERATED)
def test_pit_duckdb(workdir: Path, cases: list[Data]) -> None:
    data = assemble([edge_case(), *cases])
    checked = build_and_compare(DuckDBWarehouse(workdir / "pit.duckdb"), data, workdir)
    assert checked["training_full"] == len(data["raw_spine"])

    # The ttl parser in Jinja agrees with the Python one.
    from fsdbt.durations import parse_duration

    _, rows = DuckDBWarehouse(workdir / "pit.duckdb").read("ttl_cases")
    for row in rows:
        text = row["ttl_text"]
        want = parse_duration(45 if text == "number 45" else text)
        assert row["microseconds"] == want // timedelta(microseconds=1), text


@pytest.mark.slow
def test_pit_errors_duckdb(workdir: Path) -> None:
    """Expected failures: the macro stops with a message that says what to fix."""
    data = assemble([edge_case()])
    DuckDBWarehouse(workdir / "pit.duckdb").load(data)
    res = run_dbt(["build", "--exclude", "path:models/errors"], workdir, "duckdb")
    assert res.success, failure_text(res)
    expect_failures(
        workdir,
        "duckdb",
        "bad_spine",
        "error_bad_argument",
        {
            "error_bad_argument": [
                "point_in_time_join: `spine` must be a Relation (use ref(...) or source(...)); got 'labels'"
            ]
        },
    )
    expect_failures(
        workdir,
        "duckdb",
        "bad_features",
        "error_bad_argument",
        {"error_bad_argument": ["point_in_time_join: `features` must be a list of feature references"]},
    )
    expect_failures(
        workdir,
        "duckdb",
        "execute",
        "path:models/errors",
        {
            "error_unknown_feature": [
                "unknown feature 'v_pair.f_nmu'; did you mean 'v_pair.f_num'?",
                "the features of 'v_pair' are: f_num, f_text",
            ],
            "error_name_clash": [
                "output column 'f_num' of feature 'v_user.f_num'",
                "feature 'v_pair.f_num'",
                "use full_feature_names=true",
            ],
            "error_missing_entity": ["has no column 'k2', an entity key of feature view 'v_pair'"],
            "error_unknown_service": ["'svc_pairr' is neither a feature reference", "did you mean 'svc_pair'?"],
            "error_service_lineage": ["add the line  -- depends_on: {{ ref('v_pair') }}"],
            "error_not_a_view": ["model 'spine_shifted'", "is not a feature view"],
        },
    )


@pytest.fixture(scope="module")
def postgres_schema() -> Iterator[str]:
    try:
        PostgresWarehouse.connect().close()
    except Exception as exc:  # psycopg2.OperationalError, or psycopg2 missing
        pytest.fail(f"no PostgreSQL server on 127.0.0.1 (user postgres, database test): {exc}")
    schema = f"fsdbt_pit_{uuid.uuid4().hex[:10]}"
    yield schema
    PostgresWarehouse(schema).drop()


@pytest.mark.postgres
@pytest.mark.slow
@settings(FEW, max_examples=2)
@given(cases=GENERATED)
def test_pit_postgres(workdir: Path, postgres_schema: str, cases: list[Data]) -> None:
    data = assemble([edge_case(), *cases])
    with env(FSDBT_PIT_SCHEMA=postgres_schema):
        build_and_compare(PostgresWarehouse(postgres_schema), data, workdir)


@pytest.mark.postgres
@pytest.mark.slow
def test_pit_postgres_empty(workdir: Path, postgres_schema: str) -> None:
    """dbt build --empty renders refs as aliased subqueries (PostgreSQL requires the alias)."""
    PostgresWarehouse(postgres_schema).load(assemble([edge_case()]))
    with env(FSDBT_PIT_SCHEMA=postgres_schema):
        res = run_dbt(["build", "--empty", "--exclude", "path:models/errors"], workdir, "postgres")
    assert res.success, failure_text(res)


FAKESNOW_SERVER = r'''
"""fakesnow's HTTP server, with Snowflake's ASOF JOIN rewritten for the DuckDB underneath."""
import signal, sys, threading
from sqlglot import exp
from fakesnow.cursor import FakeSnowflakeCursor
import fakesnow

def asof_to_duckdb(expression):
    # Snowflake: ASOF JOIN r MATCH_CONDITION (c) ON k (unmatched left rows kept)
    # DuckDB:    ASOF LEFT JOIN r ON k AND c
    for join in list(expression.find_all(exp.Join)):
        condition = join.args.get("match_condition")
        if condition is not None:
            on = join.args.get("on")
            join.set("match_condition", None)
            join.set("side", "LEFT")
            join.set("on", exp.and_(on, condition) if on is not None else condition)
    return expression

transform = FakeSnowflakeCursor._transform
FakeSnowflakeCursor._transform = lambda self, expression, params: transform(self, asof_to_duckdb(expression), params)

stop = threading.Event()
signal.signal(signal.SIGTERM, lambda *_: stop.set())
signal.signal(signal.SIGINT, lambda *_: stop.set())
with fakesnow.server(port=int(sys.argv[1]), host="127.0.0.1"):
    stop.wait()
'''


def _free_port() -> int:
    with closing(socket.socket()) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def fakesnow_port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """A fakesnow server on a free loopback port; fails (never hangs) if it is not up in 30 s."""
    pytest.importorskip("fakesnow")
    port = _free_port()
    log = tmp_path_factory.mktemp("fakesnow") / "server.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-c", FAKESNOW_SERVER, str(port)], stdout=out, stderr=subprocess.STDOUT
        )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"fakesnow server did not start:\n{log.read_text()[-2000:]}")
                time.sleep(0.2)
        yield port
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


EXPECTED_SNOWFLAKE_TEXT = """
-- Small on purpose: the Snowflake test compares this model's compiled SQL as text.
select * from (
  with
  _fsdbt_spine as (
    select s.*, row_number() over (order by null) as _fsdbt_row_id
    from fsdbt_pit.{schema}.spine as s
  ),
  _fsdbt_view_1 as (
    select "CASE_ID", "K1", "TS", "F_INT"
    from fsdbt_pit.{schema}.v_recent
    where "TS" is not null
  ),
  _fsdbt_match_1 as (
    select s._fsdbt_row_id, v1."TS", v1."F_INT"
    from _fsdbt_spine as s
    asof join _fsdbt_view_1 as v1
      match_condition (s."EVENT_TIMESTAMP" >= v1."TS")
      on s."CASE_ID" = v1."CASE_ID" and s."K1" = v1."K1"
  ),
  _fsdbt_view_2 as (
    select "CASE_ID", "K2", "TS", "LOADED_AT", "SCORE"
    from fsdbt_pit.{schema}.v_item
    where "TS" is not null
    qualify row_number() over (
      partition by "CASE_ID", "K2", "TS"
      order by "LOADED_AT" desc nulls last
    ) = 1
  ),
  _fsdbt_match_2 as (
    select s._fsdbt_row_id, v2."TS", v2."SCORE"
    from _fsdbt_spine as s
    asof join _fsdbt_view_2 as v2
      match_condition (s."EVENT_TIMESTAMP" >= v2."TS")
      on s."CASE_ID" = v2."CASE_ID" and s."K2" = v2."K2"
  )
  select
    s."CASE_ID",
    s."K1",
    s."K2",
    s."EVENT_TIMESTAMP",
    s."LABEL",
    s."ROW_TAG",
    v1."F_INT" as "F_INT",
    v2."SCORE" as "SCORE"
  from _fsdbt_spine as s
  left join _fsdbt_match_1 as v1
    on v1._fsdbt_row_id = s._fsdbt_row_id
    and v1."TS" >= dateadd(second, -5400, s."EVENT_TIMESTAMP")
  left join _fsdbt_match_2 as v2
    on v2._fsdbt_row_id = s._fsdbt_row_id
) as fsdbt_point_in_time_join
"""


@pytest.mark.snowflake
@pytest.mark.slow
@settings(FEW, max_examples=1)
@given(cases=GENERATED)
def test_pit_snowflake(workdir: Path, fakesnow_port: int, cases: list[Data]) -> None:
    schema = f"pit_{uuid.uuid4().hex[:10]}"
    data = assemble([edge_case(), *cases])
    with env(FSDBT_PIT_SCHEMA=schema, FSDBT_PIT_SNOWFLAKE_PORT=str(fakesnow_port)):
        build_and_compare(SnowflakeWarehouse(fakesnow_port, schema), data, workdir)
    compiled = workdir / "target/compiled/fsdbt_pit_tests/models/training/training_text.sql"
    assert compiled.read_text().strip() == EXPECTED_SNOWFLAKE_TEXT.format(schema=schema).strip()
