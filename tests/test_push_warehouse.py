"""Offline pushes on PostgreSQL and Snowflake: push -> ``fsdbt_push_<view>`` -> `dbt build` -> training sets.

On these engines ``FeatureStore.push(..., to="offline")`` (and ``fsdbt push --to offline``)
appends the rows to the table ``fsdbt_push_<view>`` beside the view, and the dbt macro
``fsdbt.pushed_rows('<view>')``, unioned into the view's model, reads it back on the next
build (``docs/push.md``). Each engine gets a small dbt project of its own in a temporary
directory (fsdbt installed as a package with ``local:``), built against:

- PostgreSQL (marker ``postgres``): the server on 127.0.0.1:5432 (user postgres, database
  test), in a schema whose name needs quoting (upper case and spaces), dropped afterwards;
- Snowflake (marker ``snowflake``): the fakesnow server of ``tests/test_pit_macro.py``. fakesnow
  runs DuckDB underneath, where names are case-insensitive; Snowflake's are not, so the tests
  also check that fsdbt names the push table and its columns as dbt names the view's (plain
  names upper-cased), which is what real Snowflake needs to find them.

Only DuckDB writes its push log as Parquet files; that loop is tested in
``tests/server/test_push_offline.py``.
"""

from __future__ import annotations

import abc
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import closing, contextmanager
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from fsdbt.errors import WarehouseError
from fsdbt.push import PushError
from tests.conftest import REPO, run_dbt
from tests.test_pit_macro import failure_text, fakesnow_port

__all__ = ["fakesnow_port"]  # the fixture, imported for pytest

DAY = datetime(2026, 1, 1)
PUSHED_AT = datetime(2026, 1, 2, 8, 0, tzinfo=timezone.utc)  # the created time of FeatureStore pushes
HOSTILE = 'it\'s "quoted" \\ — Ünïcødé ✓ 漢字'

# The view's columns, as its yml declares them (the raw table uses the same types).
COLUMNS = [
    ("driver_id", "bigint"),
    ("event_timestamp", "timestamp"),
    ("loaded_at", "timestamp"),
    ("conv_rate", "double precision"),
    ("trips", "bigint"),
    ("note", "varchar"),
    ("active", "boolean"),
    ("day", "date"),
    ("amount", "numeric(12, 2)"),
]
NAMES = [c for c, _ in COLUMNS]
FEATURES = ["conv_rate", "trips", "note", "active", "day", "amount"]

# What each engine's catalog reports: for a column typed as the yml says (the view, and the
# macro's empty select), and for the push table (decimals stay exact text; the macro casts them).
CATALOG_TYPES = {
    "postgres": {
        "view": ["bigint", "timestamp without time zone", "timestamp without time zone", "double precision",
                 "bigint", "character varying", "boolean", "date", "numeric"],
        "push": ["bigint", "timestamp without time zone", "timestamp without time zone", "double precision",
                 "bigint", "text", "boolean", "date", "text"],
    },
    "snowflake": {
        "view": ["NUMBER", "TIMESTAMP_NTZ", "TIMESTAMP_NTZ", "FLOAT", "NUMBER", "TEXT", "BOOLEAN", "DATE", "NUMBER"],
        "push": ["NUMBER", "TIMESTAMP_NTZ", "TIMESTAMP_NTZ", "FLOAT", "NUMBER", "TEXT", "BOOLEAN", "DATE", "TEXT"],
    },
}

