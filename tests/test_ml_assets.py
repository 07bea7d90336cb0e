"""The ML assets on a built platform: what trains, what skips and says why, where the
outputs land, and the predictions API over them."""

from collections.abc import Iterator

import pandas as pd
import pytest
from dagster import AssetCheckKey, AssetKey, DagsterInstance

from orchestration.runner import run_chain
from ringside.core.ml_store import latest_record, read_output
from tests.api_client import api_client
from tests.platforms import BuiltPlatform, built_platform


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BuiltPlatform]:
    # 35 days: enough for anomalies (28 points), segments and recommendations; too short
    # for forecasts (100 days) and churn (a 28-day history plus a 30-day label window).
    with built_platform(tmp_path_factory.mktemp("ml"), days=35, users=400, seed=3) as built:
        outcome = run_chain("ringside_build", True)
        assert outcome.jobs == [
            "ml_training",
            "ml_scoring",
            "executive_summaries",
            "alerts_evaluation",
        ]
        yield built


def test_models_that_have_enough_data_write_their_outputs(platform: BuiltPlatform):
    layout = platform.settings.layout
    anomalies = read_output(layout, "ml_anomalies")
    assert set(anomalies.columns) >= {"series", "date", "actual", "expected", "score"}
    assert anomalies["score"].abs().min() >= 3
    recs = read_output(layout, "ml_content_recommendations")
    assert recs.groupby("content_id")["rank"].max().max() <= 10
    assert (recs["content_id"] != recs["recommended_content_id"]).all()
    segments = read_output(layout, "ml_user_segments")
    profiles = read_output(layout, "ml_segment_profiles")
    assert segments["segment_id"].nunique() == len(profiles) >= 3
    assert profiles["segment_name"].is_unique
    assert latest_record(layout, "segments") is not None


def test_models_without_enough_data_skip_with_the_reason(platform: BuiltPlatform):
    layout = platform.settings.layout
    assert not layout.ml_table_path("ml_forecasts").exists()
    assert latest_record(layout, "churn") is None
    with DagsterInstance.get() as instance:
        forecast = instance.get_latest_materialization_event(AssetKey(["ml", "forecasts"]))
        key = AssetCheckKey(AssetKey(["ml", "forecasts"]), "forecast_accuracy")
        check = instance.event_log_storage.get_latest_asset_check_execution_by_key([key])[key]
    assert forecast is None
    # The skipped model's check says why instead of passing silently.
    evaluation = check.event.dagster_event.event_specific_data
    assert not evaluation.passed
    assert "forecasts need at least 100" in evaluation.metadata["skipped"].value


def test_predictions_api_serves_outputs_with_the_model_version(platform: BuiltPlatform):
    client = api_client()
    body = client.get("/api/analytics/predictions/", params={"kind": "segments"}).json()
    assert body["model_version"] == latest_record(platform.settings.layout, "segments").version
    assert body["total"] == len(read_output(platform.settings.layout, "ml_user_segments"))
    assert body["validation"]["k"] >= 3
    profiles = client.get("/api/analytics/predictions/", params={"kind": "segment_profiles"}).json()
    served = {row["segment_id"]: row["users"] for row in profiles["items"]}
    assigned = read_output(platform.settings.layout, "ml_user_segments")["segment_id"]
    assert served == assigned.value_counts().to_dict()

    recs = read_output(platform.settings.layout, "ml_content_recommendations")
    item = recs["content_id"].iloc[0]
    one = client.get(
        "/api/analytics/predictions/", params={"kind": "recommendations", "content": item}
    ).json()
    expected = recs[recs["content_id"] == item].sort_values("rank")
    assert [r["recommended_content_id"] for r in one["items"]] == list(
        expected["recommended_content_id"]
    )
    assert "hit_rate" in one["validation"]

    missing = client.get("/api/analytics/predictions/", params={"kind": "forecast"})
    assert missing.status_code == 503
    wrong = client.get(
        "/api/analytics/predictions/", params={"kind": "recommendations", "risk_band": "high"}
    )
    assert wrong.status_code == 422


def test_anomaly_rows_match_the_daily_series(platform: BuiltPlatform):
    """Each flagged value is the series' actual value on that day (not a copy of the
    model's own input frame: recomputed from the served marts)."""
    import duckdb

    anomalies = read_output(platform.settings.layout, "ml_anomalies")
    users = anomalies[anomalies["series"] == "active_users"]
    with duckdb.connect(str(platform.settings.layout.serving_path), read_only=True) as con:
        daily = con.execute("select event_date, active_users from mart_overview_daily").df()
    actual = dict(zip(pd.to_datetime(daily["event_date"]), daily["active_users"], strict=True))
    for row in users.itertuples():
        assert row.actual == actual[pd.Timestamp(row.date)]
