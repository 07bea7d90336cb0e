"""ML models as Dagster assets downstream of the marts.

Two jobs: `ml_scoring` (forecasts, anomalies, churn scores, recommendations) runs after
a successful warehouse build when the last scoring is RINGSIDE_SCORING_INTERVAL_MINUTES
old (the sensor `after_build`, and `ringside build`), and
`ml_training` (the churn model and the user segments) runs weekly — the retraining
interval is 7 days. Every validation figure is asset metadata; asset checks fail when a
model is below its baseline or below the accuracy threshold (0.75: ROC AUC for churn,
1 - MAPE for forecasts). With too little data an asset logs why and materializes
nothing instead of training on noise.
"""

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd
from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    AssetSelection,
    DagsterInstance,
    DagsterRunStatus,
    DefaultScheduleStatus,
    Definitions,
    MetadataValue,
    Output,
    RunsFilter,
    ScheduleDefinition,
    asset,
    define_asset_job,
)
from dagster._core.storage.dagster_run import IN_PROGRESS_RUN_STATUSES
from threadpoolctl import threadpool_limits

from ml_assets import (
    anomalies,
    churn,
    content_insights,
    forecasting,
    inputs,
    recommendations,
    segments,
)
from ml_assets.calendar import EVENT_COLUMNS, fight_night_calendar
from ml_assets.errors import NotEnoughData
from ringside.core.layout import Layout
from ringside.core.ml_store import (
    ModelRecord,
    latest_record,
    load_model,
    new_version,
    save_model,
    write_output,
)
from ringside.core.settings import get_settings

ACCURACY_THRESHOLD = 0.75
RETRAINING_INTERVAL = timedelta(days=7)
FORECAST_SERIES = ("active_users", "signups", "page_views", "revenue_usd")
GROUP = "ml"


def warehouse_key(model: str) -> AssetKey:
    return AssetKey(["warehouse", model])


# The marts each reader of ml_assets.inputs reads. The forecasts and the anomalies:
# daily_kpis, fight_nights.
DAILY_INPUTS = [warehouse_key(model) for model in ("mart_ml_kpis_daily", "mart_ml_fight_nights")]
# The churn model and its scores: event_date_range, churn_activity, users, engagement.
CHURN_INPUTS = [
    warehouse_key(model)
    for model in (
        "mart_overview_daily",
        "mart_ml_user_activity_daily",
        "mart_ml_user_long_sessions",
        "dim_users",
        "mart_user_engagement_daily",
    )
]
# The user segments: user_behaviour, users.
SEGMENT_INPUTS = [warehouse_key(model) for model in ("mart_ml_user_behaviour", "dim_users")]
# The recommendations and content insights: co_viewing, holdout_cases, content_views,
# content, event_date_range.
RECOMMENDATION_INPUTS = [
    warehouse_key(model)
    for model in (
        "mart_ml_co_viewing",
        "mart_ml_holdout_cases",
        "mart_ml_content_views_hourly",
        "mart_ml_content_items",
        "dim_content",
        "mart_overview_daily",
    )
]


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _table(rows: list[dict[str, Any]]) -> MetadataValue:
    """A small figures table for the Dagster UI."""
    return MetadataValue.json(json.loads(json.dumps(rows, default=str)))


def _skip(
    context: AssetExecutionContext, reason: str, checks: tuple[str, ...] = ()
) -> Iterator[AssetCheckResult]:
    """Materialize nothing and say why; the asset's checks report the model as missing
    (a warning: there is no model to be below its baseline)."""
    context.log.warning(f"skipped: {reason}")
    for name in checks:
        yield AssetCheckResult(
            check_name=name,
            passed=False,
            severity=AssetCheckSeverity.WARN,
            metadata={"skipped": reason},
        )


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
        yield from _skip(
            context,
            f"{len(daily)} days of data; forecasts need at least {forecasting.MIN_POINTS}",
            ("forecast_accuracy",),
        )
        return
    version, trained_at = new_version(), _now()
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
            "validation": _table(figures),
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
        yield from _skip(context, "; ".join(skipped) or "no series")
        return
    result = pd.concat(found, ignore_index=True)
    write_output(settings.layout, "ml_anomalies", result)
    counts = result.groupby(["series", "severity"]).size().reset_index(name="anomalies")
    yield Output(
        None,
        metadata={
            "rows": len(result),
            "by_series": _table(counts.to_dict("records")),
            "skipped_series": "; ".join(skipped) or "none",
        },
    )


