"""POST /push and FeatureStore.push: validated rows, conditional online writes, the offline log."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from tests.conftest import PROFILES, REPO
from tests.server.conftest import write_jsonl

pytestmark = pytest.mark.redis

FEATURES = ["conv_rate", "acc_rate", "avg_daily_trips", "trips_last_hour", "online_minutes", "cancel_rate",
            "avg_rating", "rating_count", "avg_trip_km", "avg_trip_minutes", "earnings_last_hour", "surge_share",
            "idle_minutes", "distance_to_center_km", "complaints_7d", "late_arrivals_7d", "five_star_share",
            "acceptance_streak", "shift_hours", "vehicle_age_years"]


def _df(driver_ids: list[int], when: list[str], conv: list[float | None]) -> dict[str, list[Any]]:
    df: dict[str, list[Any]] = {"driver_id": driver_ids, "event_timestamp": when}
    for name in FEATURES:
        df[name] = [None] * len(driver_ids)
    df["conv_rate"] = conv
    df["avg_daily_trips"] = [5] * len(driver_ids)
    return df


def _read(client: Any, driver_id: int) -> tuple[Any, str, str]:
    r = client.post("/get-online-features", json={"features": ["driver_hourly_stats:conv_rate"],
                                                  "entities": {"driver_id": [driver_id]}})
    assert r.status_code == 200, r.text
    col = r.json()["results"][1]
    return col["values"][0], col["statuses"][0], col["event_timestamps"][0]


def test_push_then_read_returns_the_pushed_values(client: Any) -> None:
    # Drivers beyond the demo's 200, so the test owns them; "now" is an hour after the demo.
    r = client.post("/push", json={"push_source_name": "driver_hourly_stats_push_source",
                                   "df": _df([9001, 9002], ["2026-01-01T00:30:00Z", "2026-01-01T00:45:00.250"],
                                             [0.5, None]), "to": "online"})
    assert r.status_code == 200, r.text
    assert r.json() == {"view": "driver_hourly_stats", "rows": 2, "to": "online", "online_written": 2,
                        "online_skipped": 0, "offline": None}
    assert _read(client, 9001) == (0.5, "PRESENT", "2026-01-01T00:30:00Z")
    assert _read(client, 9002) == (None, "NULL_VALUE", "2026-01-01T00:45:00.250Z")


def test_an_older_push_never_overwrites_a_newer_row(client: Any) -> None:
    new = client.post("/push", json={"feature_view": "driver_hourly_stats",
                                     "df": _df([9003], ["2026-01-01T00:50:00Z"], [0.9])})
    assert new.status_code == 200 and new.json()["online_written"] == 1
    old = client.post("/push", json={"push_source_name": "driver_hourly_stats",
                                     "df": _df([9003], ["2026-01-01T00:10:00+00:00"], [0.1])})
    assert old.status_code == 200 and old.json()["online_written"] == 0 and old.json()["online_skipped"] == 1
    assert _read(client, 9003) == (0.9, "PRESENT", "2026-01-01T00:50:00Z")
    # A pushed row newer than the synced demo row replaces it.
    r = client.post("/push", json={"push_source_name": "driver_hourly_stats",
                                   "df": _df([1005], ["2026-01-01T00:59:00Z"], [0.42])})
    assert r.json()["online_written"] == 1
    assert _read(client, 1005)[0] == 0.42


def test_push_to_the_offline_log_writes_a_parquet_file(client: Any, served: dict[str, Any]) -> None:
    r = client.post("/push", json={"push_source_name": "driver_hourly_stats",
                                   "df": _df([9004], ["2026-01-01T00:20:00Z"], [0.3]), "to": "online_and_offline"})
    assert r.status_code == 200, r.text
    path = Path(r.json()["offline"])
    assert path.parent == served["push_log"] / "driver_hourly_stats" and path.suffix == ".parquet"
    table = pq.read_table(path)
    assert table.column("driver_id").to_pylist() == [9004]
    assert table.column("event_timestamp").to_pylist() == [datetime(2026, 1, 1, 0, 20)]
    assert table.column("loaded_at").null_count == 0  # the push time fills the created timestamp
    assert table.schema.names[:3] == ["driver_id", "event_timestamp", "loaded_at"]


@pytest.mark.parametrize(("change", "field", "words"), [
    ({"driver_id": [None]}, "df.driver_id[0]", "null"),
    ({"event_timestamp": ["yesterday"]}, "df.event_timestamp[0]", "timestamp"),
    ({"event_timestamp": [1767225600]}, "df.event_timestamp[0]", "ISO 8601"),
    ({"conv_rate": ["high"]}, "df.conv_rate[0]", "float64"),
    ({"avg_daily_trips": [1.5]}, "df.avg_daily_trips[0]", "int64"),
    ({"avg_daily_trips": [True]}, "df.avg_daily_trips[0]", "bool"),
    ({"driver_id": ["x1"]}, "df.driver_id[0]", "int64"),
    ({"conv_rat": [0.1]}, "df.conv_rat", "did you mean 'conv_rate'"),
])
def test_bad_rows_are_422_naming_row_and_column(client: Any, change: dict[str, Any], field: str,
                                                  words: str) -> None:
    df = _df([9005], ["2026-01-01T00:20:00Z"], [0.3])
    df.update(change)
    r = client.post("/push", json={"push_source_name": "driver_hourly_stats", "df": df})
    assert r.status_code == 422, r.text
    err = r.json()["error"]
    assert err["field"] == field and words in err["message"], err


def test_push_request_errors(client: Any) -> None:
    df = _df([9006], ["2026-01-01T00:20:00Z"], [0.3])
    missing = {k: v for k, v in df.items() if k != "shift_hours"}
    r = client.post("/push", json={"push_source_name": "driver_hourly_stats", "df": missing})
    assert r.status_code == 422 and r.json()["error"]["field"] == "df.shift_hours"
    r = client.post("/push", json={"push_source_name": "driver_hourly", "df": df})
    assert r.status_code == 422 and r.json()["error"]["code"] == "unknown_push_source"
    assert "driver_hourly_stats" in r.json()["error"]["message"]
    r = client.post("/push", json={"push_source_name": "driver_hourly_stats", "df": df, "to": "both"})
    assert r.status_code == 422 and r.json()["error"]["field"] == "to"
    r = client.post("/push", json={"push_source_name": "driver_hourly_stats", "df": {"driver_id": [1, 2],
                                                                                      "conv_rate": [1]}})
    assert r.status_code == 422 and r.json()["error"]["field"] == "df.conv_rate"
    r = client.post("/push", json={"df": df})
    assert r.status_code == 422 and r.json()["error"]["field"] == "push_source_name"


def test_python_push_accepts_dataframes_arrow_dicts_and_the_cli_reads_files(served: dict[str, Any],
                                                                             tmp_path: Path) -> None:
    import pandas as pd
    import pyarrow as pa

    from fsdbt.push import PushError
    from fsdbt.store import FeatureStore

    when = datetime(2026, 1, 1, 0, 40, tzinfo=timezone.utc)
    base = _df([9010], [when.isoformat()], [0.11])
    with FeatureStore(REPO, PROFILES, "redis") as store:
        assert store.push("driver_hourly_stats", base).written == 1
        frame = pd.DataFrame({**base, "driver_id": [9011], "event_timestamp": [pd.Timestamp(when)]})
        assert store.push("driver_hourly_stats", frame).written == 1
        table = pa.Table.from_pandas(frame.assign(driver_id=[9012]), preserve_index=False)
        assert store.push("driver_hourly_stats", table).written == 1
        rows = [{k: v[0] for k, v in base.items()} | {"driver_id": 9013}]
        assert store.push("driver_hourly_stats", rows).written == 1
        with pytest.raises(PushError, match="row 0: column 'conv_rate'"):
            store.push("driver_hourly_stats", {**base, "conv_rate": ["x"]})
        got = store.get_online_features(["driver_hourly_stats.conv_rate"], {"driver_id": [9010, 9011, 9012, 9013]},
                                        now=when + timedelta(minutes=1))
        assert got.to_dict()["conv_rate"] == [0.11] * 4
    from tests.test_cli import fsdbt

    path = write_jsonl(tmp_path / "rows.jsonl", [{k: v[0] for k, v in base.items()} | {"driver_id": 9014}])
    out = fsdbt("push", "driver_hourly_stats", "--file", str(path), "--target", "redis", "--json",
                "--project-dir", str(REPO), env=served["env"])
    assert out.returncode == 0, out.stderr
    assert '"online_written": 1' in out.stdout
