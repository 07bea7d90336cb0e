"""Dagster: the code location (:mod:`orchestration.definitions`) assembling per-domain
definitions (:mod:`orchestration.defs`: landed events, dbt assets, quality checks, ML
assets, alerts, reports), the job chain (:mod:`orchestration.chain`), what a build reads
before dbt runs (:mod:`orchestration.sources`) and the in-process runner the CLI uses.

May use: the services, ml_assets/, ingestion/ and ringside.core. Not api/ (a sibling
layer) nor the CLI.
"""
