"""The ML marts (dbt_project/models/marts/ml) and the models of ml_assets share one
vocabulary: `vars.ml` of dbt_project.yml names what the marts count, and the models read
the counts with the same meaning. The marts' numbers are checked against hand-derived
ones in tests/test_ml_aggregates.py, their incremental builds in tests/test_incremental.py."""

import yaml

from ml_assets import churn_features, content_insights, inputs, recommendations, segments
from ringside.core.layout import DBT_PROJECT_DIR


def test_the_marts_count_what_the_models_read() -> None:
    project = yaml.safe_load((DBT_PROJECT_DIR / "dbt_project.yml").read_text())
    ml = project["vars"]["ml"]
    assert tuple(ml["content_types"]) == churn_features.CONTENT_TYPES == segments.CONTENT_TYPES
    assert tuple(ml["content_types"]) == inputs.CONTENT_TYPES
    # The session stretches are what lets churn count sessions in its activity window.
    assert ml["session_stretch_gap_days"] == churn_features.ACTIVE_WINDOW_DAYS
    assert ml["engaged_seconds"] == content_insights.ENGAGED_SECONDS
    assert ml["top_n"] == recommendations.TOP_N
