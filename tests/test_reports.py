"""Executive summaries: sentences from hand-picked numbers, a summary built from
hand-built frames rendered to HTML and PDF (text extracted with pypdf), and the Dagster
assets materialized over a tiny hand-built DuckDB warehouse."""

from datetime import date, timedelta
from pathlib import Path

import duckdb
import pandas as pd
import pypdf
from dagster import (
    materialize,
)

from orchestration import chain
from orchestration.defs.reports import defs as report_defs
from orchestration.defs.reports import monthly_summary, weekly_summary
from ringside.core import postgres
from ringside.core.ml_store import write_output
from ringside.core.settings import Settings
from ringside.reports.collect import collect_inputs, last_data_day
from ringside.reports.periods import Period, latest_complete, period_containing
from ringside.reports.render import render_html, render_pdf, report_paths, write_reports
from ringside.reports.sentences import (
    format_value,
    is_good_change,
    kpi_sentence,
    target_status,
)
from ringside.reports.summary import ML_NOT_RUN, SummaryInputs, build_summary
from tests.postgres import throwaway_database

W47 = Period("weekly", date(2026, 11, 16), date(2026, 11, 22))

# The contract of mart_business_metrics_daily (common brief), as DuckDB DDL.
MART_COLUMNS = {
    "metric": "varchar",
    "label": "varchar",
    "category": "varchar",
    "unit": "varchar",
    "direction": "varchar",
    "grain": "varchar",
    "period_start": "date",
    "period_end": "date",
    "dimension": "varchar",
    "dimension_value": "varchar",
    "value": "double",
    "previous_period_value": "double",
    "same_period_last_week_value": "double",
    "same_period_last_month_value": "double",
    "same_period_last_year_value": "double",
    "growth_vs_previous_period": "double",
    "growth_vs_last_week": "double",
    "growth_vs_last_month": "double",
    "growth_vs_last_year": "double",
    "is_kpi": "boolean",
    "target": "double",
    "tolerance": "double",
    "alert_threshold": "double",
    "vs_target": "double",
    "is_complete": "boolean",
}
CONTENT_COLUMNS = {
    "content_id": "varchar",
    "activity_date": "date",
    "content_type": "varchar",
    "title": "varchar",
    "views": "bigint",
    "is_trending": "boolean",
    "trending_score": "double",
}
METRICS = {
    # metric: (label, category, unit, direction)
    "new_signups": ("New signups", "acquisition", "count", "up"),
    "total_revenue_usd": ("Total revenue", "revenue", "usd", "up"),
    "subscriber_churn_rate": ("Subscriber churn rate", "revenue", "ratio", "down"),
    "dau": ("Daily active users", "audience", "count", "up"),
    "wau": ("Weekly active users", "audience", "count", "up"),
}


def metric_row(
    metric: str,
    grain: str,
    start: date,
    value: float,
    previous: float | None = None,
    *,
    target: float | None = None,
    tolerance: float | None = None,
    is_kpi: bool = False,
    dimension: tuple[str, str] = ("all", "all"),
) -> dict[str, object]:
    label, category, unit, direction = METRICS[metric]
    end = period_containing("weekly" if grain == "week" else "monthly", start).end
    growth = None if not previous else (value - previous) / previous
    return {
        **dict.fromkeys(MART_COLUMNS),
        "metric": metric,
        "label": label,
        "category": category,
        "unit": unit,
        "direction": direction,
        "grain": grain,
        "period_start": start,
        "period_end": start if grain == "day" else end,
        "dimension": dimension[0],
        "dimension_value": dimension[1],
        "value": value,
        "previous_period_value": previous,
        "growth_vs_previous_period": growth,
        "is_kpi": is_kpi,
        "target": target,
        "tolerance": tolerance,
        "vs_target": None if target is None else value / target - 1,
        "is_complete": True,
    }


def days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


# --- sentences ------------------------------------------------------------------------


def signups(value: float, previous: float | None, **target: float) -> str:
    return kpi_sentence(
        "Signups",
        value,
        previous,
        unit="count",
        direction="up",
        comparison="week over week",
        **target,
    )


