"""Writing a :class:`Summary` as HTML (Jinja2 template, inline SVG charts) and as PDF
(reportlab platypus, charts drawn with reportlab.graphics)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from reportlab.graphics.charts.lineplots import LinePlot
from reportlab.graphics.shapes import Drawing, String
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import cm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Table, TableStyle
from reportlab.platypus.flowables import Flowable

from ringside.core.layout import Layout
from ringside.reports.charts import CURRENT_COLOUR, PREVIOUS_COLOUR, trend_svg
from ringside.reports.periods import Period
from ringside.reports.sentences import format_value
from ringside.reports.summary import KpiLine, Summary, Trend
from ringside.reports.templating import TEMPLATES

GOOD, BAD, NEUTRAL = colors.HexColor("#1a7f37"), colors.HexColor("#c62828"), colors.grey
STATUS_BACKGROUND = {
    "met": colors.HexColor("#e6f4ea"),
    "within_tolerance": colors.HexColor("#fff8e1"),
    "missed": colors.HexColor("#fdecea"),
}


@dataclass(frozen=True)
class ReportFiles:
    html: Path
    pdf: Path


def report_paths(layout: Layout, period: Period) -> ReportFiles:
    """reports/executive_summary/<weekly|monthly>/<label>.{html,pdf}."""
    return ReportFiles(
        *(
            layout.report_file("executive_summary", period.kind, period.label, suffix)
            for suffix in ("html", "pdf")
        )
    )


def write_reports(layout: Layout, summary: Summary) -> ReportFiles:
    files = report_paths(layout, summary.period)
    files.html.parent.mkdir(parents=True, exist_ok=True)
    files.html.write_text(render_html(summary), encoding="utf-8")
    render_pdf(summary, files.pdf)
    return files


def signed_percent(change: float | None) -> str:
    return "n/a" if change is None else f"{change:+.0%}"


def render_html(summary: Summary) -> str:
    return TEMPLATES.get_template("executive_summary.html.j2").render(
        summary=summary,
        charts=[trend_svg(trend, summary.period.days) for trend in summary.trends],
        percent=signed_percent,
        value=format_value,
    )


def render_pdf(summary: Summary, path: Path) -> None:
    styles = getSampleStyleSheet()
    body, heading = styles["BodyText"], styles["Heading2"]
    story: list[Flowable] = [
        Paragraph(summary.title, styles["Title"]),
        Paragraph(summary.subtitle, body),
        *(Paragraph(f"<i>{_escape(note)}</i>", body) for note in summary.notes),
        Paragraph("In brief", heading),
        *(Paragraph(_escape(sentence), body, bulletText="•") for sentence in summary.sentences),
        Paragraph("KPIs against target", heading),
    ]
    story.append(_kpi_table(summary.kpis) if summary.kpis else Paragraph("No KPI values.", body))
    story.append(Paragraph("Revenue and audience trends", heading))
    story.extend(_trend_drawing(trend, summary.period.days) for trend in summary.trends)
    story.append(Paragraph("Top content", heading))
    story.append(
        _table(
            ["Title", "Type", "Views"],
            [[c.title, c.content_type, f"{c.views:,}"] for c in summary.top_content],
            title_width=11 * cm,
        )
        if summary.top_content
        else Paragraph("No content views in this period.", body)
    )
    story.append(Paragraph("Trending content", heading))
    story.append(
        _table(
            ["Title", "Type", "Views", "Trending days", "Peak score"],
            [
                [
                    c.title,
                    c.content_type,
                    f"{c.views:,}",
                    str(c.trending_days),
                    f"{c.peak_trending_score or 0:.1f}",
                ]
                for c in summary.trending_content
            ],
            title_width=8 * cm,
        )
        if summary.trending_content
        else Paragraph("Nothing trended in this period.", body)
    )
    story.append(Paragraph("Anomalies", heading))
    if summary.anomalies is None:
        story.append(Paragraph("The anomaly detection model has not run yet.", body))
    elif summary.anomalies:
        story.append(
            _table(
                ["Series", "Day", "Actual", "Expected", "Direction", "Severity"],
                [
                    [
                        a.series,
                        a.day.isoformat(),
                        format_value(a.actual, a.unit),
                        format_value(a.expected, a.unit),
                        a.direction,
                        a.severity,
                    ]
                    for a in summary.anomalies
                ],
            )
        )
    else:
        story.append(Paragraph("No anomalies in this period.", body))
    story.append(Paragraph("Churn risk", heading))
    if summary.churn is None:
        story.append(Paragraph("The churn model has not scored users yet.", body))
    else:
        story.append(
            _table(
                ["Risk band", "Users"],
                [[band, f"{n:,}"] for band, n in summary.churn.users_by_band.items()],
            )
        )
    story.append(Paragraph("30-day forecast", heading))
    if summary.forecasts is None:
        story.append(Paragraph("The forecasting model has not run yet.", body))
    else:
        story.append(
            _table(
                ["Series", "Horizon", "Forecast", "80% interval"],
                [
                    [
                        f"{f.series} ({'per day' if f.per_day else 'total'})",
                        f"{f.start} to {f.end}",
                        format_value(f.value, f.unit),
                        f"{format_value(f.lower_80, f.unit)} to {format_value(f.upper_80, f.unit)}",
                    ]
                    for f in summary.forecasts
                ],
            )
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    SimpleDocTemplate(
        str(path), pagesize=A4, title=summary.title, leftMargin=2 * cm, rightMargin=2 * cm
    ).build(story)


def _escape(text: str) -> str:
    """Paragraph text is reportlab's mini-markup: escape what it would parse."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _table(
    header: list[str], rows: list[list[str | Paragraph]], title_width: float | None = None
) -> Table:
    """A figures table. With ``title_width`` the first column wraps at that width, so
    long content titles stay on the page."""
    if title_width is not None:
        style = ParagraphStyle("cell", fontName="Helvetica", fontSize=9, leading=11)
        rows = [[Paragraph(_escape(str(row[0])), style), *row[1:]] for row in rows]
    widths = None if title_width is None else [title_width, *[None] * (len(header) - 1)]
    table = Table([header, *rows], colWidths=widths, hAlign="LEFT", repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, 0), "Helvetica-Bold"),
                ("FONTSIZE", (0, 0), (-1, -1), 9),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LINEBELOW", (0, 0), (-1, -1), 0.25, colors.lightgrey),
                ("ALIGN", (1, 1), (-1, -1), "RIGHT"),
            ]
        )
    )
    return table


