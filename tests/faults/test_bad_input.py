"""Bad input, fuzzed with hypothesis: feature definitions (``meta.fsdbt`` and friends in a copy of
the demo manifest), entity rows of online reads, and push payloads.

Each bad input gets a clear ``FsdbtError`` (or a coercion that ``docs/reliability.md`` lists),
never another exception, and none changes a stored value: the online store is read back after
every example and compared with what it held before.
"""

from __future__ import annotations

import copy
import itertools
import math
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fsdbt.dtypes import DType
from fsdbt.errors import ContractErrors, FsdbtError
from fsdbt.online.base import FieldStatus
from fsdbt.online.codec import key_text
from fsdbt.push import PushError, validate
from fsdbt.registry import load_registry
from fsdbt.store import FeatureStore
from tests.conftest import PROFILES, REPO
from tests.faults import report
from tests.online.conftest import _cleanup_redis
from tests.server.conftest import DEMO_NOW, EnvPatch

FUZZ = settings(deadline=None, max_examples=120, derandomize=False,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                       HealthCheck.data_too_large])

HOSTILE_TEXT = ['a"b', "o'brien", "Mixed Case", "🚗 ünïcödé", "x\x00y", "'; drop table x; --", "%7B{}:",
                "\\", "\n", "NaN", "inf", "-0", " 1001 ", "1001.0", "1e3", "x" * 100_000]
JSON = st.recursive(st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=20),
                              st.sampled_from(HOSTILE_TEXT[:-1])),
                    lambda inner: st.one_of(st.lists(inner, max_size=3),
                                            st.dictionaries(st.text(max_size=12), inner, max_size=3)),
                    max_leaves=8)


# -- the feature-definition contract -------------------------------------------------------------

VIEW_KEYS = ["entities", "timestamp", "created_timestamp", "ttl", "online", "owner", "tags", "description",
             "nope", "Entities"]


class Broken:
    """A broken copy of the manifest; shown by what was changed (the manifest is too long to print)."""

    def __init__(self, manifest: dict[str, Any], name: str, change: str) -> None:
        self.manifest, self.name, self.change = manifest, name, change

    def __repr__(self) -> str:
        return f"Broken({self.name!r}: {self.change})"


@st.composite
def broken_manifest(draw: st.DrawFn, manifest: dict[str, Any]) -> Broken:
    """A copy of the manifest with one feature view or service made wrong."""
    broken, name = draw(_broken(manifest))
    node = next((n for n in [*broken["nodes"].values(), *broken.get("exposures", {}).values()]
                 if n.get("name") == name), {})
    columns = {k: {c: v for c, v in col.items() if c in ("data_type", "name")} for k, col in
               (node.get("columns") or {}).items()}
    return Broken(broken, name, repr(((node.get("config") or {}).get("meta"), columns))[:2000])


