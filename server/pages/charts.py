"""Charts as server-side SVG: no script, no library, nothing from the network.

Each chart is an ``<svg role="img">`` with a ``<title>`` and a ``<desc>`` listing its data (for screen
readers), scaled by its ``viewBox`` to the width of the page; the pages put a data table beside it.
"""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass
from html import escape

from markupsafe import Markup

WIDTH = 480
FONT = 14
PALETTE = ("#0b5cad", "#d9480f", "#2b8a3e", "#862e9c", "#e67700", "#1098ad", "#c2255c", "#5c940d", "#868e96")
_ids = itertools.count(1)


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    display: str  # the value as the reader should read it


@dataclass(frozen=True)
class Point:
    when: dt.date
    label: str  # the date as the reader should read it
    value: float
    display: str


@dataclass(frozen=True)
class Segment:
    key: str
    count: int


@dataclass(frozen=True)
class StackedRow:
    label: str
    href: str | None
    segments: tuple[Segment, ...]

    @property
    def total(self) -> int:
        return sum(s.count for s in self.segments)


def _svg(height: float, title: str, desc: str, body: str, css_class: str) -> Markup:
    n = next(_ids)
    return Markup(
        f'<svg class="chart {css_class}" viewBox="0 0 {WIDTH} {height:.0f}" role="img" '
        f'aria-labelledby="chart-title-{n} chart-desc-{n}" xmlns="http://www.w3.org/2000/svg" '
        f'font-family="system-ui, sans-serif" font-size="{FONT}">'
        f'<title id="chart-title-{n}">{escape(title)}</title><desc id="chart-desc-{n}">{escape(desc)}</desc>'
        f"{body}</svg>"
    )


def _text(x: float, y: float, text: str, anchor: str = "start", extra: str = "") -> str:
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}"{extra}>{escape(text)}</text>'


def bar_chart(title: str, bars: list[Bar], *, color: str = PALETTE[0]) -> Markup:
    """Horizontal bars, one per category (long labels fit on a phone)."""
    label_w = min(WIDTH * 0.42, max(60, max((len(b.label) for b in bars), default=4) * 8.4 + 10))
    row_h, top = 34, 8
    height = top + row_h * len(bars) + 8
    peak = max((b.value for b in bars), default=0) or 1
    room = WIDTH - label_w - 100
    parts = []
    for i, b in enumerate(bars):
        y = top + i * row_h
        w = max(1.0, room * b.value / peak) if b.value > 0 else 0
        parts.append(_text(label_w - 8, y + 21, b.label, "end"))
        parts.append(
            f'<rect x="{label_w:.1f}" y="{y + 5}" width="{w:.1f}" height="{row_h - 10}" rx="3" '
            f'fill="{color}">'
            f"<title>{escape(b.label)}: {escape(b.display)}</title></rect>"
        )
        parts.append(_text(label_w + w + 6, y + 21, b.display, extra=' font-weight="600"'))
    desc = "; ".join(f"{b.label}: {b.display}" for b in bars)
    return _svg(height, title, desc, "".join(parts), "bar-chart")


def time_chart(title: str, points: list[Point], *, color: str = PALETTE[0]) -> Markup:
    """Values at dates: a line on a time axis (x proportional to time), every point labelled.
    Years (one point a year) read better as columns: see :func:`column_chart`."""
    points = sorted(points, key=lambda p: p.when)
    height, left, right, top, bottom = 260, 24, 24, 36, 44
    peak = max((p.value for p in points), default=0) or 1
    floor = 0.0
    first, last = points[0].when, points[-1].when
    span = (last - first).days or 1
    inner_w = WIDTH - left - right - 110

    def xy(p: Point) -> tuple[float, float]:
        x = left + 60 + inner_w * ((p.when - first).days / span if len(points) > 1 else 0.5)
        y = top + (height - top - bottom) * (1 - (p.value - floor) / (peak - floor))
        return x, y

    coords = [xy(p) for p in points]
    base_y = height - bottom
    parts = [f'<line x1="{left}" y1="{base_y}" x2="{WIDTH - right}" y2="{base_y}" stroke="#8c959f"/>']
    area = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
    if len(coords) > 1:
        parts.append(
            f'<polygon points="{coords[0][0]:.1f},{base_y} {area} {coords[-1][0]:.1f},{base_y}" '
            f'fill="{color}" fill-opacity="0.12"/>'
        )
        parts.append(f'<polyline points="{area}" fill="none" stroke="{color}" stroke-width="3"/>')
    for p, (x, y) in zip(points, coords, strict=True):
        parts.append(
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="6" fill="{color}"><title>{escape(p.label)}: '
            f"{escape(p.display)}</title></circle>"
        )
        parts.append(_text(x, y - 12, p.display, "middle", ' font-weight="600"'))
        parts.append(f'<line x1="{x:.1f}" y1="{base_y}" x2="{x:.1f}" y2="{base_y + 6}" stroke="#8c959f"/>')
        parts.append(_text(x, base_y + 24, p.label, "middle"))
    desc = "; ".join(f"{p.label}: {p.display}" for p in points)
    return _svg(height, title, desc, "".join(parts), "time-chart")