RAW_ROWS = [  # driver_id, event_timestamp, loaded_at, conv_rate, trips, note, active, day, amount
    (1, DAY.replace(hour=10), DAY.replace(hour=10, minute=5), 0.5, 3, "raw", True, DAY.date(), Decimal("1.50")),
    (2, DAY.replace(hour=10), DAY.replace(hour=10, minute=5), 0.25, 4, "raw2", False, DAY.date(), Decimal("2.00")),
]
# label -> (driver_id, time); each label is one question the tests ask of the point-in-time join.
SPINE = {
    "d1-before-push": (1, DAY.replace(hour=10, minute=30)),
    "d1-after-push": (1, DAY.replace(hour=11, minute=15)),
    "d1-after-second-push": (1, DAY.replace(hour=13)),
    "d2-before-push": (2, DAY.replace(hour=10, minute=29)),
    "d2-after-push": (2, DAY.replace(hour=12)),
    "d4-after-push": (4, DAY.replace(hour=9, minute=30)),
}
SPINE_ROWS = [(k, t, label) for label, (k, t) in SPINE.items()]
SPINE_TABLE = "raw_spine (driver_id bigint, event_timestamp timestamp, label varchar)"

PROJECT_FILES = {
    "dbt_project.yml": """
name: fsdbt_push_tests
version: "1.0.0"
config-version: 2
profile: fsdbt_push
model-paths: ["models"]
target-path: target
packages-install-path: dbt_packages
models:
  fsdbt_push_tests:
    +materialized: table
""",
    "packages.yml": f"""
packages:
  - local: {json.dumps(str(REPO))}
""",
    "models/sources.yml": """
version: 2
sources:
  - name: push_raw
    schema: "{{ target.schema }}"
    tables:
      - name: raw_driver_events
      - name: raw_spine
""",
    "models/driver_stats.sql": """
{%- set columns = ['driver_id', 'event_timestamp', 'loaded_at', 'conv_rate', 'trips', 'note', 'active', 'day',
                   'amount'] %}
select {{ columns | join(', ') }}
from {{ source('push_raw', 'raw_driver_events') }}
union all
select {{ columns | join(', ') }}
from {{ fsdbt.pushed_rows('driver_stats') }}
""",
    "models/driver_stats.yml": """
version: 2
models:
  - name: driver_stats
    config:
      meta:
        fsdbt:
          entities: [driver_id]
          timestamp: event_timestamp
          created_timestamp: loaded_at
          ttl: 2 days
    columns:
""" + "".join(f"      - {{name: {n}, data_type: '{t}'}}\n" for n, t in COLUMNS),
    # The macro alone: its columns and types are the yml's, pushed rows or not.
    "models/pushed_only.sql": "select * from {{ fsdbt.pushed_rows('driver_stats') }}\n",
    "models/training.sql": """
select * from {{ fsdbt.point_in_time_join(source('push_raw', 'raw_spine'),
    ['driver_stats.conv_rate', 'driver_stats.trips', 'driver_stats.note', 'driver_stats.active',
     'driver_stats.day', 'driver_stats.amount']) }}
""",
    # A view whose name needs quoting where names are case-sensitive.
    "models/Mixed_Stats.sql": """
select driver_id, event_timestamp, conv_rate from {{ source('push_raw', 'raw_driver_events') }}
union all
select driver_id, event_timestamp, conv_rate from {{ fsdbt.pushed_rows('Mixed_Stats') }}
""",
    "models/Mixed_Stats.yml": """
version: 2
models:
  - name: Mixed_Stats
    config:
      meta:
        fsdbt: {entities: [driver_id], timestamp: event_timestamp}
    columns:
      - {name: driver_id, data_type: bigint}
      - {name: event_timestamp, data_type: timestamp}
      - {name: conv_rate, data_type: double precision}
""",
    "models/training_mixed.sql": """
select * from {{ fsdbt.point_in_time_join(source('push_raw', 'raw_spine'), ['Mixed_Stats.conv_rate']) }}
""",
}