def churn(value: float, previous: float) -> str:
    return kpi_sentence(
        "Subscriber churn rate",
        value,
        previous,
        unit="ratio",
        direction="down",
        comparison="month over month",
        target=0.03,
        tolerance=0.10,
    )


def test_sentence_fell_and_below_target():
    # 82 vs 100: -18%; 82 / 88 - 1 = -6.8% -> 7%; no tolerance, so plainly below.
    assert (
        signups(82, 100, target=88) == "Signups fell 18% week over week to 82, below target by 7%."
    )


def test_sentence_rose_and_above_target():
    # 130 vs 100: +30%; 130 / 120 - 1 = 8.3%.
    assert signups(130, 100, target=120) == (
        "Signups rose 30% week over week to 130, above target by 8%."
    )


def test_sentence_without_target():
    assert signups(130, 100) == "Signups rose 30% week over week to 130, no target set."


def test_sentence_from_a_zero_previous_value():
    # A relative change from 0 is undefined: say what happened instead of a percentage.
    assert signups(5, 0) == "Signups rose from 0 to 5 week over week, no target set."
    assert signups(0, 0, target=10) == ("Signups stayed at 0 week over week, below target by 100%.")


def test_sentence_without_an_earlier_period_and_when_flat():
    assert signups(130, None) == (
        "Signups was 130, with no earlier period to compare, no target set."
    )
    # +0.2% rounds to nothing: flat, and 100.2 / 100 - 1 = 0.2% is on target.
    assert signups(100.2, 100, target=100) == ("Signups was flat week over week at 100, on target.")


def test_sentence_for_a_metric_where_down_is_good():
    # 3.6% vs 3.0%: +20%, 3.6 / 3.0 - 1 = +20% above target; beyond 10% tolerance.
    assert churn(0.036, 0.03) == (
        "Subscriber churn rate rose 20% month over month to 3.6%, above target by 20% "
        "(lower is better)."
    )
    # 3.2% is 0.2 points above 3.0%, within 10% of the target (0.3 points).
    assert churn(0.032, 0.032) == (
        "Subscriber churn rate was flat month over month at 3.2%, above target by 7% "
        "(within tolerance; lower is better)."
    )
    assert churn(0.027, 0.03) == (
        "Subscriber churn rate fell 10% month over month to 2.7%, below target by 10% "
        "(lower is better)."
    )


def test_target_status_and_good_changes_follow_the_direction():
    assert target_status(0.027, 0.03, 0.1, "down") == "met"
    assert target_status(0.032, 0.03, 0.1, "down") == "within_tolerance"
    assert target_status(0.036, 0.03, 0.1, "down") == "missed"
    assert target_status(230, 247, 0.1, "up") == "within_tolerance"  # 17 <= 24.7
    assert target_status(220, 247, 0.1, "up") == "missed"  # 27 > 24.7
    assert target_status(250, 247, 0.0, "up") == "met"
    assert target_status(250, None, None, "up") == "no_target"
    assert is_good_change(-0.1, "down") and not is_good_change(0.2, "down")
    assert is_good_change(0.2, "up") and not is_good_change(-0.1, "up")


def test_values_are_formatted_by_unit():
    assert format_value(1234.4, "count") == "1,234"
    assert format_value(1234.4, "usd") == "$1,234"
    assert format_value(12.5, "usd") == "$12.50"
    assert format_value(0.036, "ratio") == "3.6%"
    assert format_value(0.005, "ratio") == "0.50%"
    assert format_value(95.2, "seconds") == "95 s"


def test_periods():
    assert latest_complete("weekly", date(2026, 11, 25)) == W47
    assert latest_complete("weekly", date(2026, 11, 22)) == W47  # a Sunday ends W47
    assert latest_complete("monthly", date(2026, 11, 25)).label == "2026-10"
    assert latest_complete("monthly", date(2026, 11, 30)).label == "2026-11"
    assert W47.label == "2026-W47" and W47.previous().start == date(2026, 11, 9)
    assert period_containing("weekly", date(2025, 12, 29)).label == "2026-W01"
    february = period_containing("monthly", date(2026, 3, 1)).previous()
    assert (february.start, february.end, february.days) == (
        date(2026, 2, 1),
        date(2026, 2, 28),
        28,
    )


