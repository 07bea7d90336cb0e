"""The content model as a Dagster asset: item-to-item recommendations from co-viewing,
evaluated against most-popular, and the content insights."""

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

from ml_assets import content_insights, inputs, recommendations
from orchestration.defs.ml.common import GROUP, now, skip, warehouse_key
from ringside.core.ml_store import ModelRecord, new_version, save_model, write_output
from ringside.core.settings import get_settings

# What inputs.co_viewing/holdout_cases/content_views/content/event_date_range read.
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
        yield from skip(context, "no content views", ("recommendations_beat_popularity",))
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
            trained_at=now(),
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
