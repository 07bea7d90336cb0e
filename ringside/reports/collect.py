"""Reading what a summary needs: the business and content marts through
``ringside.core.warehouse.read_frame`` (DuckDB or PostgreSQL) and the ML output tables."""

from __future__ import annotations

from datetime import date

import pandas as pd

from ringside.core.ml_store import read_output
from ringside.core.settings import Settings
from ringside.core.warehouse import read_frame
from ringside.reports.periods import Period
from ringside.reports.summary import SummaryInputs

ML_TABLES = ("ml_anomalies", "ml_churn_scores", "ml_forecasts")


def last_data_day(settings: Settings) -> date | None:
    """The newest day of the business mart (None when it is empty)."""
    frame = read_frame(
        settings,
        "select max(period_start) as last_day from mart_business_metrics_daily where grain = 'day'",
    )
    last = frame["last_day"].iloc[0]
    return None if pd.isna(last) else pd.Timestamp(last).date()


def collect_inputs(settings: Settings, period: Period) -> SummaryInputs:
    previous = period.previous()
    # Dates are formatted from date objects, never user input.
    metrics = read_frame(
        settings,
        "select * from mart_business_metrics_daily where dimension = 'all' "
        f"and grain in ('day', '{period.grain}') "
        f"and period_start between date '{previous.start}' and date '{period.end}'",
    )
    content = read_frame(
        settings,
        "select content_id, activity_date, content_type, title, views, is_trending, "
        "trending_score from mart_content_performance_daily "
        f"where activity_date between date '{period.start}' and date '{period.end}'",
    )
    ml = {
        name: read_output(settings.layout, name)
        if settings.layout.ml_table_path(name).exists()
        else None
        for name in ML_TABLES
    }
    return SummaryInputs(
        metrics=metrics,
        content=content,
        anomalies=ml["ml_anomalies"],
        churn_scores=ml["ml_churn_scores"],
        forecasts=ml["ml_forecasts"],
    )
