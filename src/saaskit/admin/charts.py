"""Charts drawn on the server as inline SVG: no script, no CDN, nothing to fetch.

A console that works offline and under a strict Content-Security-Policy cannot load
Chart.js from a CDN; a bar chart is a few rectangles. Every label is escaped.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape

__all__ = ["PALETTE", "bar_chart"]

PALETTE = ("#206bc4", "#2fb344", "#f59f00", "#d63939", "#ae3ec9", "#0ca678", "#4263eb", "#f76707")
"""Series colours, in order (the last ones repeat)."""

WIDTH, HEIGHT = 720, 260
LEFT, RIGHT, TOP, BOTTOM = 56, 16, 28, 56


def _nice(value: int) -> int:
    """A round upper bound of the axis for ``value`` (1, 2 or 5 times a power of ten)."""
    if value <= 0:
        return 1
    step = 1
    while True:
        for factor in (1, 2, 5):
            if step * factor >= value:
                return step * factor
        step *= 10


def bar_chart(
    title: str, labels: Sequence[str], series: Mapping[str, Sequence[int]], *, chart_id: str
) -> str:
    """A stacked bar chart: one bar per label, one colour per series.

    Args:
        title: the chart's title (drawn, and the SVG's accessible name).
        labels: the x axis (days, months), oldest first.
        series: values per series name, each as long as ``labels``.
        chart_id: the SVG element's id (tests and pages find the chart by it).

    Returns:
        The ``<svg>`` element, safe to insert into HTML as is.
    """
    names = list(series)
    totals = [sum(series[name][index] for name in names) for index in range(len(labels))]
    top = _nice(max(totals, default=0))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / max(len(labels), 1)
    bar = max(slot * 0.7, 1.0)
    height = HEIGHT + 18 * ((len(names) + 3) // 4)
    parts = [
        f'<svg id="{escape(chart_id)}" class="saaskit-chart" role="img" width="{WIDTH}" '
        f'height="{height}" viewBox="0 0 {WIDTH} {height}" style="max-width:100%;height:auto" '
        f'xmlns="http://www.w3.org/2000/svg" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
        f'<text x="{LEFT}" y="18" font-size="14" font-weight="600">{escape(title)}</text>',
    ]
    for tick in range(5):
        value = top * tick // 4
        y = TOP + plot_h - plot_h * tick / 4
        parts.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" '
            'stroke="#e6e7e9" stroke-width="1"/>'
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" font-size="10" text-anchor="end">{value}</text>'
        )
    every = max(1, len(labels) // 10)
    for index, label in enumerate(labels):
        x = LEFT + slot * index + (slot - bar) / 2
        base = float(TOP + plot_h)
        for number, name in enumerate(names):
            value = series[name][index]
            if value <= 0:
                continue
            size = plot_h * value / top
            base -= size
            colour = PALETTE[number % len(PALETTE)]
            parts.append(
                f'<rect class="bar" x="{x:.1f}" y="{base:.1f}" width="{bar:.1f}" '
                f'height="{size:.1f}" fill="{colour}" data-series="{escape(name)}" '
                f'data-label="{escape(label)}" data-value="{value}">'
                f"<title>{escape(name)} {escape(label)}: {value}</title></rect>"
            )
        if index % every == 0:
            parts.append(
                f'<text x="{x + bar / 2:.1f}" y="{TOP + plot_h + 14}" font-size="10" '
                f'text-anchor="middle">{escape(label[5:] if len(label) == 10 else label)}</text>'
            )
    for number, name in enumerate(names):
        x = LEFT + (number % 4) * 165
        y = HEIGHT - 22 + 18 * (number // 4)
        colour = PALETTE[number % len(PALETTE)]
        parts.append(
            f'<rect x="{x}" y="{y - 9}" width="10" height="10" fill="{colour}"/>'
            f'<text x="{x + 14}" y="{y}" font-size="11">{escape(name[:24])}</text>'
        )
    if not any(totals):
        parts.append(
            f'<text x="{WIDTH / 2}" y="{TOP + plot_h / 2}" font-size="12" text-anchor="middle" '
            'fill="#667382">No data in this period.</text>'
        )
    parts.append("</svg>")
    return "".join(parts)
