"""What a dbt build reads, made ready before it runs: the current KPI targets written as
a snapshot, snapshots loaded into PostgreSQL, and on DuckDB an empty placeholder file for
every source that has no data yet."""

from __future__ import annotations

from glob import glob

from ingestion.postgres_load import load_snapshots
from ingestion.schema import RAW_EVENT_SCHEMA, SNAPSHOT_SCHEMAS
from ringside.bi.kpis import export_targets
from ringside.core.files import write_table
from ringside.core.layout import PLACEHOLDER_DAY, Layout
from ringside.core.settings import Settings

PLACEHOLDER_NAME = "_empty.parquet"


def prepare_sources(settings: Settings) -> None:
    """Make every dbt source readable before a build. Event days are loaded into
    PostgreSQL by the ``tracking/events`` asset; snapshots are loaded here, after the
    current KPI targets were written as one."""
    export_targets(settings)
    if settings.warehouse == "postgres":
        load_snapshots(settings)
    else:
        ensure_sources(settings.layout)


def ensure_sources(layout: Layout) -> None:
    """Give every dbt source at least one (empty) file, so a source with no data yet
    reads as zero rows instead of failing the build with 'no files found'."""
    layout.ensure()
    if not glob(layout.raw_events_glob):
        write_table(
            RAW_EVENT_SCHEMA.empty_table(),
            layout.raw_events_partition(PLACEHOLDER_DAY),
            PLACEHOLDER_NAME,
        )
    for name, schema in SNAPSHOT_SCHEMAS.items():
        if not glob(layout.snapshot_glob(name)):
            write_table(schema.empty_table(), layout.snapshot_dir(name), PLACEHOLDER_NAME)