@asset(
    key=AssetKey(["ml", "churn_model"]),
    group_name=GROUP,
    deps=CHURN_INPUTS,
    output_required=False,
    kinds={"scikitlearn"},
    check_specs=[AssetCheckSpec("churn_beats_baseline", asset=AssetKey(["ml", "churn_model"]))],
    description="Calibrated gradient boosting churn model (label: active in the 28 days "
    "before a cutoff, no activity in the 30 after), trained on earlier cutoffs and "
    "validated on a later one against a recency-only baseline.",
)
def churn_model(context: AssetExecutionContext) -> Iterator[Any]:
    settings = get_settings()
    dates = inputs.event_date_range(settings)
    if dates is None:
        yield from _skip(context, "no events", ("churn_beats_baseline",))
        return
    first, last = dates
    train_cutoffs, holdout = churn.choose_cutoffs(first, last)
    try:
        # One thread: OpenMP gradient boosting oversubscribes shared cores 5-10x.
        with threadpool_limits(1):
            model = churn.train(
                inputs.churn_activity(settings),
                inputs.users(settings),
                inputs.engagement(settings),
                holdout_cutoff=holdout,
                train_cutoffs=train_cutoffs,
            )
    except NotEnoughData as exc:
        yield from _skip(context, str(exc), ("churn_beats_baseline",))
        return
    metrics = {k: v for k, v in model.metrics.items() if k != "calibration"}
    save_model(
        settings.layout,
        ModelRecord(
            name="churn",
            version=model.version,
            trained_at=_now(),
            training_window=[str(first), str(holdout)],
            features=list(model.feature_names),
            metrics=model.metrics,
        ),
        model,
    )
    yield Output(
        None,
        metadata={
            **{k: v for k, v in metrics.items() if isinstance(v, int | float)},
            "calibration": _table(model.metrics.get("calibration", [])),
            "version": model.version,
        },
    )
    auc, baseline = metrics["roc_auc"], metrics["baseline_roc_auc"]
    yield AssetCheckResult(
        check_name="churn_beats_baseline",
        passed=auc >= ACCURACY_THRESHOLD and auc > baseline,
        severity=AssetCheckSeverity.ERROR,
        metadata={"roc_auc": auc, "baseline_roc_auc": baseline, "threshold": ACCURACY_THRESHOLD},
    )


@asset(
    key=AssetKey(["ml", "churn_scores"]),
    group_name=GROUP,
    deps=CHURN_INPUTS,
    output_required=False,
    kinds={"scikitlearn", "parquet"},
    description="Churn probability, risk band and top three drivers for every user active "
    "in the last 28 days, from the latest churn model.",
)
def churn_scores(context: AssetExecutionContext) -> Iterator[Any]:
    settings = get_settings()
    record = latest_record(settings.layout, "churn")
    if record is None:
        yield from _skip(context, "no churn model yet: materialize ml/churn_model (ml_training)")
        return
    model = load_model(settings.layout, record)
    dates = inputs.event_date_range(settings)
    if dates is None:
        yield from _skip(context, "no events")
        return
    with threadpool_limits(1):
        scores = churn.score(
            model,
            inputs.churn_activity(settings),
            inputs.users(settings),
            inputs.engagement(settings),
            as_of=dates[1],
        )
    write_output(settings.layout, "ml_churn_scores", scores)
    bands = scores["risk_band"].value_counts().to_dict()
    yield Output(None, metadata={"rows": len(scores), "model_version": record.version, **bands})


@asset(
    key=AssetKey(["ml", "user_segments"]),
    group_name=GROUP,
    deps=SEGMENT_INPUTS,
    output_required=False,
    kinds={"scikitlearn", "parquet"},
    description="Behavioural segments (k-means, k by silhouette) with readable names and "
    "profiles from their centroids; stable across reruns (fixed seed).",
)
def user_segments(context: AssetExecutionContext) -> Iterator[Any]:
    settings = get_settings()
    features = segments.behaviour_features(inputs.user_behaviour(settings), inputs.users(settings))
    try:
        assignments, profiles, metrics = segments.segment_users(features)
    except NotEnoughData as exc:
        yield from _skip(context, str(exc))
        return
    version = new_version()
    write_output(settings.layout, "ml_user_segments", assignments.assign(model_version=version))
    write_output(settings.layout, "ml_segment_profiles", profiles.assign(model_version=version))
    save_model(
        settings.layout,
        ModelRecord(
            name="segments",
            version=version,
            trained_at=_now(),
            training_window=[],
            features=list(features.columns),
            metrics=json.loads(json.dumps(metrics, default=float)),
        ),
    )
    yield Output(
        None,
        metadata={
            "k": int(metrics["k"]),
            "silhouette": float(metrics["silhouette"]),
            "profiles": _table(
                profiles[["segment_id", "segment_name", "users"]].to_dict("records")
            ),
        },
    )


