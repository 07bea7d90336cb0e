"""The executive summary of one period, built from frames without any I/O.

:func:`build_summary` takes the rows :mod:`ringside.reports.collect` read (or frames a
test built by hand) and returns a :class:`Summary` that the renderers only lay out.
One module because it is one thing: the Summary's sections, as dataclasses, and the
helper that fills each section from the same frames, which build_summary calls in turn.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import pandas as pd

from ringside.reports.periods import Period
from ringside.reports.sentences import (
    Direction,
    Unit,
    anomaly_sentence,
    format_value,
    growth,
    is_good_change,
    kpi_sentence,
    series_label,
    series_unit,
    target_status,
)

# The daily series drawn as trend charts: this period against the one before.
TREND_METRICS = ("total_revenue_usd", "dau")
TOP_CONTENT = 10
TRENDING_CONTENT = 5
SEVERITY_ORDER = {"high": 0, "medium": 1, "low": 2}
RISK_BANDS = ("high", "medium", "low")
# The forecast series in report order. A sum of daily active users over 30 days means
# nothing, so that series is summarised as a daily mean and the others as totals.
FORECAST_SERIES = ("revenue_usd", "active_users", "signups", "page_views")
DAILY_MEAN_SERIES = frozenset({"active_users"})
ML_NOT_RUN = "The ML models have not run yet: no anomalies, churn risk or forecast."


@dataclass(frozen=True)
class SummaryInputs:
    """What a summary is built from. ``metrics``: rows of mart_business_metrics_daily
    (dimension 'all', day grain and the period's grain, this period and the previous
    one); ``content``: mart_content_performance_daily rows of the period; the ML
    outputs are None when their model has not run."""

    metrics: pd.DataFrame
    content: pd.DataFrame
    anomalies: pd.DataFrame | None = None
    churn_scores: pd.DataFrame | None = None
    forecasts: pd.DataFrame | None = None


@dataclass(frozen=True)
class KpiLine:
    metric: str
    label: str
    unit: Unit
    direction: Direction
    value: float | None
    previous: float | None
    target: float | None
    tolerance: float | None
    sentence: str

    @property
    def growth(self) -> float | None:
        return None if self.value is None else growth(self.value, self.previous)

    @property
    def vs_target(self) -> float | None:
        if self.value is None or not self.target:
            return None
        return self.value / self.target - 1

    @property
    def arrow(self) -> str:
        change = self.growth
        return "" if change is None or change == 0 else ("▲" if change > 0 else "▼")

    @property
    def trend_is_good(self) -> bool | None:
        change = self.growth
        return None if not change else is_good_change(change, self.direction)

    @property
    def status(self) -> str:
        if self.value is None:
            return "no_value"
        return target_status(self.value, self.target, self.tolerance, self.direction)

    def shown(self, value: float | None) -> str:
        return "n/a" if value is None else format_value(value, self.unit)


@dataclass(frozen=True)
class Trend:
    label: str
    unit: Unit
    current: list[tuple[date, float]]
    previous: list[tuple[date, float]]


@dataclass(frozen=True)
class ContentLine:
    title: str
    content_type: str
    views: int
    trending_days: int = 0
    peak_trending_score: float | None = None


@dataclass(frozen=True)
class AnomalyLine:
    series: str
    unit: Unit
    day: date
    actual: float
    expected: float
    direction: str
    severity: str
    sentence: str


@dataclass(frozen=True)
class ChurnSummary:
    as_of: date | None
    users_by_band: dict[str, int]

    @property
    def users(self) -> int:
        return sum(self.users_by_band.values())


@dataclass(frozen=True)
class ForecastLine:
    series: str
    unit: Unit
    per_day: bool  # a daily mean rather than a total over the horizon
    start: date
    end: date
    value: float
    lower_80: float
    upper_80: float


@dataclass(frozen=True)
class Summary:
    period: Period
    kpis: list[KpiLine]
    trends: list[Trend]
    top_content: list[ContentLine]
    trending_content: list[ContentLine]
    anomalies: list[AnomalyLine] | None  # None: the model has not run
    churn: ChurnSummary | None
    forecasts: list[ForecastLine] | None
    sentences: list[str]
    notes: list[str] = field(default_factory=list)

    @property
    def title(self) -> str:
        kind = "Weekly" if self.period.kind == "weekly" else "Monthly"
        return f"{kind} executive summary {self.period.label}"

    @property
    def subtitle(self) -> str:
        return f"{self.period.start.isoformat()} to {self.period.end.isoformat()}"


def build_summary(period: Period, inputs: SummaryInputs) -> Summary:
    notes: list[str] = []
    metrics = _with_dates(inputs.metrics, "period_start")
    in_period = metrics[
        (metrics["grain"] == period.grain)
        & (metrics["dimension"] == "all")
        & (metrics["period_start"] == period.start)
    ]
    if in_period.empty:
        notes.append(f"The warehouse has no business metrics for {period.label}.")
    kpis = _kpis(period, in_period[in_period["is_kpi"].astype(bool)])
    if not in_period.empty and not kpis:
        notes.append("No metric is marked as a KPI.")
    elif kpis and all(kpi.target is None for kpi in kpis):
        notes.append(f"No KPI has a {period.grain}ly target.")

    anomalies = _anomalies(period, inputs.anomalies)
    churn = _churn(inputs.churn_scores)
    forecasts = _forecasts(inputs.forecasts)
    if anomalies is None and churn is None and forecasts is None:
        notes.append(ML_NOT_RUN)
    else:
        for missing, what in (
            (anomalies is None, "anomaly detection"),
            (churn is None, "churn scoring"),
            (forecasts is None, "forecasting"),
        ):
            if missing:
                notes.append(f"The {what} model has not run yet.")

    top, trending = _content(inputs.content)
    if not top:
        notes.append(f"No content was viewed in {period.label}.")
    return Summary(
        period=period,
        kpis=kpis,
        trends=_trends(period, metrics),
        top_content=top,
        trending_content=trending,
        anomalies=anomalies,
        churn=churn,
        forecasts=forecasts,
        sentences=[
            *(kpi.sentence for kpi in kpis),
            *_ml_sentences(anomalies, churn, forecasts),
        ],
        notes=notes,
    )


def _with_dates(frame: pd.DataFrame, *columns: str) -> pd.DataFrame:
    """Date columns as datetime.date whichever engine (or test) produced them."""
    frame = frame.copy()
    for column in columns:
        frame[column] = pd.to_datetime(frame[column]).dt.date
    return frame


def _number(value: object) -> float | None:
    return None if value is None or pd.isna(value) else float(value)  # type: ignore[arg-type]


def _kpis(period: Period, rows: pd.DataFrame) -> list[KpiLine]:
    lines = []
    for row in rows.sort_values(["category", "metric"]).itertuples(index=False):
        value, previous = _number(row.value), _number(row.previous_period_value)
        target, tolerance = _number(row.target), _number(row.tolerance)
        lines.append(
            KpiLine(
                metric=row.metric,
                label=row.label,
                unit=row.unit,
                direction=row.direction,
                value=value,
                previous=previous,
                target=target,
                tolerance=tolerance,
                sentence=kpi_sentence(
                    row.label,
                    value,
                    previous,
                    unit=row.unit,
                    direction=row.direction,
                    comparison=period.comparison,
                    target=target,
                    tolerance=tolerance,
                ),
            )
        )
    return lines


def _trends(period: Period, metrics: pd.DataFrame) -> list[Trend]:
    daily = metrics[(metrics["grain"] == "day") & (metrics["dimension"] == "all")]
    previous = period.previous()
    trends = []
    for metric in TREND_METRICS:
        rows = daily[daily["metric"] == metric].sort_values("period_start")
        if rows.empty:
            continue

        def points(start: date, end: date, rows: pd.DataFrame = rows) -> list[tuple[date, float]]:
            span = rows[(rows["period_start"] >= start) & (rows["period_start"] <= end)]
            return [
                (day, float(value))
                for day, value in zip(span["period_start"], span["value"], strict=True)
                if not pd.isna(value)
            ]

        first = rows.iloc[0]
        trends.append(
            Trend(
                label=first["label"],
                unit=first["unit"],
                current=points(period.start, period.end),
                previous=points(previous.start, previous.end),
            )
        )
    return trends


def _content(content: pd.DataFrame) -> tuple[list[ContentLine], list[ContentLine]]:
    if content.empty:
        return [], []
    content = content.assign(title=content["title"].fillna(content["content_id"]))
    per_item = content.groupby("content_id").agg(
        title=("title", "first"),
        content_type=("content_type", "first"),
        views=("views", "sum"),
    )
    top = per_item.sort_values(["views", "title"], ascending=[False, True]).head(TOP_CONTENT)
    trending_rows = content[content["is_trending"].astype(bool)]
    trending = (
        trending_rows.groupby("content_id")
        .agg(
            days=("activity_date", "nunique"),
            peak=("trending_score", "max"),
        )
        .join(per_item)
        .sort_values(["peak", "title"], ascending=[False, True])
        .head(TRENDING_CONTENT)
    )
    return (
        [
            ContentLine(row.title, row.content_type, int(row.views))
            for row in top.itertuples(index=False)
        ],
        [
            ContentLine(row.title, row.content_type, int(row.views), int(row.days), row.peak)
            for row in trending.itertuples(index=False)
        ],
    )


def _anomalies(period: Period, frame: pd.DataFrame | None) -> list[AnomalyLine] | None:
    if frame is None:
        return None
    frame = _with_dates(frame, "date")
    frame = frame[(frame["date"] >= period.start) & (frame["date"] <= period.end)]
    frame = frame.assign(rank=frame["severity"].map(SEVERITY_ORDER)).sort_values(
        ["rank", "date", "series"]
    )
    return [
        AnomalyLine(
            series=series_label(row.series),
            unit=series_unit(row.series),
            day=row.date,
            actual=float(row.actual),
            expected=float(row.expected),
            direction=row.direction,
            severity=row.severity,
            sentence=anomaly_sentence(
                row.series,
                row.date.isoformat(),
                row.actual,
                row.expected,
                row.direction,
                row.severity,
            ),
        )
        for row in frame.itertuples(index=False)
    ]


def _churn(frame: pd.DataFrame | None) -> ChurnSummary | None:
    if frame is None:
        return None
    counts = frame["risk_band"].value_counts()
    as_of = pd.to_datetime(frame["as_of"]).max().date() if "as_of" in frame and len(frame) else None
    return ChurnSummary(as_of, {band: int(counts.get(band, 0)) for band in RISK_BANDS})


def _forecasts(frame: pd.DataFrame | None) -> list[ForecastLine] | None:
    """Each series over the forecast horizon. The 80% bounds are the sums of the daily
    bounds: the interval of the total if daily errors move together, so on the wide side
    (independent errors would give a narrower one)."""
    if frame is None:
        return None
    frame = _with_dates(frame, "date")
    lines = []
    for series in FORECAST_SERIES:
        rows = frame[frame["series"] == series]
        if rows.empty:
            continue
        per_day = series in DAILY_MEAN_SERIES
        scale = 1 / len(rows) if per_day else 1.0
        lines.append(
            ForecastLine(
                series=series_label(series),
                unit=series_unit(series),
                per_day=per_day,
                start=rows["date"].min(),
                end=rows["date"].max(),
                value=float(rows["yhat"].sum() * scale),
                lower_80=float(rows["lower_80"].sum() * scale),
                upper_80=float(rows["upper_80"].sum() * scale),
            )
        )
    return lines


def _ml_sentences(
    anomalies: list[AnomalyLine] | None,
    churn: ChurnSummary | None,
    forecasts: list[ForecastLine] | None,
) -> list[str]:
    sentences = []
    if anomalies is not None:
        if anomalies:
            high = sum(a.severity == "high" for a in anomalies)
            sentences.append(
                f"{len(anomalies)} anomal{'y' if len(anomalies) == 1 else 'ies'} in the period"
                f" ({high} of high severity); the first: {anomalies[0].sentence}"
            )
        else:
            sentences.append("No anomalies were detected in the period.")
    if churn is not None and churn.users:
        high = churn.users_by_band["high"]
        sentences.append(
            f"{high:,} of {churn.users:,} recently active users ({high / churn.users:.0%}) "
            "are at high churn risk."
        )
    for line in forecasts or []:
        if line.series == series_label("revenue_usd"):
            days = (line.end - line.start).days + 1
            sentences.append(
                f"Revenue is forecast at {format_value(line.value, 'usd')} over the next "
                f"{days} days (80% interval {format_value(line.lower_80, 'usd')} to "
                f"{format_value(line.upper_80, 'usd')})."
            )
    return sentences