@st.composite
def _broken(draw: st.DrawFn, manifest: dict[str, Any]) -> tuple[dict[str, Any], str]:
    out = copy.deepcopy(manifest)
    models = sorted(k for k, n in out["nodes"].items()
                    if n.get("resource_type") == "model" and "fsdbt" in (n.get("config", {}).get("meta") or {}))
    exposures = sorted(out.get("exposures", {}))
    kind = draw(st.sampled_from(["replace", "key", "column", "service"] if exposures else
                                ["replace", "key", "column"]))
    if kind == "service":
        node = out["exposures"][draw(st.sampled_from(exposures))]
        meta = node.setdefault("config", {}).setdefault("meta", {})
        fsdbt = meta.setdefault("fsdbt", {})
        if draw(st.booleans()) or not isinstance(fsdbt, dict):
            meta["fsdbt"] = draw(JSON)
        else:
            fsdbt[draw(st.sampled_from(["features", "full_feature_names", "nope"]))] = draw(st.one_of(
                JSON, st.lists(st.sampled_from(["driver_hourly_stats.conv_rate", "driver_hourly_stats.*",
                                                "driver_hourly_stats.nope", "nope.x", "a\"b.c", ":", "."]),
                               max_size=4)))
        node.get("meta", {}).pop("fsdbt", None)
        return out, node["name"]
    node = out["nodes"][draw(st.sampled_from(models))]
    meta = node["config"]["meta"]
    node.get("meta", {}).pop("fsdbt", None)
    if kind == "replace":
        meta["fsdbt"] = draw(JSON)
    elif kind == "key":
        meta["fsdbt"] = dict(meta["fsdbt"])
        meta["fsdbt"][draw(st.sampled_from(VIEW_KEYS))] = draw(st.one_of(
            JSON, st.sampled_from(["2 days", "-1 day", "0 seconds", "forever", "99999999 days", "1e400 days"]),
            st.lists(st.sampled_from(["driver_id", "customer_id", "nope", 'a"b', ""]), max_size=3)))
    else:
        columns = node.setdefault("columns", {})
        name = draw(st.sampled_from([*sorted(columns), "_event_ts", 'a"b']))
        column = dict(columns.get(name) or {"name": name})
        column[draw(st.sampled_from(["data_type", "name", "description", "meta"]))] = draw(JSON)
        if draw(st.booleans()):
            columns[name] = column
        else:
            columns.pop(name, None)
    return out, node["name"]


def test_broken_definitions_raise_contract_errors_naming_the_model(demo_project: dict[str, Any]) -> None:
    manifest = demo_project["manifest"]
    load_registry(manifest)  # the demo itself is valid

    @FUZZ
    @given(case=broken_manifest(manifest))
    def check(case: Broken) -> None:
        broken, name = case.manifest, case.name
        report.count("bad inputs tried")
        try:
            load_registry(broken)
        except ContractErrors as exc:
            assert exc.errors and all(isinstance(e.model, str) and e.model for e in exc.errors)
            assert any(f"'{name}'" in str(e) for e in exc.errors), str(exc)
            assert str(exc).startswith(f"{len(exc.errors)} problem(s) in the feature definitions")
            assert "Traceback" not in str(exc)

    check()


# -- entity rows of online reads --------------------------------------------------------------

REFERENCES = [["driver_hourly_stats.*"], ["driver_customer_stats.*"], ["customer_profile.*"],
              ["driver_hourly_stats.conv_rate", "customer_profile.preferred_payment"]]
KEY_VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(), st.integers(min_value=1000, max_value=1012),
    st.integers(min_value=50000, max_value=50012), st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30), st.sampled_from(HOSTILE_TEXT), st.binary(max_size=10),
    st.decimals(allow_nan=True, allow_infinity=True), st.datetimes(), st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2), st.just(float("nan")),
)
ENTITY_ROW = st.dictionaries(st.sampled_from(["driver_id", "customer_id", "extra", 'a"b', "Driver_ID"]),
                             KEY_VALUES, max_size=4)


@pytest.fixture(scope="module", params=["sqlite", pytest.param("redis", marks=pytest.mark.redis)])
def online_demo(request: pytest.FixtureRequest, demo_project: dict[str, Any],
                tmp_path_factory: pytest.TempPathFactory) -> Iterator[FeatureStore]:
    """The demo synced into a private SQLite file or under a private Redis prefix."""
    tmp = tmp_path_factory.mktemp("bad_input")
    prefix = f"fsdbt-badinput-{uuid.uuid4().hex[:8]}"
    env = {**demo_project["env"], "FSDBT_SQLITE_PATH": str(tmp / "online.sqlite"), "FSDBT_PUSH_LOG_DIR": str(tmp)}
    if request.param == "redis":
        url = request.getfixturevalue("shared_redis_url")
        env.update({"FSDBT_TARGET": "redis", "FSDBT_REDIS_URL": url, "FSDBT_REDIS_KEY_PREFIX": prefix})
    patch = EnvPatch(env)
    store = FeatureStore(REPO, PROFILES, env.get("FSDBT_TARGET", "dev"))
    try:
        assert all(r.status == "ok" for r in store.sync(now=DEMO_NOW))
        store.close()  # let the DuckDB file go; the online store reopens lazily
        yield store
    finally:
        store.close()
        patch.restore()
        if request.param == "redis":
            _cleanup_redis(env["FSDBT_REDIS_URL"], False, prefix)


