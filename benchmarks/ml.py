"""ML benchmark: training and scoring time of every model asset on a built warehouse, and
its validation figures next to its baseline.

    python -m benchmarks.ml --home DIR    # RINGSIDE_HOME of a built platform, e.g. the
                                          # workdir/home of `benchmarks.pipeline --days 120`

Each asset is materialized on its own (Dagster, in process, an ephemeral instance), in
the order a first build needs: the training job's assets, then the scoring job's. The
wall time of an asset includes reading its inputs from the warehouse; the time to read
the shared inputs (events, daily KPIs) is printed separately. Prints a table and a JSON
line.
"""

import argparse
import json
import os
import time
from pathlib import Path
from typing import Any

import duckdb


def _validation(layout: Any) -> dict[str, Any]:
    """Model vs baseline, as stored next to each model (the same as the asset metadata)."""
    from ml_assets.storage import latest_record, read_output

    figures: dict[str, Any] = {}
    churn = latest_record(layout, "churn")
    if churn is not None:
        m = churn.metrics
        figures["churn"] = {
            key: round(m[key], 4)
            for key in ("roc_auc", "baseline_roc_auc", "pr_auc", "baseline_pr_auc", "brier")
            if key in m
        } | {"baseline_brier": round(m.get("baseline_brier", float("nan")), 4)}
    recs = latest_record(layout, "recommendations")
    if recs is not None:
        figures["recommendations"] = {k: round(v, 4) for k, v in recs.metrics.items()}
    segments = latest_record(layout, "segments")
    if segments is not None:
        figures["segments"] = {
            "k": segments.metrics.get("k"),
            "silhouette": round(segments.metrics.get("silhouette", float("nan")), 4),
        }
    if layout.ml_table_path("ml_forecast_metrics").exists():
        metrics = read_output(layout, "ml_forecast_metrics").round(4)
        figures["forecasts"] = metrics.to_dict("records")
    if layout.ml_table_path("ml_anomalies").exists():
        anomalies = read_output(layout, "ml_anomalies")
        figures["anomalies"] = anomalies.groupby("series").size().to_dict()
    return figures


def run(home: Path) -> dict[str, Any]:
    os.environ["RINGSIDE_HOME"] = str(home)
    from dagster import DagsterInstance, materialize

    from ml_assets import defs, inputs
    from ringside.settings import get_settings

    get_settings.cache_clear()
    settings = get_settings()
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    events = inputs.events(settings)
    timings["read events (fct_events -> pandas)"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    inputs.daily_kpis(settings)
    timings["read daily KPIs"] = time.perf_counter() - t0
    del events

    assets = [*defs.TRAINING, *defs.SCORING]
    with DagsterInstance.ephemeral() as instance:
        for asset in assets:
            t0 = time.perf_counter()
            result = materialize(
                [asset],
                instance=instance,
                run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}},
            )
            seconds = time.perf_counter() - t0
            materialized = len(result.get_asset_materialization_events())
            label = "/".join(asset.key.path)
            timings[label if materialized else f"{label} (skipped)"] = seconds
    (rows,) = duckdb.sql(
        f"select count(*) from read_parquet('{settings.layout.raw_events_glob}')"
    ).fetchone()
    return {
        "home": str(home),
        "landed_events": rows,
        "seconds": {k: round(v, 2) for k, v in timings.items()},
        "validation": _validation(settings.layout),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, required=True, help="RINGSIDE_HOME of a build.")
    args = parser.parse_args()
    figures = run(args.home.resolve())
    print(f"landed events: {figures['landed_events']:,}")
    width = max(map(len, figures["seconds"]))
    for name, seconds in figures["seconds"].items():
        print(f"{name:<{width}}  {seconds:8.2f} s")
    for model, values in figures["validation"].items():
        print(f"{model}: {json.dumps(values)}")
    print(json.dumps(figures, default=str))


if __name__ == "__main__":
    main()