# --- a summary from hand-built frames ---------------------------------------------------


def hand_built_metrics() -> pd.DataFrame:
    week = W47.start
    rows = [
        metric_row("new_signups", "week", week, 230, 280, target=247, tolerance=0.1, is_kpi=True),
        metric_row(
            "total_revenue_usd",
            "week",
            week,
            10920,
            10500,
            target=10500,
            tolerance=0.1,
            is_kpi=True,
        ),
        metric_row(
            "subscriber_churn_rate",
            "week",
            week,
            0.036,
            0.03,
            target=0.03,
            tolerance=0.1,
            is_kpi=True,
        ),
        metric_row("wau", "week", week, 5000, 4800),  # not a KPI: not in the table
        # A device slice of a KPI: the summary is about the whole platform.
        metric_row(
            "new_signups", "week", week, 100, 90, is_kpi=True, dimension=("device_type", "mobile")
        ),
    ]
    for i, day in enumerate(days(date(2026, 11, 9), W47.end)):
        rows.append(metric_row("total_revenue_usd", "day", day, 1500 + 10 * i, is_kpi=True))
        rows.append(metric_row("dau", "day", day, 700 - i, is_kpi=True))
    return pd.DataFrame(rows)


def hand_built_content() -> pd.DataFrame:
    rows = [
        ("article:1", date(2026, 11, 16), "article", "Fight recap", 100, False, 1.2),
        ("article:1", date(2026, 11, 17), "article", "Fight recap", 50, False, 0.9),
        ("video:2", date(2026, 11, 18), "video", "Knockout highlights", 20, False, 1.0),
        ("video:2", date(2026, 11, 19), "video", "Knockout highlights", 300, True, 8.5),
        ("video:2", date(2026, 11, 20), "video", "Knockout highlights", 200, True, 4.0),
        ("fighter:3", date(2026, 11, 16), "fighter", None, 10, False, 1.0),
    ]
    return pd.DataFrame(rows, columns=list(CONTENT_COLUMNS))


def hand_built_ml() -> dict[str, pd.DataFrame]:
    horizon = pd.date_range("2026-11-23", periods=30, freq="D")
    forecast = pd.concat(
        [
            pd.DataFrame(
                {
                    "series": "revenue_usd",
                    "date": horizon,
                    "yhat": 100.0,
                    "lower_80": 80.0,
                    "upper_80": 120.0,
                }
            ),
            pd.DataFrame(
                {
                    "series": "active_users",
                    "date": horizon,
                    "yhat": 500.0,
                    "lower_80": 450.0,
                    "upper_80": 550.0,
                }
            ),
        ]
    ).assign(lower_95=0.0, upper_95=0.0, model="m", model_version="v", trained_at="t")
    return {
        "ml_anomalies": pd.DataFrame(
            {
                "series": ["signups", "page_views"],
                "date": pd.to_datetime(["2026-11-18", "2026-11-10"]),  # the 10th: W46
                "actual": [12.0, 9000.0],
                "expected": [40.0, 6000.0],
                "score": [-5.0, 4.0],
                "direction": ["drop", "spike"],
                "severity": ["high", "low"],
            }
        ),
        "ml_churn_scores": pd.DataFrame(
            {
                "stitched_user_id": [f"u{i}" for i in range(10)],
                "probability": [0.9] * 2 + [0.5] * 3 + [0.1] * 5,
                "risk_band": ["high"] * 2 + ["medium"] * 3 + ["low"] * 5,
                "as_of": pd.Timestamp("2026-11-22"),
            }
        ),
        "ml_forecasts": forecast,
    }