# ---------------------------------------------------------------------------------------------
# Engines: the raw tables, the catalog, reads.
# ---------------------------------------------------------------------------------------------
class Engine(abc.ABC):
    target: str
    schema: str
    profile: dict[str, Any]

    @abc.abstractmethod
    def query(self, sql: str) -> list[tuple[Any, ...]]:
        """Run ``sql`` on a connection of its own and return its rows."""

    def name(self, identifier: str) -> str:
        """An identifier as the engine stores a name dbt wrote unquoted."""
        return identifier

    def quoted(self, identifier: str) -> str:
        return '"' + self.name(identifier).replace('"', '""') + '"'

    def catalog(self, table: str) -> list[tuple[str, str]]:
        schema = self.name(self.schema).replace("'", "''")
        return [(str(n), str(t)) for n, t in self.query(
            f"select column_name, data_type from information_schema.columns where table_schema = '{schema}' "
            f"and table_name = '{self.name(table)}' order by ordinal_position")]

    def tables(self) -> set[str]:
        schema = self.name(self.schema).replace("'", "''")
        return {str(r[0]) for r in self.query(
            f"select table_name from information_schema.tables where table_schema = '{schema}'")}

    def rows(self, table: str, order: str) -> list[tuple[Any, ...]]:
        return self.query(f"select * from {self.quoted(self.schema)}.{self.quoted(table)} order by {order}")

    def count(self, table: str) -> int:
        return int(self.query(f"select count(*) from {self.quoted(self.schema)}.{self.quoted(table)}")[0][0])

    @abc.abstractmethod
    def load_raw(self) -> None:
        """Create the schema and the raw tables the project reads."""

    @abc.abstractmethod
    def drop(self) -> None:
        """Drop what ``load_raw`` and the builds made."""


class Postgres(Engine):
    target = "postgres"

    def __init__(self) -> None:
        # Upper case and spaces: every statement must quote it.
        self.schema = f"Push Tests {uuid.uuid4().hex[:8]}"
        self.profile = {"type": "postgres", "host": "127.0.0.1", "port": 5432, "user": "postgres", "password": "",
                        "dbname": "test", "schema": self.schema, "threads": 1, "connect_timeout": 5}

    @staticmethod
    def connect() -> Any:
        import psycopg2

        return psycopg2.connect(host="127.0.0.1", port=5432, user="postgres", dbname="test", connect_timeout=5)

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        with closing(self.connect()) as con, con.cursor() as cur:
            cur.execute(sql)
            rows: list[tuple[Any, ...]] = cur.fetchall()
            con.commit()
            return rows

    def load_raw(self) -> None:
        from psycopg2.extras import execute_values

        s = self.quoted(self.schema)
        with closing(self.connect()) as con, con.cursor() as cur:
            cur.execute(f"drop schema if exists {s} cascade")
            cur.execute(f"create schema {s}")
            cur.execute(f"create table {s}.raw_driver_events ({', '.join(f'{n} {t}' for n, t in COLUMNS)})")
            execute_values(cur, f"insert into {s}.raw_driver_events values %s", RAW_ROWS)
            cur.execute(f"create table {s}.{SPINE_TABLE}")
            execute_values(cur, f"insert into {s}.raw_spine values %s", SPINE_ROWS)
            con.commit()

    def drop(self) -> None:
        with closing(self.connect()) as con, con.cursor() as cur:
            cur.execute(f"drop schema if exists {self.quoted(self.schema)} cascade")
            con.commit()


class Snowflake(Engine):
    target = "snowflake"
    database = "fsdbt_push"

    def __init__(self, port: int) -> None:
        self.port = port
        self.schema = f"push_{uuid.uuid4().hex[:8]}"
        self.profile = {"type": "snowflake", "account": "fakesnow", "user": "fake", "password": "snow",
                        "host": "127.0.0.1", "port": port, "protocol": "http", "database": self.database,
                        "schema": self.schema, "warehouse": "fakesnow", "role": "fakesnow", "threads": 1}

    def name(self, identifier: str) -> str:
        return identifier.upper() if identifier.isidentifier() else identifier

    def connect(self) -> Any:
        import snowflake.connector

        return snowflake.connector.connect(
            host="127.0.0.1", port=self.port, protocol="http", account="fakesnow", user="fake", password="snow",
            database=self.database, warehouse="fakesnow", role="fakesnow", login_timeout=10, network_timeout=60)

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        with closing(self.connect()) as con, closing(con.cursor()) as cur:
            cur.execute(f"use schema {self.database}.{self.schema}")
            cur.execute(sql)
            return list(cur.fetchall())

    def load_raw(self) -> None:
        with closing(self.connect()) as con, closing(con.cursor()) as cur:
            cur.execute(f"create database if not exists {self.database}")
            cur.execute(f"create schema if not exists {self.database}.{self.schema}")
            cur.execute(f"use schema {self.database}.{self.schema}")
            cur.execute(f"create or replace table raw_driver_events ({', '.join(f'{n} {t}' for n, t in COLUMNS)})")
            marks = ", ".join("%s" for _ in COLUMNS)
            cur.executemany(f"insert into raw_driver_events values ({marks})", RAW_ROWS)
            cur.execute(f"create or replace table {SPINE_TABLE}")
            cur.executemany("insert into raw_spine values (%s, %s, %s)", SPINE_ROWS)

    def drop(self) -> None:
        with closing(self.connect()) as con, closing(con.cursor()) as cur:
            cur.execute(f"drop schema if exists {self.database}.{self.schema} cascade")


