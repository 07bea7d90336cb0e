"""ML models as Dagster assets downstream of the marts.

Two jobs: `ml_scoring` (forecasts, anomalies, churn scores, recommendations) runs after
a successful warehouse build when the last scoring is RINGSIDE_SCORING_INTERVAL_MINUTES
old (the sensor `after_build`, and `ringside build`), and
`ml_training` (the churn model and the user segments) runs weekly — the retraining
interval is 7 days. Every validation figure is asset metadata; asset checks fail when a
model is below its baseline or below the accuracy threshold (0.75: ROC AUC for churn,
1 - MAPE for forecasts). With too little data an asset logs why and materializes
nothing instead of training on noise.

The assets live by the data they model: ``daily`` (forecasts, anomaly flags), ``users``
(churn model and scores, user segments) and ``content`` (recommendations and content
insights); this module makes the jobs, the retraining schedule and the scoring policy of
them.
"""

from datetime import UTC, datetime, timedelta

from dagster import (
    AssetSelection,
    DagsterInstance,
    DagsterRunStatus,
    DefaultScheduleStatus,
    Definitions,
    RunsFilter,
    ScheduleDefinition,
    define_asset_job,
)
from dagster._core.storage.dagster_run import IN_PROGRESS_RUN_STATUSES

from orchestration.defs.ml.content import content_recommendations
from orchestration.defs.ml.daily import anomaly_flags, forecasts
from orchestration.defs.ml.users import churn_model, churn_scores, user_segments
from ringside.core.layout import Layout
from ringside.core.ml_store import latest_record
from ringside.core.settings import get_settings

RETRAINING_INTERVAL = timedelta(days=7)

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