def full_summary():
    ml = hand_built_ml()
    return build_summary(
        W47,
        SummaryInputs(
            metrics=hand_built_metrics(),
            content=hand_built_content(),
            anomalies=ml["ml_anomalies"],
            churn_scores=ml["ml_churn_scores"],
            forecasts=ml["ml_forecasts"],
        ),
    )


EXPECTED_SENTENCES = [
    # Sorted by category then metric: acquisition, then revenue (churn before total).
    "New signups fell 18% week over week to 230, below target by 7% (within tolerance).",
    "Subscriber churn rate rose 20% week over week to 3.6%, above target by 20% (lower is better).",
    "Total revenue rose 4% week over week to $10,920, above target by 4%.",
    "1 anomaly in the period (1 of high severity); the first: Signups dropped on "
    "2026-11-18: 12 against about 40 expected (high severity).",
    "2 of 10 recently active users (20%) are at high churn risk.",
    # 30 days x $100 = $3,000; bounds 30 x $80 and 30 x $120.
    "Revenue is forecast at $3,000 over the next 30 days (80% interval $2,400 to $3,600).",
]


def test_summary_from_hand_built_frames():
    summary = full_summary()
    assert [k.metric for k in summary.kpis] == [
        "new_signups",
        "subscriber_churn_rate",
        "total_revenue_usd",
    ]
    assert summary.sentences == EXPECTED_SENTENCES
    assert summary.notes == []
    signups_kpi, churn_kpi, revenue_kpi = summary.kpis
    assert (signups_kpi.arrow, signups_kpi.trend_is_good, signups_kpi.status) == (
        "▼",
        False,
        "within_tolerance",
    )
    assert (churn_kpi.arrow, churn_kpi.trend_is_good, churn_kpi.status) == ("▲", False, "missed")
    assert (revenue_kpi.arrow, revenue_kpi.trend_is_good, revenue_kpi.status) == (
        "▲",
        True,
        "met",
    )
    # Daily trends: this week's 7 days and last week's 7.
    revenue_trend, dau_trend = summary.trends
    assert revenue_trend.label == "Total revenue" and dau_trend.label == "Daily active users"
    assert [v for _, v in revenue_trend.previous] == [1500 + 10 * i for i in range(7)]
    assert [v for _, v in revenue_trend.current] == [1570 + 10 * i for i in range(7)]
    # Views summed per item over the week: 20 + 300 + 200, 100 + 50, 10.
    assert [(c.title, c.views) for c in summary.top_content] == [
        ("Knockout highlights", 520),
        ("Fight recap", 150),
        ("fighter:3", 10),  # not in the catalog: its id stands for the title
    ]
    [trending] = summary.trending_content
    assert (trending.title, trending.trending_days, trending.peak_trending_score) == (
        "Knockout highlights",
        2,
        8.5,
    )
    assert summary.churn is not None
    assert summary.churn.users_by_band == {"high": 2, "medium": 3, "low": 5}
    assert summary.forecasts is not None
    revenue, active = summary.forecasts  # in FORECAST_SERIES order
    assert (revenue.value, revenue.lower_80, revenue.upper_80, revenue.per_day) == (
        3000,
        2400,
        3600,
        False,
    )
    assert (active.value, active.lower_80, active.upper_80, active.per_day) == (
        500,
        450,
        550,
        True,
    )


def test_summary_renders_to_html_with_inline_svg_charts():
    html = render_html(full_summary())
    for text in ["New signups", "Subscriber churn rate", "Total revenue", "230", "$10,920"]:
        assert text in html
    assert "3.6%" in html and "$10,500" in html  # churn value, revenue target
    assert html.count("<svg") == 2 and html.count("<polyline") == 4
    assert "▼ -18%" in html and "▲ +20%" in html and "▲ +4%" in html
    assert "Knockout highlights" in html and "$3,000" in html
    assert "<script" not in html and "src=" not in html  # nothing fetched
    for sentence in EXPECTED_SENTENCES:
        assert sentence in html