# ---------------------------------------------------------------------------------------------
# The project, built once per engine with nothing pushed.
# ---------------------------------------------------------------------------------------------
class Built:
    def __init__(self, engine: Engine, root: Path) -> None:
        self.engine, self.root = engine, root
        self.env = {"DBT_TARGET_PATH": str(root / "target")}  # beats a DBT_TARGET_PATH set by other fixtures
        self.before: dict[str, Any] = {}

    def dbt(self, *args: str) -> None:
        result = run_dbt([*args, "--project-dir", str(self.root), "--profiles-dir", str(self.root),
                          "--log-path", str(self.root / "logs"), "--quiet"], env=self.env)
        assert result.success, failure_text(result)

    @contextmanager
    def store(self) -> Iterator[Any]:
        from fsdbt.store import FeatureStore

        with pytest.MonkeyPatch.context() as mp:
            for key, value in self.env.items():
                mp.setenv(key, value)
            with FeatureStore(self.root, self.root, self.engine.target) as store:
                yield store

    def training(self, model: str) -> dict[str, tuple[Any, ...]]:
        """A training model's feature values by spine label."""
        cols = [c.lower() for c, _ in self.engine.catalog(model)]
        rows = self.engine.rows(model, "label")
        return {row[cols.index("label")]: tuple(_plain(v) for v in row[cols.index("label") + 1:]) for row in rows}


def _plain(value: Any) -> Any:
    return float(value) if isinstance(value, Decimal) else value


@pytest.fixture(scope="module", params=[
    pytest.param("postgres", marks=[pytest.mark.postgres, pytest.mark.slow]),
    pytest.param("snowflake", marks=[pytest.mark.snowflake, pytest.mark.slow]),
])
def built(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Built]:
    engine: Engine
    if request.param == "postgres":
        try:
            Postgres.connect().close()
        except Exception as exc:  # psycopg2.OperationalError
            pytest.fail(f"no PostgreSQL server on 127.0.0.1:5432 (user postgres, database test): {exc}")
        engine = Postgres()
    else:
        engine = Snowflake(request.getfixturevalue("fakesnow_port"))
    root = tmp_path_factory.mktemp(f"push_{engine.target}")
    for name, text in PROJECT_FILES.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text.lstrip(), encoding="utf-8")
    profile = {**engine.profile, "online_store": {"type": "sqlite", "path": str(root / "online.sqlite")}}
    (root / "profiles.yml").write_text(json.dumps({"fsdbt_push": {"target": engine.target,
                                                                  "outputs": {engine.target: profile}}}))
    engine.load_raw()
    project = Built(engine, root)
    try:
        project.dbt("deps")
        project.dbt("build")
        # What the build made before anything was pushed (the push table does not exist yet).
        project.before = {"tables": engine.tables(), "pushed_only": engine.catalog("pushed_only"),
                          "pushed_only_rows": engine.count("pushed_only"), "view": engine.catalog("driver_stats"),
                          "raw": engine.catalog("raw_driver_events"), "view_rows": engine.count("driver_stats"),
                          "training": project.training("training")}
        yield project
    finally:
        engine.drop()


