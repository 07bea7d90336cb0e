"""The daily-series models as Dagster assets: the 30-day forecasts and the anomaly flags,
both over the daily KPIs of ``mart_ml_kpis_daily`` with the fight-night calendar."""

from collections.abc import Iterator
from typing import Any

import pandas as pd
from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    Output,
    asset,
)

from ml_assets import anomalies, forecasting, inputs
from ml_assets.calendar import EVENT_COLUMNS, fight_night_calendar
from ml_assets.errors import NotEnoughData
from orchestration.defs.ml.common import (
    ACCURACY_THRESHOLD,
    GROUP,
    now,
    skip,
    table,
    warehouse_key,
)
from ringside.core.ml_store import ModelRecord, new_version, save_model, write_output
from ringside.core.settings import get_settings

FORECAST_SERIES = ("active_users", "signups", "page_views", "revenue_usd")
# What inputs.daily_kpis and inputs.fight_nights read.
DAILY_INPUTS = [warehouse_key(model) for model in ("mart_ml_kpis_daily", "mart_ml_fight_nights")]


@asset(
    key=AssetKey(["ml", "forecasts"]),
    group_name=GROUP,
    deps=DAILY_INPUTS,
    output_required=False,
    kinds={"statsmodels", "parquet"},
    check_specs=[AssetCheckSpec("forecast_accuracy", asset=AssetKey(["ml", "forecasts"]))],
    description="30-day forecasts (80%/95% intervals) of daily active users, signups, page "
    "views and revenue, validated by a rolling-origin backtest against seasonal naive.",
)
def forecasts(context: AssetExecutionContext) -> Iterator[Any]:
    settings = get_settings()
    daily = inputs.daily_kpis(settings)
    if len(daily) < forecasting.MIN_POINTS:
        yield from skip(
            context,
            f"{len(daily)} days of data; forecasts need at least {forecasting.MIN_POINTS}",
            ("forecast_accuracy",),
        )
        return
    version, trained_at = new_version(), now()
    fight_nights = fight_night_calendar(inputs.fight_nights(settings))
    frames, figures = [], []
    for series in FORECAST_SERIES:
        history = daily[series].astype(float)
        metrics = forecasting.backtest(history, regressor=fight_nights)
        frame = forecasting.forecast_series(history, regressor=fight_nights)
        frame.insert(0, "series", series)
        frames.append(frame)
        figures.append({"series": series, **{k: round(v, 4) for k, v in metrics.items()}})
    result = pd.concat(frames, ignore_index=True).assign(
        model=forecasting.MODEL_NAME, model_version=version, trained_at=trained_at
    )
    write_output(settings.layout, "ml_forecasts", result)
    write_output(settings.layout, "ml_forecast_metrics", pd.DataFrame(figures))
    save_model(
        settings.layout,
        ModelRecord(
            name="forecasts",
            version=version,
            trained_at=trained_at,
            training_window=[str(daily.index.min().date()), str(daily.index.max().date())],
            features=[*FORECAST_SERIES, *(f"{name} (regressor)" for name in EVENT_COLUMNS)],
            metrics={row["series"]: row for row in figures},
        ),
    )
    yield Output(
        None,
        metadata={
            "rows": len(result),
            "validation": table(figures),
            "fight_nights_in_horizon": int(
                fight_nights.reindex(result["date"].drop_duplicates())["fight_night"].sum()
            ),
        },
    )
    failing = [
        row["series"]
        for row in figures
        if row["mase"] >= row["baseline_mase"] or 1 - row["mape"] < ACCURACY_THRESHOLD
    ]
    yield AssetCheckResult(
        check_name="forecast_accuracy",
        passed=not failing,
        severity=AssetCheckSeverity.ERROR,
        metadata={
            "below_baseline_or_threshold": ", ".join(failing) or "none",
            "threshold_1_minus_mape": ACCURACY_THRESHOLD,
        },
    )


@asset(
    key=AssetKey(["ml", "anomalies"]),
    group_name=GROUP,
    deps=DAILY_INPUTS,
    output_required=False,
    kinds={"statsmodels", "parquet"},
    description="Anomalies on every daily KPI series (active users, signups, page views, "
    "revenue, invalid-event rate, views per content type): expected value, robust score, "
    "direction, severity. Fight nights are compared with other fight nights.",
)
def anomaly_flags(context: AssetExecutionContext) -> Iterator[Any]:
    settings = get_settings()
    daily = inputs.daily_kpis(settings)
    calendar = fight_night_calendar(inputs.fight_nights(settings))
    found, skipped = [], []
    for series in daily.columns:
        try:
            found.append(
                anomalies.detect_anomalies(
                    daily[series].astype(float), name=series, calendar=calendar
                )
            )
        except NotEnoughData as exc:
            skipped.append(f"{series}: {exc}")
    if not found:
        yield from skip(context, "; ".join(skipped) or "no series")
        return
    result = pd.concat(found, ignore_index=True)
    write_output(settings.layout, "ml_anomalies", result)
    counts = result.groupby(["series", "severity"]).size().reset_index(name="anomalies")
    yield Output(
        None,
        metadata={
            "rows": len(result),
            "by_series": table(counts.to_dict("records")),
            "skipped_series": "; ".join(skipped) or "none",
        },
    )
