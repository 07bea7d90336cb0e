"""Ringside's Dagster code location: assembles the per-domain definitions."""

from dagster import Definitions

from orchestration.defs import alerts, dbt, ingestion, quality, report_delivery, reports
from orchestration.defs.ml import defs as ml_defs

defs = Definitions.merge(
    ingestion.defs, dbt.defs, quality.defs, ml_defs, alerts.defs, reports.defs, report_delivery.defs
)