def snapshot(store: FeatureStore, drivers: range = range(1000, 1013), customers: range = range(50000, 50013),
             now: datetime = DEMO_NOW) -> dict[str, Any]:
    """Every demo value of a block of entities, with statuses and event times."""
    out = {}
    rows = [{"driver_id": d, "customer_id": c} for d in drivers for c in customers]
    for refs in REFERENCES[:3]:
        res = store.get_online_features(refs, rows, now=now)
        out[refs[0]] = (res.to_dict(), res.statuses, res.event_timestamps)
    return out


def assert_unchanged(before: dict[str, Any], after: dict[str, Any]) -> None:
    """Every value, status and event time of the snapshot is as it was (differences count as lost)."""
    lost = 0
    for refs, (values, statuses, events) in before.items():
        now_values, now_statuses, now_events = after[refs]
        rows = len(next(iter(values.values())))
        report.count("keys checked", rows)
        lost += sum(1 for i in range(rows) if any(
            values[c][i] != now_values[c][i] for c in values) or any(
            statuses[c][i] != now_statuses[c][i] or events[c][i] != now_events[c][i] for c in statuses))
    report.count("data lost", lost)
    assert lost == 0 and before == after


def _baseline_by_key(baseline: dict[str, Any], refs: list[str]) -> dict[tuple[Any, ...], dict[str, Any]]:
    values = baseline[refs[0]][0]
    keys = ["driver_id", "customer_id"]
    n = len(next(iter(values.values())))
    return {tuple(values.get(k, [None] * n)[i] for k in keys): {c: values[c][i] for c in values if c not in keys}
            for i in range(n)}


def test_bad_entity_rows_get_a_clear_error_or_a_documented_coercion(online_demo: FeatureStore) -> None:
    store = online_demo
    before = snapshot(store)
    known = {refs[0]: _baseline_by_key(before, refs) for refs in REFERENCES[:3]}

    @FUZZ
    @given(refs=st.sampled_from(REFERENCES[:3]),
           rows=st.lists(st.one_of(ENTITY_ROW, KEY_VALUES), max_size=5),
           columnar=st.booleans())
    def check(refs: list[str], rows: list[Any], columnar: bool) -> None:
        report.count("bad inputs tried")
        entity_rows: Any = rows
        if columnar and all(isinstance(r, dict) for r in rows):
            names = {k for r in rows for k in r}
            entity_rows = {k: [r.get(k) for r in rows if k in r] for k in names}  # maybe ragged
        try:
            res = store.get_online_features(refs, entity_rows, now=DEMO_NOW)
        except FsdbtError as exc:
            message = str(exc)
            assert message and "Traceback" not in message
            assert any(w in message for w in ("join key", "entity row", "entity columns", "lengths")), message
            return
        assert len(res) == (len(rows) if entity_rows is rows else len(res))
        table = res.to_dict()
        for i in range(len(res)):
            key = tuple(table.get(k, [None] * len(res))[i] for k in ("driver_id", "customer_id"))
            # Keys as read: an int key is an int (text and integral floats are coerced, never bools).
            assert all(k is None or (isinstance(k, int) and not isinstance(k, bool)) for k in key), key
            stored = known[refs[0]].get(key)
            for column in res.columns:
                status = res.statuses[column.name][i]
                if status is FieldStatus.PRESENT:
                    assert stored is not None and table[column.name][i] == stored[column.name], (key, column.name)
                elif status is FieldStatus.NOT_FOUND:
                    assert stored is None or all(v is None for v in stored.values()) or \
                        None in key or key not in known[refs[0]], key

    check()
    assert_unchanged(before, snapshot(store))  # no read changed a stored value