# ---------------------------------------------------------------------------------------------
# Tests
# ---------------------------------------------------------------------------------------------
def test_the_macro_builds_before_anything_is_pushed(built: Built) -> None:
    engine, before = built.engine, built.before
    types = CATALOG_TYPES[engine.target]["view"]
    assert engine.name("fsdbt_push_driver_stats") not in before["tables"]
    # The macro alone: an empty select with the yml's columns and types.
    assert before["pushed_only"] == [(engine.name(n), t) for n, t in zip(NAMES, types)]
    assert before["pushed_only_rows"] == 0
    # The view: exactly its source, with its source's (the yml's) types.
    assert before["view"] == before["raw"] == [(engine.name(n), t) for n, t in zip(NAMES, types)]
    assert before["view_rows"] == len(RAW_ROWS)
    assert before["training"]["d1-after-push"] == (0.5, 3, "raw", True, DAY.date(), 1.5)
    assert before["training"]["d2-after-push"] == (0.25, 4, "raw2", False, DAY.date(), 2.0)


def _push_rows(built: Built, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The first push: through the CLI on PostgreSQL, through ``FeatureStore.push`` on Snowflake."""
    if built.engine.target == "postgres":
        path = built.root / "rows.jsonl"
        path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
        out = subprocess.run(
            [sys.executable, "-m", "fsdbt", "push", "driver_stats", "--file", str(path), "--to", "offline",
             "--project-dir", str(built.root), "--profiles-dir", str(built.root), "--target", "postgres", "--json"],
            capture_output=True, text=True, timeout=120, env={**os.environ, **built.env})
        assert out.returncode == 0, out.stderr
        result: dict[str, Any] = json.loads(out.stdout)
        return result
    with built.store() as store:
        return dict(store.push("driver_stats", rows, to="offline").as_dict())


def test_offline_push_appends_typed_rows_and_training_sets_see_them(built: Built) -> None:
    engine = built.engine
    push_table = "fsdbt_push_driver_stats"
    # Timestamps: "Z", an offset (12:30+02:00 is 10:30 UTC) and naive (UTC). NULL features, a
    # string with quotes, a backslash and non-ASCII, an empty string, a digit string, exact decimals.
    first = [
        {"driver_id": 1, "event_timestamp": "2026-01-01T11:00:00Z", "conv_rate": 0.9, "trips": 7,
         "note": HOSTILE, "active": False, "day": "2026-01-01", "amount": "12.34"},
        {"driver_id": 2, "event_timestamp": "2026-01-01T12:30:00+02:00", "loaded_at": "2026-01-01T10:31:00",
         "conv_rate": None, "trips": None, "note": None, "active": None, "day": None, "amount": None},
        {"driver_id": 4, "event_timestamp": "2026-01-01T09:00:00", "loaded_at": None, "conv_rate": 1,
         "trips": "5", "note": "", "active": "true", "day": "2026-01-02", "amount": 0.5},
    ]
    started = datetime.now(timezone.utc).replace(tzinfo=None)
    result = _push_rows(built, first)
    finished = datetime.now(timezone.utc).replace(tzinfo=None)
    assert result["rows"] == 3 and result["to"] == "offline" and result["online_written"] == 0
    assert result["offline"].endswith(f"{built.engine.schema}.{push_table}")

    assert engine.name(push_table) in engine.tables()
    push_types = CATALOG_TYPES[engine.target]["push"]
    assert engine.catalog(push_table) == [(engine.name(n), t) for n, t in zip(NAMES, push_types)]
    rows = engine.rows(push_table, engine.quoted("driver_id"))
    created = [r[2] for r in rows]
    assert started - timedelta(seconds=1) <= created[0] <= finished  # no created time: the push time
    assert started - timedelta(seconds=1) <= created[2] <= finished
    assert rows == [
        (1, DAY.replace(hour=11), created[0], 0.9, 7, HOSTILE, False, DAY.date(), "12.34"),
        (2, DAY.replace(hour=10, minute=30), DAY.replace(hour=10, minute=31), None, None, None, None, None, None),
        (4, DAY.replace(hour=9), created[2], 1.0, 5, "", True, date(2026, 1, 2), "0.5"),
    ]

    # A second push appends.
    with built.store() as store:
        second = store.push("driver_stats", [{"driver_id": 1, "event_timestamp": "2026-01-01T12:00:00",
                                               "conv_rate": 0.95, "trips": 8, "note": "second", "active": True,
                                               "day": None, "amount": "-0.01"}], to="offline", now=PUSHED_AT)
        assert second.rows == 1
        # A push with one bad row writes nothing, not even its good rows.
        good = {"driver_id": 5, "event_timestamp": "2026-01-01T12:00:00", **dict.fromkeys(FEATURES)}
        with pytest.raises(PushError, match=r"row 1: column 'trips' must be an int64 value") as bad:
            store.push("driver_stats", [good, {**good, "trips": "seven"}], to="offline")
        assert (bad.value.row, bad.value.column) == (1, "trips")
        with pytest.raises(PushError, match="lacks the feature column 'amount'"):
            store.push("driver_stats", [{k: v for k, v in good.items() if k != "amount"}], to="offline")
        if engine.target == "postgres":
            # Valid for fsdbt, refused by PostgreSQL (text cannot hold NUL): still nothing written.
            with pytest.raises(WarehouseError, match="PostgreSQL"):
                store.push("driver_stats", [good, {**good, "note": "a\x00b"}], to="offline")
    assert engine.count(push_table) == 4
    assert engine.rows(push_table, engine.quoted("event_timestamp"))[-1] == (
        1, DAY.replace(hour=12), PUSHED_AT.replace(tzinfo=None), 0.95, 8, "second", True, None, "-0.01")

    # The next dbt build puts the pushed rows into the view, typed as before, and into training sets.
    built.dbt("build", "--select", "driver_stats+", "pushed_only")
    assert engine.catalog("driver_stats") == built.before["view"]
    assert engine.catalog("pushed_only") == built.before["pushed_only"]
    assert engine.count("driver_stats") == len(RAW_ROWS) + 4
    expected = {
        "d1-before-push": (0.5, 3, "raw", True, DAY.date(), 1.5),
        "d1-after-push": (0.9, 7, HOSTILE, False, DAY.date(), 12.34),
        "d1-after-second-push": (0.95, 8, "second", True, None, -0.01),
        "d2-before-push": (0.25, 4, "raw2", False, DAY.date(), 2.0),
        "d2-after-push": (None, None, None, None, None, None),  # the pushed row is taken whole
        "d4-after-push": (1.0, 5, "", True, date(2026, 1, 2), 0.5),
    }
    assert built.training("training") == expected  # the dbt macro path
    spine = pa.table({"driver_id": [k for k, _ in SPINE.values()],
                      "event_timestamp": pa.array([t for _, t in SPINE.values()], pa.timestamp("us")),
                      "label": list(SPINE)})
    with built.store() as store:
        got = store.get_historical_features(spine, [f"driver_stats.{f}" for f in FEATURES]).to_arrow().to_pylist()
    assert {r["label"]: tuple(_plain(r[f]) for f in FEATURES) for r in got} == expected  # the Python path


def test_a_view_and_schema_that_need_quoting(built: Built) -> None:
    """A mixed-case view name (and, on PostgreSQL, a schema with upper case and spaces).

    dbt itself refuses model names with spaces, so a view name never has one; dbt-snowflake
    writes schema names unquoted, so a schema with a space cannot be built there at all.
    """
    engine = built.engine
    with built.store() as store:
        result = store.push("Mixed_Stats", [{"driver_id": 1, "event_timestamp": "2026-01-01T11:00:00Z",
                                             "conv_rate": 0.75}], to="online_and_offline")
        online = store.get_online_features(["Mixed_Stats.conv_rate"], [{"driver_id": 1}], now=PUSHED_AT)
    assert result.written == 1 and online.to_dict()["conv_rate"] == [0.75]
    assert result.offline is not None and result.offline.endswith("fsdbt_push_Mixed_Stats")
    # PostgreSQL: "fsdbt_push_Mixed_Stats" as dbt writes "Mixed_Stats"; Snowflake: both upper-cased.
    assert engine.name("fsdbt_push_Mixed_Stats") in engine.tables()
    assert engine.name("Mixed_Stats") in engine.tables()
    built.dbt("build", "--select", "Mixed_Stats+")
    assert engine.count("Mixed_Stats") == len(RAW_ROWS) + 1
    got = built.training("training_mixed")
    assert got["d1-before-push"] == (0.5,) and got["d1-after-push"] == (0.75,) and got["d2-after-push"] == (0.25,)
    spine = pa.table({"driver_id": [1, 1], "event_timestamp": pa.array([DAY.replace(hour=10, minute=30),
                                                                        DAY.replace(hour=11, minute=15)],
                                                                       pa.timestamp("us"))})
    with built.store() as store:
        table = store.get_historical_features(spine, ["Mixed_Stats.conv_rate"]).to_arrow()
    assert table.column("conv_rate").to_pylist() == [0.5, 0.75]


def test_a_view_that_gains_a_column_after_pushes(built: Built) -> None:
    """Rows pushed before a column existed read NULL in it; the next push adds it to the push table."""
    engine = built.engine
    model = "select driver_id, event_timestamp, {cols} from {{{{ source('push_raw', 'raw_driver_events') }}}}\n" \
            "union all\nselect driver_id, event_timestamp, {cols} from {{{{ fsdbt.pushed_rows('grown_stats') }}}}\n"
    yml = ("version: 2\nmodels:\n  - name: grown_stats\n    config:\n      meta:\n"
           "        fsdbt: {{entities: [driver_id], timestamp: event_timestamp}}\n    columns:\n"
           "      - {{name: driver_id, data_type: bigint}}\n      - {{name: event_timestamp, data_type: timestamp}}\n"
           "{extra}")
    features = {"conv_rate": "double precision", "trips": "bigint"}

    def define(*names: str) -> None:
        (built.root / "models/grown_stats.sql").write_text(model.format(cols=", ".join(names)))
        (built.root / "models/grown_stats.yml").write_text(yml.format(extra="".join(
            f"      - {{name: {n}, data_type: {features[n]}}}\n" for n in names)))
        built.dbt("build", "--select", "grown_stats")

    def pushed(row: dict[str, Any]) -> None:
        with built.store() as store:
            store.push("grown_stats", [{"driver_id": 7, **row}], to="offline")

    def driver_7() -> list[tuple[Any, ...]]:
        cols = [c.lower() for c, _ in engine.catalog("grown_stats")]
        return [tuple(_plain(r[cols.index(n)]) for n in ("event_timestamp", *features) if n in cols)
                for r in engine.rows("grown_stats", "event_timestamp") if r[cols.index("driver_id")] == 7]

    try:
        define("conv_rate")
        pushed({"event_timestamp": "2026-01-01T11:00:00Z", "conv_rate": 0.5})
        define("conv_rate", "trips")  # the view gains a column; the push table does not have it yet
        assert driver_7() == [(DAY.replace(hour=11), 0.5, None)]
        pushed({"event_timestamp": "2026-01-01T12:00:00Z", "conv_rate": 0.25, "trips": 9})
        assert engine.name("trips") in [c for c, _ in engine.catalog("fsdbt_push_grown_stats")]
        built.dbt("build", "--select", "grown_stats")
        assert driver_7() == [(DAY.replace(hour=11), 0.5, None), (DAY.replace(hour=12), 0.25, 9)]
    finally:
        for name in ("grown_stats.sql", "grown_stats.yml"):
            (built.root / "models" / name).unlink(missing_ok=True)
