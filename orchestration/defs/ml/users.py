"""The user-level models as Dagster assets: the churn model, its scores and the
behavioural user segments."""

import json
from collections.abc import Iterator
from typing import Any

from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    Output,
    asset,
)
from threadpoolctl import threadpool_limits

from ml_assets import churn, inputs, segments
from ml_assets.errors import NotEnoughData
from orchestration.defs.ml.common import (
    ACCURACY_THRESHOLD,
    GROUP,
    now,
    skip,
    table,
    warehouse_key,
)
from ringside.core.ml_store import (
    ModelRecord,
    latest_record,
    load_model,
    new_version,
    save_model,
    write_output,
)
from ringside.core.settings import get_settings

# What inputs.event_date_range/churn_activity/users/engagement read.
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
# What inputs.user_behaviour and inputs.users read.
SEGMENT_INPUTS = [warehouse_key(model) for model in ("mart_ml_user_behaviour", "dim_users")]


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
        yield from skip(context, "no events", ("churn_beats_baseline",))
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
        yield from skip(context, str(exc), ("churn_beats_baseline",))
        return
    metrics = {k: v for k, v in model.metrics.items() if k != "calibration"}
    save_model(
        settings.layout,
        ModelRecord(
            name="churn",
            version=model.version,
            trained_at=now(),
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
            "calibration": table(model.metrics.get("calibration", [])),
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
        yield from skip(context, "no churn model yet: materialize ml/churn_model (ml_training)")
        return
    model = load_model(settings.layout, record)
    dates = inputs.event_date_range(settings)
    if dates is None:
        yield from skip(context, "no events")
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
        yield from skip(context, str(exc))
        return
    version = new_version()
    write_output(settings.layout, "ml_user_segments", assignments.assign(model_version=version))
    write_output(settings.layout, "ml_segment_profiles", profiles.assign(model_version=version))
    save_model(
        settings.layout,
        ModelRecord(
            name="segments",
            version=version,
            trained_at=now(),
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
            "profiles": table(profiles[["segment_id", "segment_name", "users"]].to_dict("records")),
        },
    )
