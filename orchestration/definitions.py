"""Ringside's Dagster code location: assembles the per-domain definitions."""

from dagster import Definitions

from ml_assets.defs import defs as ml_defs
from orchestration.defs import alerts, dbt, ingestion, quality, report_delivery, reports

defs = Definitions.merge(
    ingestion.defs, dbt.defs, quality.defs, ml_defs, alerts.defs, reports.defs, report_delivery.defs
)
