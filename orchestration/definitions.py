"""Ringside's Dagster code location: assembles the per-domain definitions and the job
chain that links their jobs."""

from dagster import Definitions

from orchestration import chain
from orchestration.defs import alerts, dbt, ingestion, ml, quality, report_delivery, reports

defs = Definitions.merge(
    ingestion.defs,
    dbt.defs,
    quality.defs,
    ml.defs,
    alerts.defs,
    reports.defs,
    report_delivery.defs,
    Definitions(sensors=chain.SENSORS),
)