def column_chart(title: str, bars: list[Bar], *, color: str = PALETTE[0]) -> Markup:
    """Vertical columns, one per period (years)."""
    height, top, bottom = 250, 36, 40
    peak = max((b.value for b in bars), default=0) or 1
    slot = (WIDTH - 40) / max(1, len(bars))
    col_w = min(90, slot * 0.6)
    base_y = height - bottom
    parts = [f'<line x1="20" y1="{base_y}" x2="{WIDTH - 20}" y2="{base_y}" stroke="#8c959f"/>']
    for i, b in enumerate(bars):
        cx = 20 + slot * (i + 0.5)
        h = (base_y - top) * b.value / peak if b.value > 0 else 0
        parts.append(
            f'<rect x="{cx - col_w / 2:.1f}" y="{base_y - h:.1f}" width="{col_w:.1f}" '
            f'height="{h:.1f}" rx="3" '
            f'fill="{color}"><title>{escape(b.label)}: {escape(b.display)}</title></rect>'
        )
        parts.append(_text(cx, base_y - h - 8, b.display, "middle", ' font-weight="600"'))
        parts.append(_text(cx, base_y + 24, b.label, "middle"))
    desc = "; ".join(f"{b.label}: {b.display}" for b in bars)
    return _svg(height, title, desc, "".join(parts), "column-chart")


def stacked_chart(
    title: str, rows: list[StackedRow], legend: list[tuple[str, str]], *, unit: str = ""
) -> Markup:
    """One horizontal bar per row, split into segments by key; ``legend`` is (key, label) in order,
    and gives each key its colour."""
    colors = {key: PALETTE[i % len(PALETTE)] for i, (key, _) in enumerate(legend)}
    names = dict(legend)
    label_w = min(WIDTH * 0.36, max(60, max((len(r.label) for r in rows), default=4) * 8.4 + 10))
    row_h, top = 38, 8
    peak = max((r.total for r in rows), default=0) or 1
    room = WIDTH - label_w - 40
    parts = []
    for i, row in enumerate(rows):
        y = top + i * row_h
        label = _text(label_w - 8, y + 24, row.label, "end")
        parts.append(f'<a href="{escape(row.href)}">{label}</a>' if row.href else label)
        x = label_w
        for seg in row.segments:
            if seg.count <= 0:
                continue
            w = room * seg.count / peak
            fill = colors.get(seg.key, "#999")
            tip = f"{row.label} · {names.get(seg.key, seg.key)}: {seg.count}"
            parts.append(
                f'<rect x="{x:.1f}" y="{y + 6}" width="{w:.1f}" height="{row_h - 12}" fill="{fill}" '
                f'stroke="#fff"><title>{escape(tip)}</title></rect>'
            )
            if w >= 18:
                parts.append(
                    _text(x + w / 2, y + 24, str(seg.count), "middle", ' fill="#fff" font-weight="600"')
                )
            x += w
        parts.append(_text(x + 6, y + 24, f"{row.total}{unit}", extra=' font-weight="600"'))
    # the legend, wrapped in lines
    y = top + row_h * len(rows) + 14
    x = 8.0
    for key, name in legend:
        width = 22 + len(name) * 8.2
        if x + width > WIDTH - 8:
            x, y = 8.0, y + 24
        parts.append(f'<rect x="{x:.1f}" y="{y - 12}" width="14" height="14" rx="2" fill="{colors[key]}"/>')
        parts.append(_text(x + 20, y, name))
        x += width + 18
    height = y + 14
    desc = "; ".join(
        f"{r.label}: " + ", ".join(f"{names.get(s.key, s.key)} {s.count}" for s in r.segments if s.count)
        for r in rows
    )
    return _svg(height, title, desc, "".join(parts), "stacked-chart")