def test_summary_renders_to_a_pdf_with_the_kpi_names_and_values(tmp_path: Path):
    path = tmp_path / "summary.pdf"
    render_pdf(full_summary(), path)
    reader = pypdf.PdfReader(path)
    assert len(reader.pages) >= 1
    text = " ".join(" ".join(page.extract_text().split()) for page in reader.pages)
    for kpi, value, target in [
        ("New signups", "230", "247"),
        ("Total revenue", "$10,920", "$10,500"),
        ("Subscriber churn rate", "3.6%", "3.0%"),
    ]:
        assert f"{kpi} {value}" in text and target in text
    assert "New signups fell 18% week over week to 230" in text
    assert "Knockout highlights" in text and "$2,400 to $3,600" in text


def test_missing_inputs_give_a_summary_that_says_so(tmp_path: Path):
    empty = build_summary(
        W47,
        SummaryInputs(
            metrics=pd.DataFrame(columns=list(MART_COLUMNS)),
            content=pd.DataFrame(columns=list(CONTENT_COLUMNS)),
        ),
    )
    assert empty.kpis == [] and empty.sentences == [] and empty.trends == []
    assert empty.notes == [
        "The warehouse has no business metrics for 2026-W47.",
        ML_NOT_RUN,
        "No content was viewed in 2026-W47.",
    ]
    files = write_reports(Settings(home=tmp_path).layout, empty)
    assert ML_NOT_RUN in files.html.read_text()
    text = " ".join(pypdf.PdfReader(files.pdf).pages[0].extract_text().split())
    assert "no business metrics for 2026-W47" in text and "have not run yet" in text

    untargeted = hand_built_metrics().assign(target=None, vs_target=None)
    no_targets = build_summary(W47, SummaryInputs(metrics=untargeted, content=hand_built_content()))
    assert "No KPI has a weekly target." in no_targets.notes
    assert no_targets.sentences[0] == "New signups fell 18% week over week to 230, no target set."


# --- the Dagster assets over a tiny DuckDB warehouse ----------------------------------


def warehouse_tables() -> list[tuple[str, dict[str, str], list[tuple[object, ...]]]]:
    """The two marts the summaries read, hand-built: (table, columns, rows)."""
    metrics = [
        metric_row(
            "new_signups", "week", W47.start, 230, 280, target=247, tolerance=0.1, is_kpi=True
        ),
        metric_row(
            "new_signups",
            "month",
            date(2026, 10, 1),
            1100,
            1000,
            target=1200,
            tolerance=0.1,
            is_kpi=True,
        ),
        # The newest day is Wednesday 25 November: W47 and October are the latest
        # complete periods.
        *(
            metric_row("dau", "day", day, 700)
            for day in days(date(2026, 10, 1), date(2026, 11, 25))
        ),
    ]
    content = [
        ("video:2", date(2026, 11, 17), "video", "Knockout highlights", 42, False, 1.0),
        ("article:1", date(2026, 10, 5), "article", "October preview", 7, False, 1.0),
    ]
    return [
        (
            "mart_business_metrics_daily",
            MART_COLUMNS,
            [tuple(row[name] for name in MART_COLUMNS) for row in metrics],
        ),
        ("mart_content_performance_daily", CONTENT_COLUMNS, content),
    ]


def write_warehouse(settings: Settings) -> None:
    """The hand-built marts where read_frame reads DuckDB (the served database)."""
    path = settings.layout.serving_path
    path.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(path)) as con:
        for table, columns, rows in warehouse_tables():
            ddl = ", ".join(f"{name} {kind}" for name, kind in columns.items())
            con.execute(f"create table {table} ({ddl})")
            marks = ", ".join("?" for _ in columns)
            con.executemany(f"insert into {table} values ({marks})", rows)


def materialized_summaries(settings: Settings) -> dict[str, str]:
    result = materialize([weekly_summary, monthly_summary])
    assert result.success
    return {
        event.asset_key.path[-1]: event.materialization.metadata["summary"].value
        for event in result.get_asset_materialization_events()
    }


