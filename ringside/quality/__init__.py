"""Data-quality checks: Great Expectations suites validated on pandas DataFrames read
from the landed Parquet and the warehouse (see stack.md trap 7 for why not GE's SQL
datasources over DuckDB). Dagster runs them as asset checks (orchestration/defs/quality.py).
"""
