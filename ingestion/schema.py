"""The landed (raw) storage contract: Arrow schemas of the Parquet files ingestion writes.

dbt's staging models read exactly these columns. Timestamps are UTC, stored without a
time zone (``timestamp[us]``) so DuckDB and PostgreSQL read them identically.
The ``event_date`` / ``received_date`` partition columns live only in the directory
names (hive partitioning), never inside the files.
"""

from __future__ import annotations

import pyarrow as pa

TS = pa.timestamp("us")

RAW_EVENT_SCHEMA = pa.schema(
    [
        pa.field("message_id", pa.string(), nullable=False),
        pa.field("type", pa.string(), nullable=False),  # track|page|screen|identify|alias
        pa.field("event", pa.string()),  # track event name
        pa.field("name", pa.string()),  # page/screen name
        pa.field("anonymous_id", pa.string()),
        pa.field("user_id", pa.string()),
        pa.field("previous_id", pa.string()),
        pa.field("event_time", TS, nullable=False),  # skew-corrected, see docs/events.md
        pa.field("original_timestamp", TS),  # client `timestamp` as sent
        pa.field("sent_at", TS),
        pa.field("received_at", TS, nullable=False),
        pa.field("session_id", pa.string()),  # context.sessionId or properties.session_id
        pa.field("page_url", pa.string()),
        pa.field("page_path", pa.string()),
        pa.field("page_referrer", pa.string()),
        pa.field("page_title", pa.string()),
        pa.field("page_search", pa.string()),
        pa.field("utm_source", pa.string()),
        pa.field("utm_medium", pa.string()),
        pa.field("utm_campaign", pa.string()),
        pa.field("utm_term", pa.string()),
        pa.field("utm_content", pa.string()),
        pa.field("ip", pa.string()),  # anonymized before storage
        pa.field("user_agent", pa.string()),
        pa.field("locale", pa.string()),
        pa.field("library_name", pa.string()),
        pa.field("library_version", pa.string()),
        pa.field("consent_analytics", pa.bool_()),
        pa.field("device_type", pa.string()),  # desktop|mobile|tablet|bot|other
        pa.field("browser", pa.string()),
        pa.field("os", pa.string()),
        pa.field("country", pa.string()),  # ISO 3166-1 alpha-2, from GeoIP when configured
        pa.field("city", pa.string()),
        pa.field("properties", pa.string()),  # JSON text
        pa.field("traits", pa.string()),  # JSON text
        pa.field("context", pa.string()),  # JSON text, ip already anonymized
        pa.field("source", pa.string(), nullable=False),  # 'batch' | 'http'
        pa.field("source_ref", pa.string()),  # file:line or request id
        pa.field("ingested_at", TS, nullable=False),
    ]
)

QUARANTINE_SCHEMA = pa.schema(
    [
        pa.field("received_at", TS, nullable=False),
        pa.field("source", pa.string(), nullable=False),
        pa.field("source_ref", pa.string()),
        pa.field("batch_index", pa.int64()),  # position in the HTTP batch or file line number
        pa.field("message_id", pa.string()),  # when one could be read
        pa.field("field", pa.string(), nullable=False),  # first offending field ("$" = whole)
        pa.field("reason", pa.string(), nullable=False),
        pa.field("errors", pa.string(), nullable=False),  # JSON list of {field, reason}
        pa.field("payload", pa.string(), nullable=False),  # the event as received
    ]
)

CONTENT_SCHEMA = pa.schema(
    [
        pa.field("content_id", pa.string(), nullable=False),
        pa.field("content_type", pa.string(), nullable=False),
        pa.field("title", pa.string()),
        pa.field("published_at", TS),
        pa.field("author", pa.string()),
        pa.field("fighters", pa.string()),  # JSON list of names
        pa.field("weight_class", pa.string()),
        pa.field("fight_event_id", pa.string()),
        pa.field("starts_at", TS),  # fight events: when the main card starts
        pa.field("snapshot_at", TS, nullable=False),
    ]
)

ACCOUNTS_SCHEMA = pa.schema(
    [
        pa.field("user_id", pa.string(), nullable=False),
        pa.field("created_at", TS, nullable=False),
        pa.field("country", pa.string()),
        pa.field("plan", pa.string()),  # free|monthly|annual
        pa.field("snapshot_at", TS, nullable=False),
    ]
)

# KPI targets per metric and grain, written from the application database before every
# build so the business mart can compare with them (ringside/bi/kpis.py).
KPI_TARGETS_SCHEMA = pa.schema(
    [
        pa.field("metric", pa.string(), nullable=False),
        pa.field("grain", pa.string(), nullable=False),  # day|week|month
        pa.field("target", pa.float64()),
        pa.field("tolerance", pa.float64()),  # fraction of the target still "on target"
        pa.field("alert_threshold", pa.float64()),
        pa.field("owner", pa.string()),
        pa.field("snapshot_at", TS, nullable=False),
    ]
)

SNAPSHOT_SCHEMAS = {
    "content": CONTENT_SCHEMA,
    "accounts": ACCOUNTS_SCHEMA,
    "kpi_targets": KPI_TARGETS_SCHEMA,
}