def test_assets_write_the_latest_complete_periods(settings: Settings):
    write_warehouse(settings)
    summaries = materialized_summaries(settings)

    weekly = report_paths(settings.layout, W47)
    monthly = report_paths(settings.layout, latest_complete("monthly", date(2026, 11, 25)))
    base = settings.layout.reports_dir / "executive_summary"
    assert (weekly.html, weekly.pdf) == (
        base / "weekly/2026-W47.html",
        base / "weekly/2026-W47.pdf",
    )
    assert monthly.pdf == base / "monthly/2026-10.pdf"
    for path in (weekly.html, weekly.pdf, monthly.html, monthly.pdf):
        assert path.exists() and path.stat().st_size > 0

    assert summaries["executive_summary_weekly"] == (
        "- New signups fell 18% week over week to 230, below target by 7% (within tolerance).\n"
        f"- {ML_NOT_RUN}"
    )
    # 1,100 vs 1,000: +10%; 1,100 / 1,200 - 1 = -8.3%, within 10% of the target.
    assert summaries["executive_summary_monthly"] == (
        "- New signups rose 10% month over month to 1,100, below target by 8% "
        f"(within tolerance).\n- {ML_NOT_RUN}"
    )
    assert "Knockout highlights" in weekly.html.read_text()
    assert "October preview" in monthly.html.read_text()
    pdf_text = " ".join(pypdf.PdfReader(weekly.pdf).pages[0].extract_text().split())
    assert "New signups 230" in pdf_text and ML_NOT_RUN in pdf_text

    # Once the models have run, their outputs replace the note.
    for name, frame in hand_built_ml().items():
        write_output(settings.layout, name, frame)
    summaries = materialized_summaries(settings)
    assert ML_NOT_RUN not in summaries["executive_summary_weekly"]
    assert (
        "2 of 10 recently active users (20%) are at high churn risk."
        in (summaries["executive_summary_weekly"])
    )
    assert "Signups dropped on 2026-11-18" in weekly.html.read_text()


def test_definitions_run_the_summaries_after_scoring_and_on_mondays():
    job = report_defs.resolve_job_def("executive_summaries")
    assert {key.to_user_string() for key in job.asset_layer.executable_asset_keys} == {
        "reports/executive_summary_weekly",
        "reports/executive_summary_monthly",
    }
    [schedule] = report_defs.schedules
    assert schedule.cron_schedule == "0 6 * * 1" and schedule.execution_timezone == "UTC"
    # The job chain (orchestration/chain.py) starts them after every scoring run.
    [sensor] = [s for s in chain.SENSORS if s.name == "summarize_after_scoring"]
    assert sensor.job_name == "executive_summaries"


def test_summaries_read_the_marts_on_postgresql(tmp_path: Path):
    """The same hand-built marts in PostgreSQL give the same weekly summary."""
    types = {"varchar": "text", "double": "double precision"}
    with throwaway_database() as database:
        settings = Settings(home=tmp_path, warehouse="postgres", pg_database=database)
        con = postgres.connect(settings)
        try:
            with con, con.cursor() as cur:
                cur.execute(f"create schema {settings.pg_schema}")
                for table, columns, rows in warehouse_tables():
                    ddl = ", ".join(f"{n} {types.get(k, k)}" for n, k in columns.items())
                    cur.execute(f"create table {settings.pg_schema}.{table} ({ddl})")
                    marks = ", ".join("%s" for _ in columns)
                    cur.executemany(
                        f"insert into {settings.pg_schema}.{table} values ({marks})", rows
                    )
        finally:
            con.close()
        # Served as a build serves them: readers (the read-only role) may select.
        postgres.grant_reader(settings)
        assert last_data_day(settings) == date(2026, 11, 25)
        summary = build_summary(W47, collect_inputs(settings, W47))
    assert summary.sentences == [
        "New signups fell 18% week over week to 230, below target by 7% (within tolerance)."
    ]
    assert summary.notes == [ML_NOT_RUN]
    assert [(c.title, c.views) for c in summary.top_content] == [("Knockout highlights", 42)]
    assert [v for _, v in summary.trends[0].current] == [700.0] * 7
