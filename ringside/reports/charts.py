"""Trend charts as inline SVG (no JavaScript, nothing fetched): the period's daily
values against the previous period's, day by day."""

from __future__ import annotations

from html import escape

from ringside.reports.sentences import format_value
from ringside.reports.summary import Trend

WIDTH, HEIGHT = 560, 200
LEFT, RIGHT, TOP, BOTTOM = 70, 10, 24, 30
CURRENT_COLOUR, PREVIOUS_COLOUR = "#1f4e79", "#9aa5b1"


def trend_svg(trend: Trend, period_days: int) -> str:
    values = [v for _, v in trend.current + trend.previous]
    top = max([*values, 0.0]) or 1.0
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    # A 31-day month drawn against a 30-day one: the x axis fits the longer of the two.
    step = plot_w / max(period_days - 1, len(trend.previous) - 1, 1)

    def polyline(points: list[float], colour: str, dash: str) -> str:
        if not points:
            return ""
        coords = " ".join(
            f"{LEFT + i * step:.1f},{TOP + plot_h - v / top * plot_h:.1f}"
            for i, v in enumerate(points)
        )
        return f'<polyline fill="none" stroke="{colour}" stroke-width="2"{dash} points="{coords}"/>'

    first = trend.current[0][0].isoformat() if trend.current else ""
    last = trend.current[-1][0].isoformat() if trend.current else ""
    return "".join(
        [
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
            f'viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(trend.label)}">',
            f'<text x="{LEFT}" y="14" font-size="12" font-weight="bold">'
            f"{escape(trend.label)}: this period (solid) and the previous one (dashed)</text>",
            f'<line x1="{LEFT}" y1="{TOP + plot_h}" x2="{WIDTH - RIGHT}" y2="{TOP + plot_h}" '
            'stroke="#ccc"/>',
            f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{TOP + plot_h}" stroke="#ccc"/>',
            f'<text x="{LEFT - 6}" y="{TOP + 4}" font-size="10" text-anchor="end">'
            f"{escape(format_value(top, trend.unit))}</text>",
            f'<text x="{LEFT - 6}" y="{TOP + plot_h}" font-size="10" text-anchor="end">0</text>',
            f'<text x="{LEFT}" y="{HEIGHT - 10}" font-size="10">{first}</text>',
            f'<text x="{WIDTH - RIGHT}" y="{HEIGHT - 10}" font-size="10" text-anchor="end">'
            f"{last}</text>",
            polyline([v for _, v in trend.previous], PREVIOUS_COLOUR, ' stroke-dasharray="4 3"'),
            polyline([v for _, v in trend.current], CURRENT_COLOUR, ""),
            "</svg>",
        ]
    )