def _kpi_table(kpis: list[KpiLine]) -> Table:
    table = _table(
        ["KPI", "Value", "Previous", "Change", "Target", "vs target"],
        [
            [
                kpi.label,
                kpi.shown(kpi.value),
                kpi.shown(kpi.previous),
                _change_cell(kpi),
                kpi.shown(kpi.target),
                signed_percent(kpi.vs_target),
            ]
            for kpi in kpis
        ],
    )
    table.setStyle(
        TableStyle(
            [
                ("BACKGROUND", (0, row), (-1, row), STATUS_BACKGROUND[kpi.status])
                for row, kpi in enumerate(kpis, start=1)
                if kpi.status in STATUS_BACKGROUND
            ]
        )
    )
    return table


def _change_cell(kpi: KpiLine) -> Paragraph:
    """The growth with its arrow, green when it goes the metric's good way. Helvetica
    has no ▲/▼, ZapfDingbats (a standard PDF font) does: 's' and 't'."""
    colour = NEUTRAL if kpi.trend_is_good is None else (GOOD if kpi.trend_is_good else BAD)
    glyph = {"▲": "s", "▼": "t"}.get(kpi.arrow)
    arrow = f'<font name="ZapfDingbats" size="7">{glyph}</font> ' if glyph else ""
    return Paragraph(
        f'<font color="{colour.hexval()}">{arrow}{signed_percent(kpi.growth)}</font>',
        getSampleStyleSheet()["BodyText"],
    )


def _trend_drawing(trend: Trend, period_days: int) -> Drawing:
    drawing = Drawing(16 * cm, 6 * cm)
    drawing.add(
        String(
            0,
            6 * cm - 12,
            f"{trend.label}: this period (solid), previous (dashed)",
            fontName="Helvetica-Bold",
            fontSize=9,
        )
    )
    plot = LinePlot()
    plot.x, plot.y, plot.width, plot.height = 50, 20, 14 * cm, 4.3 * cm
    # Day offset within the period on x, so both periods share the axis.
    plot.data = [
        [(i, v) for i, (_, v) in enumerate(trend.current)] or [(0, 0)],
        [(i, v) for i, (_, v) in enumerate(trend.previous)] or [(0, 0)],
    ]
    plot.lines[0].strokeColor = colors.HexColor(CURRENT_COLOUR)
    plot.lines[0].strokeWidth = 1.5
    plot.lines[1].strokeColor = colors.HexColor(PREVIOUS_COLOUR)
    plot.lines[1].strokeDashArray = [4, 3]
    plot.xValueAxis.valueMin = 0
    plot.xValueAxis.valueMax = max(period_days, len(trend.previous)) - 1 or 1
    plot.xValueAxis.labelTextFormat = lambda offset: f"day {int(offset) + 1}"
    plot.yValueAxis.valueMin = 0
    plot.yValueAxis.labelTextFormat = lambda value: format_value(value, trend.unit)
    plot.xValueAxis.labels.fontSize = plot.yValueAxis.labels.fontSize = 7
    drawing.add(plot)
    return drawing
