"""The DuckDB push log's compaction: one file out, every row kept, nothing changed on a bad file."""

from __future__ import annotations

import collections
import fcntl
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from fsdbt.push import PushError, PushLog


def _rows(log: PushLog, view: str) -> collections.Counter[tuple[Any, ...]]:
    table = pa.concat_tables([pq.read_table(f) for f in log.files(view)], promote_options="permissive")
    names = sorted(table.column_names)
    return collections.Counter(tuple(r[n] for n in names) for r in table.select(names).to_pylist())


def test_compaction_merges_files_unifies_columns_and_keeps_every_row(tmp_path: Path) -> None:
    log = PushLog(tmp_path)
    log.append("v", pa.table({"k": [1, 2], "x": [0.5, None]}))
    log.append("v", pa.table({"k": [1, 2], "x": [0.5, None]}))  # a retried push: the same rows again
    log.append("v", pa.table({"k": [3], "x": [1.5], "added": ["new column"]}))  # the view gained a column
    log.append("other", pa.table({"k": [9]}))
    expected = collections.Counter({(None, 1, 0.5): 2, (None, 2, None): 2, ("new column", 3, 1.5): 1})
    assert _rows(log, "v") == expected

    result = log.compact("v")
    assert (result.files_before, result.files_after, result.rows) == (3, 1, 5)
    assert log.files("v") == [Path(result.merged or "")]
    assert _rows(log, "v") == expected
    assert pq.read_schema(result.merged).names == ["k", "x", "added"]
    assert [p.name for p in (tmp_path / "v").iterdir() if p.name.endswith(".tmp")] == []
    assert len(log.files("other")) == 1  # another view's log is left alone

    # Nothing to merge: a no-op. Later pushes are merged by the next compaction.
    assert log.compact("v").merged is None and log.compact("empty").files_before == 0
    log.append("v", pa.table({"k": [4], "x": [2.0]}))
    assert log.compact("v").rows == 6 and len(log.files("v")) == 1


def test_a_bad_file_or_a_running_compaction_changes_nothing(tmp_path: Path) -> None:
    log = PushLog(tmp_path)
    log.append("v", pa.table({"k": [1]}))
    log.append("v", pa.table({"k": [2]}))
    broken = tmp_path / "v" / "zz-broken.parquet"
    broken.write_bytes(b"not parquet")
    before = sorted(p.name for p in (tmp_path / "v").iterdir())
    with pytest.raises(PushError, match=r"zz-broken\.parquet cannot be read .*nothing was changed"):
        log.compact("v")
    # Only the lock file (hidden: a glob of *.parquet never sees it) is new.
    assert sorted(p.name for p in (tmp_path / "v").iterdir()) == sorted([*before, ".compact.lock"])
    broken.unlink()

    log.append("v", pa.table({"k": ["text"]}))  # a column whose type changed between pushes
    with pytest.raises(PushError, match="disagree on a column's type"):
        log.compact("v")
    assert len(log.files("v")) == 3
    for path in log.files("v")[2:]:
        path.unlink()

    with open(tmp_path / "v" / ".compact.lock", "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        with pytest.raises(PushError, match=r"another compaction .* is running"):
            log.compact("v")
    assert log.compact("v").rows == 2
