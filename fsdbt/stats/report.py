"""The HTML report of ``fsdbt stats --html``: one self-contained page.

No network access: CSS, SVG charts and the one small script are inline, and a
Content-Security-Policy forbids loading anything else. Every text from the project
(view, feature and value names, descriptions) is HTML-escaped.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from datetime import date, datetime, timezone
from typing import Any

from fsdbt.stats.compute import Drift, FeatureStatistics, NumericSummary, ViewStatistics
from fsdbt.stats.plan import Kind

_CSS = """
:root { --ink:#1f2933; --muted:#616e7c; --line:#e4e7eb; --bg:#f5f7fa; --card:#fff; --bar:#3e7cb1;
        --ref:#b8c2cc; --cur:#e8833a; --bad:#c62828; --badbg:#fdecea; --ok:#2e7d32; --okbg:#e8f5e9; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif;
       color: var(--ink); background: var(--bg); }
header { background: #102a43; color: #fff; padding: 22px 32px; }
header h1 { margin: 0 0 4px; font-size: 22px; font-weight: 600; }
header p { margin: 0; color: #bcccdc; }
main { padding: 20px 32px 40px; max-width: 1400px; }
.summary { display: flex; gap: 12px; flex-wrap: wrap; margin: 0 0 18px; }
.tile { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 10px 16px;
        min-width: 150px; }
.tile b { display: block; font-size: 20px; }
.tile span { color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: .04em; }
.tile.alert b { color: var(--bad); }
nav { margin: 0 0 18px; color: var(--muted); }
nav a { color: #2f5f8a; margin-right: 14px; text-decoration: none; }
nav label { float: right; cursor: pointer; }
section { background: var(--card); border: 1px solid var(--line); border-radius: 8px; margin: 0 0 22px;
          overflow: hidden; }
section h2 { margin: 0; padding: 14px 18px 2px; font-size: 18px; }
section .meta { padding: 0 18px 12px; color: var(--muted); font-size: 13px; }
table { border-collapse: collapse; width: 100%; }
th { text-align: left; font-size: 11px; text-transform: uppercase; letter-spacing: .04em; color: var(--muted);
     background: #fafbfc; border-top: 1px solid var(--line); border-bottom: 1px solid var(--line); padding: 7px 10px; }
td { border-bottom: 1px solid var(--line); padding: 8px 10px; vertical-align: top; }
tr:last-child td { border-bottom: 0; }
td.name b { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 13px; }
td.name div { color: var(--muted); font-size: 12px; max-width: 260px; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.type { display: inline-block; font-size: 11px; padding: 1px 6px; border-radius: 10px; background: #eef2f7;
        color: #334e68; }
dl { margin: 0; display: grid; grid-template-columns: auto auto; gap: 0 10px; font-size: 12px;
     font-variant-numeric: tabular-nums; }
dt { color: var(--muted); } dd { margin: 0; text-align: right; }
.warn { color: var(--bad); font-weight: 600; }
.psi { display: inline-block; padding: 2px 8px; border-radius: 10px; font-weight: 600; font-size: 12px; }
.psi.ok { background: var(--okbg); color: var(--ok); }
.psi.bad { background: var(--badbg); color: var(--bad); }
tr.drifted td { background: #fff8f6; }
tr.drifted td:first-child { box-shadow: inset 4px 0 0 var(--bad); }
.legend { font-size: 11px; color: var(--muted); }
.legend i { display: inline-block; width: 9px; height: 9px; margin: 0 3px 0 8px; vertical-align: -1px; }
svg text { font: 10px -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif; fill: #616e7c; }
footer { color: var(--muted); font-size: 12px; padding: 0 32px 30px; }
body.only-drift tr.feature:not(.drifted) { display: none; }
"""

# The page's only script: a "drifted features only" filter. It marks the page ready, so a
# headless browser can tell that it ran without an error.
_SCRIPT = """
(function () {
  var box = document.getElementById('only-drift');
  if (box) {
    box.addEventListener('change', function () { document.body.classList.toggle('only-drift', box.checked); });
  }
  document.documentElement.setAttribute('data-ready', '1');
})();
"""

_CSP = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:"


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _n(value: float | int | None, digits: int = 4) -> str:
    if value is None:
        return "–"
    if isinstance(value, int) or (isinstance(value, float) and value.is_integer() and abs(value) < 1e15):
        return f"{int(value):,}"
    if abs(value) >= 1e6 or (abs(value) < 1e-3 and value != 0):
        return f"{value:.{digits}g}"
    return f"{value:,.{digits}g}" if abs(value) >= 1000 else f"{value:.{digits}g}"


def _time(seconds: float | None, with_time: bool = True) -> str:
    if seconds is None or math.isnan(seconds):
        return "–"
    moment = datetime.fromtimestamp(seconds, tz=timezone.utc)
    return moment.strftime("%Y-%m-%d %H:%M" if with_time else "%Y-%m-%d")


def _value(f: FeatureStatistics, value: float | None) -> str:
    if f.kind is Kind.TEMPORAL:
        return _time(value, with_time=str(f.dtype) != "date")
    return _n(value)


def _stamp(value: Any) -> str:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    return "–" if value is None else _e(value)


# -- charts --------------------------------------------------------------------------------------

def histogram_svg(f: FeatureStatistics, width: int = 200, height: int = 56) -> str:
    """Equal-width histogram for numbers, times and booleans; top values for strings."""
    if f.numeric is not None and f.kind is not Kind.BOOL:
        return _numeric_svg(f, f.numeric, width, height)
    return _bars_svg(f.top_values[:6], f.count, width)


def _numeric_svg(f: FeatureStatistics, n: NumericSummary, width: int, height: int) -> str:
    if not n.histogram:
        return '<span class="legend">no values</span>'
    top = max(b.count for b in n.histogram) or 1.0
    plot_h = height - 14
    bar_w = width / len(n.histogram)
    bars = []
    for i, b in enumerate(n.histogram):
        h = 0 if b.count == 0 else max(1.5, plot_h * b.count / top)
        label = f"{_value(f, b.low)} – {_value(f, b.high)}: {_n(b.count)}"
        bars.append(f'<rect x="{i * bar_w + 1:.1f}" y="{plot_h - h:.1f}" width="{bar_w - 2:.1f}" height="{h:.1f}" '
                    f'rx="1" fill="#3e7cb1"><title>{_e(label)}</title></rect>')
    low, high = _value(f, n.min), _value(f, n.max)
    return (f'<svg width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" '
            f'aria-label="histogram of {_e(f.name)}">'
            f'<line x1="0" y1="{plot_h + .5}" x2="{width}" y2="{plot_h + .5}" stroke="#cbd2d9"/>'
            + "".join(bars)
            + f'<text x="0" y="{height - 1}">{_e(low)}</text>'
            f'<text x="{width}" y="{height - 1}" text-anchor="end">{_e(high)}</text></svg>')


def _bars_svg(values: Sequence[tuple[str, int]], total: int, width: int) -> str:
    if not values:
        return '<span class="legend">no values</span>'
    row_h, label_w = 13, 78
    height = row_h * len(values)
    top = max(c for _, c in values) or 1
    rows = []
    for i, (value, count) in enumerate(values):
        w = max(1.0, (width - label_w - 42) * count / top)
        share = f"{100 * count / total:.0f}%" if total else ""
        short = value if len(value) <= 12 else value[:11] + "…"
        y = i * row_h
        rows.append(f'<text x="{label_w - 4}" y="{y + 10}" text-anchor="end">{_e(short)}</text>'
                    f'<rect x="{label_w}" y="{y + 2}" width="{w:.1f}" height="{row_h - 4}" rx="1" fill="#3e7cb1">'
                    f'<title>{_e(value)}: {count:,}</title></rect>'
                    f'<text x="{label_w + w + 4:.1f}" y="{y + 10}">{share}</text>')
    return (f'<svg width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" '
            f'aria-label="top values">' + "".join(rows) + "</svg>")


def drift_svg(d: Drift, width: int = 200, height: int = 44) -> str:
    """Shares per bin: reference (grey) next to current (orange)."""
    bins = [b for b in d.bins if b[1] or b[2]][:12]  # a bin empty in both windows adds nothing
    if not bins or not d.reference_rows or not d.current_rows:
        return ""
    shares = [(lbl, r / d.reference_rows, c / d.current_rows) for lbl, r, c in bins]
    top = max(max(r, c) for _, r, c in shares) or 1.0
    slot = width / len(shares)
    bar = max(1.0, slot / 2 - 1)
    parts = []
    for i, (label, r, c) in enumerate(shares):
        x = i * slot
        hr, hc = height * r / top, height * c / top
        tip = _e(f"{label}: reference {100 * r:.1f}%, current {100 * c:.1f}%")
        parts.append(f'<g><title>{tip}</title>'
                     f'<rect x="{x + .5:.1f}" y="{height - hr:.1f}" width="{bar:.1f}" height="{hr:.1f}" '
                     f'fill="#b8c2cc"/>'
                     f'<rect x="{x + bar + .5:.1f}" y="{height - hc:.1f}" width="{bar:.1f}" height="{hc:.1f}" '
                     f'fill="#e8833a"/></g>')
    return (f'<svg width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" '
            f'aria-label="drift by bin">' + "".join(parts) + "</svg>")


# -- page ------------------------------------------------------------------------------------------

def _stats_cell(f: FeatureStatistics) -> str:
    rows: list[tuple[str, str]] = []
    if f.numeric is not None and f.kind is not Kind.BOOL:
        n = f.numeric
        q = n.quantiles
        rows += [("min", _value(f, n.min)), ("median", _value(f, q[len(q) // 2]) if len(q) >= 3 else "–"),
                 ("mean", _value(f, n.mean)), ("max", _value(f, n.max))]
        if f.kind is Kind.NUMERIC:
            rows += [("std dev", _n(n.std_dev)), ("zeros", _n(n.zeros))]
    elif f.kind is Kind.BOOL and f.numeric is not None:
        true = round((f.numeric.mean or 0) * f.count)
        rows += [("true", f"{true:,}"), ("false", f"{f.count - true:,}"),
                 ("share true", f"{100 * (f.numeric.mean or 0):.1f}%")]
    else:
        rows += [("unique", _n(f.unique)), ("avg length", _n(f.avg_length, 3)),
                 ("length", f"{_n(f.min_length)}–{_n(f.max_length)}")]
    return "<dl>" + "".join(f"<dt>{_e(k)}</dt><dd>{v}</dd>" for k, v in rows) + "</dl>"


def _drift_cell(f: FeatureStatistics, has_windows: bool) -> str:
    if not has_windows:
        return ""
    d = f.drift
    if d is None:
        return '<span class="legend">not compared</span>' if f.kind is Kind.TEMPORAL else ""
    if d.psi is None:
        return '<span class="legend">a window is empty</span>'
    badge = f'<span class="psi {"bad" if d.flagged else "ok"}">PSI {d.psi:.3f}</span>'
    return f"{badge}<div>{drift_svg(d)}</div>"


def _feature_row(f: FeatureStatistics, num_rows: int, has_windows: bool) -> str:
    missing_share = f.missing / num_rows if num_rows else 0.0
    missing = f"{f.missing:,}<br><small>{100 * missing_share:.1f}%</small>"
    if missing_share > 0.2:
        missing = f'<span class="warn">{missing}</span>'
    drifted = " drifted" if f.drift is not None and f.drift.flagged else ""
    desc = f"<div>{_e(f.description)}</div>" if f.description else ""
    return (f'<tr class="feature{drifted}"><td class="name"><b>{_e(f.name)}</b>{desc}</td>'
            f'<td><span class="type">{_e(f.dtype)}</span></td>'
            f'<td class="num">{f.count:,}</td><td class="num">{missing}</td>'
            f"<td>{_stats_cell(f)}</td><td>{histogram_svg(f)}</td>"
            + (f"<td>{_drift_cell(f, has_windows)}</td>" if has_windows else "")
            + "</tr>")


def _section(v: ViewStatistics) -> str:
    has_windows = v.windows is not None
    meta = [f"<code>{_e(v.relation)}</code>", f"{v.num_rows:,} rows", f"{len(v.features)} features",
            f"event time {_stamp(v.first_timestamp)} → {_stamp(v.last_timestamp)}"]
    if has_windows and v.windows and "current" in v.windows:
        cur, ref = v.windows["current"], v.windows["reference"]
        meta.append(f"drift: current ({_stamp(cur[0])}, {_stamp(cur[1])}] vs reference "
                    f"({_stamp(ref[0])}, {_stamp(ref[1])}]")
    head = ["feature", "type", "count", "missing", "statistics", "distribution"]
    if has_windows:
        head.append("drift")
    legend = ('<div class="legend">drift bars: <i style="background:#b8c2cc"></i>reference'
              '<i style="background:#e8833a"></i>current</div>') if has_windows else ""
    rows = "".join(_feature_row(f, v.num_rows, has_windows) for f in v.features)
    return (f'<section id="view-{_e(v.view)}"><h2>{_e(v.view)}</h2>'
            f'<div class="meta">{" · ".join(meta)}{legend}</div>'
            f'<table><thead><tr>{"".join(f"<th>{h}</th>" for h in head)}</tr></thead>'
            f"<tbody>{rows}</tbody></table></section>")


def render_report(views: Sequence[ViewStatistics], *, reference_window: str | None = None,
                  current_window: str = "1d", title: str = "fsdbt feature statistics",
                  generated_at: datetime | None = None) -> str:
    """The report as one HTML document (a string)."""
    generated = (generated_at or datetime.now(timezone.utc)).strftime("%Y-%m-%d %H:%M UTC")
    features = sum(len(v.features) for v in views)
    drifted = [(v.view, f) for v in views for f in v.features if f.drift is not None and f.drift.flagged]
    threshold = next((f.drift.threshold for v in views for f in v.features if f.drift is not None), None)
    tiles = [("views", f"{len(views):,}"), ("features", f"{features:,}"),
             ("rows", f"{sum(v.num_rows for v in views):,}")]
    summary = "".join(f'<div class="tile"><b>{b}</b><span>{_e(s)}</span></div>' for s, b in tiles)
    if reference_window:
        alert = " alert" if drifted else ""
        summary += (f'<div class="tile{alert}"><b>{len(drifted)}</b><span>drifted (PSI &gt; {threshold})'
                    f"</span></div>")
    subtitle = f"Generated {generated}."
    if reference_window:
        subtitle += (f" Drift: the last {_e(current_window)} of each view against the {_e(reference_window)} "
                     "before it (population stability index).")
    nav = "".join(f'<a href="#view-{_e(v.view)}">{_e(v.view)}</a>' for v in views)
    if reference_window:
        nav += '<label><input type="checkbox" id="only-drift"> drifted features only</label>'
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>"
        f"<header><h1>{_e(title)}</h1><p>{subtitle}</p></header><main>"
        f'<div class="summary">{summary}</div><nav>{nav}</nav>'
        + "".join(_section(v) for v in views)
        + "</main><footer>Computed in the warehouse by fsdbt stats; the same numbers are in "
        "statistics.pb (TensorFlow Metadata DatasetFeatureStatisticsList).</footer>"
        f"<script>{_SCRIPT}</script></body></html>\n"
    )
