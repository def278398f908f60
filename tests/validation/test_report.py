"""The HTML report of ``fsdbt stats --html``: self-contained, and it renders in headless Chromium.

Chromium (Debian's ``chromium``; ``scripts/ensure-services.sh`` installs it) takes a
screenshot of the demo's report and dumps its DOM with console logging on: the page must
render to a non-trivial image, its script must have run (``data-ready``), and the console
must stay empty (no script error, no resource blocked by the page's Content-Security-Policy).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

from fsdbt.definitions import Relation
from fsdbt.stats import Windows, compute_view
from fsdbt.stats.report import render_report

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def chromium(page: Path, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    return subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={profile}",
         "--enable-logging=stderr", "--v=0", *args, page.resolve().as_uri()],
        capture_output=True, text=True, timeout=90, check=False)


def test_report_is_self_contained(demo_stats: dict[str, Any]) -> None:
    page = (demo_stats["out"] / "report.html").read_text()
    assert "Content-Security-Policy" in page and "default-src 'none'" in page
    assert not re.search(r"(src|href)=\"(https?:)?//", page)  # nothing fetched from anywhere
    assert "http://" not in page and "https://" not in page
    for view in ("customer_profile", "driver_customer_stats", "driver_daily_activity", "driver_hourly_stats"):
        assert f'<section id="view-{view}">' in page
    assert page.count('aria-label="histogram of ') >= 30
    assert page.count('<tr class="feature') == 37


def test_report_renders_in_headless_chromium(demo_stats: dict[str, Any], tmp_path: Path) -> None:
    assert CHROMIUM is not None, "chromium is not installed (make test installs it: scripts/ensure-services.sh)"
    page = demo_stats["out"] / "report.html"
    shot = tmp_path / "report.png"
    run = chromium(page, tmp_path / "profile", f"--screenshot={shot}", "--window-size=1200,2000")
    assert shot.is_file(), run.stderr[-2000:]
    assert shot.stat().st_size > 50_000  # a blank 1200x2000 page is a few kB
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    dom = chromium(page, tmp_path / "profile2", "--dump-dom")
    assert 'data-ready="1"' in dom.stdout, "the page script did not run"
    console = [line for line in (run.stderr + dom.stderr).splitlines() if ":CONSOLE" in line]
    assert not console, "\n".join(console)


def test_drift_is_highlighted() -> None:
    from fsdbt.warehouse.duckdb import DuckDBWarehouse
    from tests.validation.test_stats import _events, _view

    with DuckDBWarehouse(":memory:", read_only=False) as warehouse:
        warehouse.load_arrow(_events(shift_recent=True), Relation(None, None, "events"))
        stats = compute_view(warehouse, _view(Relation(None, None, "events")), windows=Windows(2 * 86400, 7 * 86400))
    page = render_report([stats], reference_window="7d", current_window="2d")
    drifted = re.findall(r'<tr class="feature drifted"><td class="name"><b>([^<]*)</b>', page)
    assert drifted == ["a&quot;b"]  # names are escaped
    assert '<span class="psi bad">PSI ' in page and '<span class="psi ok">PSI ' in page
    assert "<b>1</b><span>drifted (PSI &gt; 0.2)</span>" in page
    assert "o&#x27;brien" in page and "y&#x27;z" in page