# -- push payloads --------------------------------------------------------------------------------

PUSH_VIEW = "driver_hourly_stats"
fresh_ids = itertools.count(8_000_000 + uuid.uuid4().int % 1_000_000 * 10)
TIMESTAMPS = st.one_of(
    st.datetimes(min_value=datetime(2030, 1, 1), max_value=datetime(9999, 12, 30)),  # naive: UTC
    st.datetimes(min_value=datetime(2030, 1, 1), max_value=datetime(2100, 1, 1),
                 timezones=st.sampled_from([timezone.utc, timezone(timedelta(hours=5, minutes=30)),
                                            timezone(timedelta(hours=-11))])),
    st.sampled_from(["2031-01-01T10:00:00Z", "2031-01-01T10:00:00+02:00", "2031-01-01 10:00:00", "9999-12-31T00:00:00",
                     "2031-01-01", "yesterday", "", "2031-13-01T00:00:00", 'a"b', 1_900_000_000, 1.5e9, None,
                     float("nan"), float("inf"), True, [2031], {"t": 1}]),
)
NUMBERS = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(), st.integers(-(2**70), 2**70),
                    st.sampled_from(["0.5", " 7 ", "1e3", "NaN", "inf", "x", "", 'a"b', "🚗", "x" * 100_000]),
                    st.booleans(), st.none(), st.decimals(allow_nan=True, allow_infinity=True),
                    st.lists(st.integers(), max_size=2))
GOOD_NUMBERS = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-(2**40), 2**40), st.none(),
                        st.sampled_from(["0.5", " 7 ", "12"]))
GOOD_INTS = st.one_of(st.integers(-(2**62), 2**62), st.none(), st.sampled_from([3.0, "12", " -4 ", Decimal("7")]))
HOSTILE_COLUMNS = ['a"b', "o'brien", "Mixed Case", "🚗", "", " conv_rate", "CONV_RATE", "_event_ts"]


def _demo_driver(value: Any) -> bool:
    try:
        text = key_text(value, DType.INT, "driver_id")
    except FsdbtError:
        return False
    return text is not None and 0 <= int(text) < 8_000_000


@st.composite
def push_payload(draw: st.DrawFn, features: list[str], ints: set[str]) -> tuple[dict[str, list[Any]], int]:
    """One row for a fresh driver (or a broken key), with wrong types, NaN/inf, odd times and names."""
    driver = next(fresh_ids)
    good_key = st.sampled_from([driver, str(driver), float(driver), Decimal(driver)])
    bad_key = KEY_VALUES.filter(lambda v: not _demo_driver(v))  # a valid demo id would rightly change it
    row: dict[str, Any] = {"driver_id": draw(bad_key if draw(st.integers(0, 3)) == 0 else good_key),
                           "event_timestamp": draw(TIMESTAMPS)}
    if draw(st.booleans()):
        row["loaded_at"] = draw(TIMESTAMPS)
    for name in features:  # mostly values a feature may hold, NaN and inf included
        row[name] = draw(GOOD_INTS if name in ints else GOOD_NUMBERS)
    if draw(st.booleans()):
        row[draw(st.sampled_from(features))] = draw(NUMBERS)  # and one that may be wrong
    if draw(st.integers(0, 4)) == 0:
        row[draw(st.sampled_from(HOSTILE_COLUMNS))] = draw(NUMBERS)
    if draw(st.integers(0, 6)) == 0:
        row.pop(draw(st.sampled_from(sorted(row))))
    return {k: [v] for k, v in row.items()}, driver


def _read(store: FeatureStore, driver: int, now: datetime) -> tuple[dict[str, Any], dict[str, Any]]:
    res = store.get_online_features([f"{PUSH_VIEW}.*"], [{"driver_id": driver}], now=now)
    return res.to_dict(), {k: [str(s) for s in v] for k, v in res.statuses.items()}