@asset(
    key=AssetKey(["ml", "content_recommendations"]),
    group_name=GROUP,
    deps=RECOMMENDATION_INPUTS,
    output_required=False,
    kinds={"pandas", "parquet"},
    check_specs=[
        AssetCheckSpec(
            "recommendations_beat_popularity", asset=AssetKey(["ml", "content_recommendations"])
        )
    ],
    description="Item-to-item recommendations from co-consumption (top 10 per item), "
    "evaluated by hit rate@10 on each user's held-out last view against most-popular; "
    "plus content insights (best publish weekday/hour, formats, seasonal profiles).",
)
def content_recommendations(context: AssetExecutionContext) -> Iterator[Any]:
    settings = get_settings()
    co_viewing = inputs.co_viewing(settings)
    if co_viewing.empty:
        yield from _skip(context, "no content views", ("recommendations_beat_popularity",))
        return
    dates = inputs.event_date_range(settings)
    recs = recommendations.similar_items(co_viewing)
    training = co_viewing.drop(columns="co_viewers").rename(
        columns={"training_co_viewers": "co_viewers"}
    )
    evaluation = recommendations.hit_rates(training, inputs.holdout_cases(settings))
    insights = content_insights.content_insights(
        inputs.content_views(settings), inputs.content(settings)
    )
    version = new_version()
    write_output(settings.layout, "ml_content_recommendations", recs.assign(model_version=version))
    write_output(settings.layout, "ml_content_insights", insights)
    save_model(
        settings.layout,
        ModelRecord(
            name="recommendations",
            version=version,
            trained_at=_now(),
            training_window=[str(day) for day in dates or ()],
            features=["co-viewing users"],
            metrics=evaluation,
        ),
    )
    yield Output(None, metadata={"rows": len(recs), **evaluation})
    yield AssetCheckResult(
        check_name="recommendations_beat_popularity",
        passed=evaluation["hit_rate"] > evaluation["baseline_hit_rate"],
        severity=AssetCheckSeverity.ERROR,
        metadata=evaluation,
    )


SCORING = [forecasts, anomaly_flags, churn_scores, content_recommendations]
TRAINING = [churn_model, user_segments]

ml_scoring = define_asset_job("ml_scoring", selection=AssetSelection.assets(*SCORING))
ml_training = define_asset_job("ml_training", selection=AssetSelection.assets(*TRAINING))


def training_due(layout: Layout, now: datetime | None = None) -> bool:
    """Retrain when the latest churn model is RETRAINING_INTERVAL old, or missing."""
    record = latest_record(layout, "churn")
    if record is None:
        return True
    return (now or datetime.now(UTC)) - datetime.fromisoformat(
        record.trained_at
    ) >= RETRAINING_INTERVAL


weekly_retraining = ScheduleDefinition(
    job=ml_training,
    cron_schedule="0 4 * * 1",  # Mondays 04:00 UTC: every RETRAINING_INTERVAL
    execution_timezone="UTC",
    default_status=DefaultScheduleStatus.RUNNING,
)


def scoring_due(instance: DagsterInstance, now: datetime | None = None) -> bool:
    """Whether a build should be followed by scoring: the models read daily marts, so
    rescoring after every micro-batch would only take the CPU from the next build. Due
    when no scoring run is under way and none succeeded within the scoring interval."""
    interval = timedelta(minutes=get_settings().scoring_interval_minutes)
    (latest,) = instance.get_run_records(
        RunsFilter(
            job_name=ml_scoring.name,
            statuses=[DagsterRunStatus.SUCCESS, *IN_PROGRESS_RUN_STATUSES],
        ),
        limit=1,
    ) or (None,)
    if latest is None:
        return True
    if latest.dagster_run.status != DagsterRunStatus.SUCCESS or latest.start_time is None:
        return False
    started = datetime.fromtimestamp(latest.start_time, UTC)
    return (now or datetime.now(UTC)) - started >= interval


defs = Definitions(
    assets=[*SCORING, *TRAINING],
    jobs=[ml_scoring, ml_training],
    schedules=[weekly_retraining],
)
