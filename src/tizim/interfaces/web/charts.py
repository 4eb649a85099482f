"""Server-rendered SVG charts: no JavaScript, readable by screen readers (title + description),
styled by the page's CSS classes (the Content-Security-Policy allows no inline styles).

Each chart is shown next to a table of the same numbers, so nothing is said by colour alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import count

from markupsafe import Markup, escape

WIDTH, HEIGHT = 360, 180
LEFT, RIGHT, TOP, BOTTOM = 44, 8, 10, 28
_ids = count(1)


def _frame(title: str, description: str, body: str) -> Markup:
    ident = next(_ids)
    return Markup(
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img"'
        f' aria-labelledby="chart-t{ident} chart-d{ident}" xmlns="http://www.w3.org/2000/svg">'
        f'<title id="chart-t{ident}">{escape(title)}</title>'
        f'<desc id="chart-d{ident}">{escape(description)}</desc>{body}</svg>'
    )


def _axes(top_value: int, labels: Sequence[str]) -> str:
    plot_h = HEIGHT - TOP - BOTTOM
    parts = [
        f'<line class="axis" x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{TOP + plot_h}"/>',
        f'<line class="axis" x1="{LEFT}" y1="{TOP + plot_h}" x2="{WIDTH - RIGHT}"'
        f' y2="{TOP + plot_h}"/>',
        f'<text x="{LEFT - 4}" y="{TOP + 8}" text-anchor="end">{_short(top_value)}</text>',
        f'<text x="{LEFT - 4}" y="{TOP + plot_h}" text-anchor="end">0</text>',
    ]
    if labels:
        step = max(1, len(labels) // 4)
        slot = (WIDTH - LEFT - RIGHT) / len(labels)
        for index in range(0, len(labels), step):
            x = LEFT + slot * (index + 0.5)
            parts.append(
                f'<text x="{x:.1f}" y="{HEIGHT - 8}" text-anchor="middle">'
                f"{escape(labels[index])}</text>"
            )
    return "".join(parts)


def bar_chart(title: str, labels: Sequence[str], values: Sequence[int], kind: str = "a") -> Markup:
    top = max([*values, 1])
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / max(len(values), 1)
    bars = []
    for index, value in enumerate(values):
        height = plot_h * value / top
        bars.append(
            f'<rect class="bar-{kind}" x="{LEFT + slot * index + slot * 0.15:.1f}"'
            f' y="{TOP + plot_h - height:.1f}" width="{slot * 0.7:.1f}" height="{height:.1f}">'
            f"<title>{escape(labels[index])}: {value}</title></rect>"
        )
    description = ", ".join(
        f"{label}: {value}" for label, value in zip(labels, values, strict=True)
    )
    return _frame(title, description, _axes(top, labels) + "".join(bars))


def line_chart(
    title: str, labels: Sequence[str], series: dict[str, Sequence[int]], names: dict[str, str]
) -> Markup:
    """One polyline per series; `names` gives each series its (translated) name."""
    top = max([v for values in series.values() for v in values] + [1])
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / max(len(labels), 1)
    lines = []
    for key, values in series.items():
        points = " ".join(
            f"{LEFT + slot * (i + 0.5):.1f},{TOP + plot_h - plot_h * v / top:.1f}"
            for i, v in enumerate(values)
        )
        lines.append(f'<polyline class="line-{escape(key)}" fill="none" points="{points}"/>')
    description = "; ".join(
        f"{names.get(key, key)}: {values[0] if values else 0} → {values[-1] if values else 0}"
        for key, values in series.items()
    )
    return _frame(title, description, _axes(top, labels) + "".join(lines))


def _short(value: int) -> str:
    if value >= 1_000_000:
        return f"{value / 1_000_000:.1f}M"
    if value >= 10_000:
        return f"{value // 1000}k"
    return str(value)
