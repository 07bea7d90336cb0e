"""ML benchmark: training and scoring time and peak memory of every model asset on a
built warehouse, and its validation figures next to its baseline.

    python -m benchmarks.ml --home DIR    # RINGSIDE_HOME of a built platform, e.g. the
                                          # workdir/home of `benchmarks.pipeline --days 120`

Each asset is materialized on its own (Dagster, an ephemeral instance) in a fresh Python
process, in the order a first build needs: the training job's assets, then the scoring
job's. A process per asset is what Dagster's default (multiprocess) executor does in
production, and it makes each peak RSS (``resource.getrusage``) that asset's own: a
peak is never lowered once reached, so in one shared process every asset would report
the largest peak before it. The input readers of ``ml_assets.inputs`` are timed the same
way, each in its own process. A task's wall and CPU time (its inputs read included) are
measured in its process after the imports, whose memory is the ``imports`` figure; CPU
time (every thread, user + system) is the figure to compare when other work shares the
cores. The ML run's wall time includes the process starts. Prints a table and a JSON line.
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from dataclasses import fields, is_dataclass
from pathlib import Path
from typing import Any

import duckdb

# The readers the assets call. Missing ones are skipped: the benchmark also runs on older
# checkouts of ml_assets (before/after figures), whose readers had other names.
READERS = (
    "events",  # the per-event frame of older versions (every row of fct_events)
    "daily_kpis",
    "churn_activity",
    "user_behaviour",
    "content_views",
    "co_viewing",
    "holdout_cases",
)


def _peak_rss_mib() -> float:
    """This process's peak resident set size so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _cpu_seconds() -> float:
    """CPU time of this process so far, every thread (DuckDB's too), user + system: unlike
    the wall time, hardly changed by other work on the same cores."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _validation(layout: Any) -> dict[str, Any]:
    """Model vs baseline, as stored next to each model (the same as the asset metadata)."""
    from ringside.core.ml_store import latest_record, read_output

    figures: dict[str, Any] = {}
    churn = latest_record(layout, "churn")
    if churn is not None:
        m = churn.metrics
        figures["churn"] = {
            key: round(m[key], 4)
            for key in ("roc_auc", "baseline_roc_auc", "pr_auc", "baseline_pr_auc", "brier")
            if key in m
        } | {"baseline_brier": round(m.get("baseline_brier", float("nan")), 4)}
        figures["churn"]["version"] = churn.version
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


def _child(task: str) -> dict[str, Any]:
    """Run one task in this (fresh) process: ``asset:<key path>`` or ``read:<reader>``."""
    from dagster import DagsterInstance, materialize

    from ml_assets import inputs
    from orchestration.defs import ml as defs
    from ringside.core.settings import get_settings

    settings = get_settings()
    imports = _peak_rss_mib()
    kind, name = task.split(":", 1)
    t0, cpu0 = time.perf_counter(), _cpu_seconds()
    if kind == "read":
        value = getattr(inputs, name)(settings)
        frames = [getattr(value, f.name) for f in fields(value)] if is_dataclass(value) else [value]
        done = {"rows": sum(len(frame) for frame in frames if frame is not None)}
    else:
        (asset,) = [a for a in (*defs.TRAINING, *defs.SCORING) if "/".join(a.key.path) == name]
        with DagsterInstance.ephemeral() as instance:
            result = materialize(
                [asset],
                instance=instance,
                run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}},
            )
        done = {"materialized": bool(result.get_asset_materialization_events())}
    return {
        "seconds": time.perf_counter() - t0,
        "cpu_seconds": _cpu_seconds() - cpu0,
        "peak_rss_mib": _peak_rss_mib(),
        "imports_rss_mib": imports,
        **done,
    }


def _in_child(task: str) -> dict[str, Any]:
    """Run a task in a fresh interpreter and return what it measured, with its wall time
    including the interpreter start."""
    t0 = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.ml", "--child", task], capture_output=True, text=True
    )
    if out.returncode:
        raise RuntimeError(f"{task} failed:\n{out.stderr}")
    figures = json.loads(out.stdout.strip().splitlines()[-1])
    figures["process_seconds"] = time.perf_counter() - t0
    return figures


def run(home: Path) -> dict[str, Any]:
    os.environ["RINGSIDE_HOME"] = str(home)
    from ml_assets import inputs
    from orchestration.defs import ml as defs
    from ringside.core.settings import get_settings

    get_settings.cache_clear()
    settings = get_settings()
    tasks: dict[str, dict[str, Any]] = {}
    for reader in READERS:
        if hasattr(inputs, reader):
            tasks[f"read {reader}"] = _in_child(f"read:{reader}")
    t0 = time.perf_counter()
    for asset in [*defs.TRAINING, *defs.SCORING]:
        label = "/".join(asset.key.path)
        figures = _in_child(f"asset:{label}")
        tasks[label if figures["materialized"] else f"{label} (skipped)"] = figures
    total = time.perf_counter() - t0
    (rows,) = duckdb.sql(
        f"select count(*) from read_parquet('{settings.layout.raw_events_glob}')"
    ).fetchone()
    assets = {k: v for k, v in tasks.items() if not k.startswith("read ")}
    return {
        "home": str(home),
        "landed_events": rows,
        "tasks": {
            k: {f: round(v, 2) if isinstance(v, float) else v for f, v in figures.items()}
            for k, figures in tasks.items()
        },
        "ml_run_seconds": round(total, 2),
        "ml_run_cpu_seconds": round(sum(f["cpu_seconds"] for f in assets.values()), 2),
        "ml_run_peak_rss_mib": round(max(f["peak_rss_mib"] for f in assets.values()), 1),
        "validation": _validation(settings.layout),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, help="RINGSIDE_HOME of a build.")
    parser.add_argument("--child", help=argparse.SUPPRESS)  # one task, in a fresh process
    args = parser.parse_args()
    if args.child:
        print(json.dumps(_child(args.child)))
        return
    if args.home is None:
        parser.error("--home is required")
    figures = run(args.home.resolve())
    print(f"landed events: {figures['landed_events']:,}")
    width = max(map(len, figures["tasks"]))
    print(f"{'task':<{width}}  {'wall':>9}  {'CPU':>9}  {'peak RSS':>10}  {'imports':>9}")
    for name, task in figures["tasks"].items():
        print(
            f"{name:<{width}}  {task['seconds']:7.2f} s  {task['cpu_seconds']:7.2f} s  "
            f"{task['peak_rss_mib']:6.0f} MiB  {task['imports_rss_mib']:5.0f} MiB"
        )
    print(
        f"ML run (every asset, one after another): {figures['ml_run_seconds']:.1f} s wall "
        f"with process starts, {figures['ml_run_cpu_seconds']:.1f} s CPU, peak RSS "
        f"{figures['ml_run_peak_rss_mib']:,.0f} MiB (largest asset process)"
    )
    for model, values in figures["validation"].items():
        print(f"{model}: {json.dumps(values)}")
    print(json.dumps(figures, default=str))


if __name__ == "__main__":
    main()
