"""A report's result as one branded HTML page (shared links, HTML deliveries): title,
description, date range, an inline SVG chart over the period column and the rows,
under a partner's (or Ringside's) name, logo, colours and footer."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from html import escape
from typing import Any

from ringside.reports.definition import Branding
from ringside.reports.results import ReportResult, ResultColumn
from ringside.reports.sentences import format_value
from ringside.reports.templating import TEMPLATES

WIDTH, HEIGHT = 720, 240
LEFT, RIGHT, TOP, BOTTOM = 70, 150, 16, 30
# After the partner's two colours, for further series.
PALETTE = ("#2e7d32", "#6a1b9a", "#ef6c00", "#00838f")
MAX_SERIES = 6


@dataclass(frozen=True)
class Series:
    name: str
    points: list[tuple[str, float]]


def cell(value: Any, column: ResultColumn) -> str:
    """A value as the page shows it: figures in their unit, dates in ISO form."""
    if value is None:
        return ""
    if isinstance(value, date | datetime):
        return value.isoformat()
    if column.kind == "metric" and isinstance(value, int | float):
        return format_value(float(value), column.unit or "")
    return str(value)


def chart_series(
    columns: Sequence[ResultColumn], rows: Sequence[Mapping[str, Any]]
) -> list[Series]:
    """The first metric over the period column, one line per dimension combination
    (the first few): metrics of different units do not share an axis."""
    period = next((c for c in columns if c.kind == "period"), None)
    metric = next((c for c in columns if c.kind == "metric"), None)
    if period is None or metric is None:
        return []
    dimensions = [c for c in columns if c.kind == "dimension"]
    lines: dict[str, list[tuple[str, float]]] = {}
    for row in sorted(rows, key=lambda r: str(r[period.name])):
        if row[metric.name] is None:
            continue
        name = " / ".join(str(row[d.name]) for d in dimensions) or metric.label
        if name in lines or len(lines) < MAX_SERIES:
            lines.setdefault(name, []).append(
                (cell(row[period.name], period), float(row[metric.name]))
            )
    return [Series(name, points) for name, points in lines.items()]


def chart_svg(label: str, unit: str | None, series: list[Series], colours: Sequence[str]) -> str:
    """Lines on one axis from 0 (or the lowest negative value) to the highest value;
    periods are spaced evenly in their order."""
    periods = sorted({p for s in series for p, _ in s.points})
    position = {p: i for i, p in enumerate(periods)}
    values = [v for s in series for _, v in s.points]
    top, bottom = max([*values, 0.0]), min([*values, 0.0])
    span = (top - bottom) or 1.0
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    step = plot_w / max(len(periods) - 1, 1)

    def y(value: float) -> float:
        return TOP + plot_h - (value - bottom) / span * plot_h

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(label)}">',
        f'<line x1="{LEFT}" y1="{y(0):.1f}" x2="{LEFT + plot_w}" y2="{y(0):.1f}" stroke="#ccc"/>',
        f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{TOP + plot_h}" stroke="#ccc"/>',
        f'<text x="{LEFT - 6}" y="{TOP + 4}" font-size="10" text-anchor="end">'
        f"{escape(format_value(top, unit or ''))}</text>",
        f'<text x="{LEFT - 6}" y="{TOP + plot_h}" font-size="10" text-anchor="end">'
        f"{escape(format_value(bottom, unit or ''))}</text>",
        f'<text x="{LEFT}" y="{HEIGHT - 10}" font-size="10">{escape(periods[0])}</text>',
        f'<text x="{LEFT + plot_w}" y="{HEIGHT - 10}" font-size="10" text-anchor="end">'
        f"{escape(periods[-1])}</text>",
    ]
    for index, line in enumerate(series):
        colour = colours[index % len(colours)]
        coords = " ".join(f"{LEFT + position[p] * step:.1f},{y(v):.1f}" for p, v in line.points)
        parts.append(
            f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{coords}"/>'
        )
        legend_y = TOP + 12 + index * 16
        parts.append(
            f'<text x="{LEFT + plot_w + 10}" y="{legend_y}" font-size="11" fill="{colour}">'
            f"{escape(line.name)}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def render_report_html(
    result: ReportResult, *, title: str, description: str, branding: Branding
) -> str:
    columns, rows = result.columns, result.rows
    series = chart_series(columns, rows)
    metric = next((c for c in columns if c.kind == "metric"), None)
    colours = (branding.primary_colour, branding.accent_colour, *PALETTE)
    chart = chart_svg(metric.label, metric.unit, series, colours) if series and metric else None
    return TEMPLATES.get_template("report.html.j2").render(
        title=title,
        description=description,
        start=result.start,
        end=result.end,
        columns=columns,
        rows=[[cell(row[c.name], c) for c in columns] for row in rows],
        chart=chart,
        chart_label=metric.label if metric else "",
        branding=branding,
        generated_at=result.generated_at,
    )