def test_bad_push_payloads_are_refused_or_coerced_and_never_corrupt(online_demo: FeatureStore) -> None:
    store = online_demo
    view = store.registry.views[PUSH_VIEW]
    features = list(view.feature_names)
    demo_before = snapshot(store)
    outcomes = {"accepted": 0, "refused": 0}

    ints = {f.name for f in view.features if f.dtype is DType.INT}
    assert set(features) - ints, "the view has float features too"

    @FUZZ
    @given(case=push_payload(features, ints), old_demo_row=st.booleans())
    def check(case: tuple[dict[str, list[Any]], int], old_demo_row: bool) -> None:
        payload, driver = case
        report.count("bad inputs tried")
        if old_demo_row:
            # The same payload aimed at a demo driver, at a time before its data: never applied.
            payload = {**payload, "driver_id": [1001],
                       "event_timestamp": ["2020-01-01T00:00:00Z"]}
        probe_now = DEMO_NOW
        before = _read(store, driver, probe_now)
        try:
            expected = validate(view, payload, now=DEMO_NOW)
        except PushError as exc:
            expected = None
            refusal = str(exc)
        try:
            result = store.push(PUSH_VIEW, payload, to="online", now=DEMO_NOW)
        except FsdbtError as exc:
            assert expected is None and str(exc) == refusal  # the same clear refusal as the validation
            assert str(exc) and "Traceback" not in str(exc)
            assert _read(store, driver, probe_now) == before  # nothing changed
            outcomes["refused"] += 1
            return
        assert expected is not None, "push accepted what validation refused"
        outcomes["accepted"] += 1
        assert result.rows == 1
        if old_demo_row:
            assert result.written == 0  # older than the stored row: skipped
            return
        key = expected.column("driver_id")[0].as_py()
        if key != driver and result.written == 0:
            # A "bad" key that is a valid id after all (negative, huge) may come up in several
            # examples: an earlier one's newer row rightly stays.
            return
        assert result.written == 1
        event = expected.column("event_timestamp")[0].as_py().replace(tzinfo=timezone.utc)
        values, statuses = _read(store, key, event)
        assert values["driver_id"] == [key]
        for name in features:
            want = expected.column(name)[0].as_py()
            got = values[name][0]
            if want is None:
                assert got is None and statuses[name] == ["NULL_VALUE"], (name, got)
            else:
                assert statuses[name] == ["PRESENT"], (name, statuses)
                assert got == want or (isinstance(want, float) and math.isnan(want) and math.isnan(got)), \
                    (name, got, want)
            raw = payload.get(name, [None])[0]
            if isinstance(raw, float) and math.isnan(raw):
                assert got is None  # documented: NaN is pushed as NULL
            if isinstance(raw, (int, float, Decimal)) and not isinstance(raw, bool) and got is not None \
                    and not (isinstance(raw, float) and math.isnan(raw)):
                assert got == float(raw) or got == raw, (name, raw, got)

    check()
    print(f"push payloads: {outcomes}")
    assert outcomes["accepted"] > 5 and outcomes["refused"] > 5, outcomes  # both paths were exercised
    assert_unchanged(demo_before, snapshot(store))


def test_push_with_hostile_column_names_names_the_column(online_demo: FeatureStore, tmp_path: Path) -> None:
    store = online_demo
    before = snapshot(store)
    for name in HOSTILE_COLUMNS:
        report.count("bad inputs tried")
        row = {"driver_id": [1001], "event_timestamp": ["2031-01-01T00:00:00Z"], name: [1.0]}
        with pytest.raises(PushError) as info:
            store.push(PUSH_VIEW, row, to="online_and_offline", now=DEMO_NOW)
        assert repr(name)[1:-1] in str(info.value) or name in str(info.value), str(info.value)
    assert_unchanged(before, snapshot(store))
