"""Runtime settings, read once from the environment (prefix ``RINGSIDE_``)."""

from __future__ import annotations

from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from limits import parse
from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from ringside.core.layout import Layout


class Settings(BaseSettings):
    """Everything configurable about a Ringside installation.

    ``RINGSIDE_HOME`` roots all state; :class:`ringside.core.layout.Layout` says where each
    kind of data lives below it.
    """

    model_config = SettingsConfigDict(env_prefix="RINGSIDE_", extra="ignore")

    home: Path = Field(default=Path(".ringside"), description="Root of all Ringside state.")
    warehouse: Literal["duckdb", "postgres"] = Field(
        default="duckdb",
        description="Where dbt builds the marts and the API reads them: the embedded DuckDB "
        "file below `home`, or the PostgreSQL server of the `pg_*` settings.",
    )
    # PostgreSQL warehouse (warehouse=postgres). dbt and the loader connect as `pg_user`;
    # the API connects as `pg_reader_user`, a role that may only read the marts.
    pg_host: str = "127.0.0.1"
    pg_port: int = 5432
    pg_user: str = "postgres"
    pg_password: SecretStr = SecretStr("")
    pg_database: str = "ringside"
    pg_schema: str = Field(default="analytics", description="Schema dbt builds into.")
    pg_raw_schema: str = Field(default="raw", description="Schema of the loaded raw data.")
    pg_reader_user: str = "ringside_reader"
    pg_reader_password: SecretStr = SecretStr("")
    dagster_pg_url: SecretStr | None = Field(
        default=None,
        description="Dagster's own runs/event log/schedules in PostgreSQL "
        "(postgresql+psycopg2://…; dagster_postgres.yaml). Unset: SQLite under home.",
    )
    write_keys: Annotated[list[str], NoDecode] = Field(
        default=["demo-write-key"],
        description="Accepted Segment write keys (comma-separated in the environment).",
    )
    geoip_db: Path | None = Field(
        default=None, description="MaxMind GeoLite2/GeoIP2 City .mmdb; no geo enrichment if unset."
    )
    session_timeout_minutes: int = Field(default=30, gt=0)
    late_event_lookback_days: int = Field(default=3, ge=0)
    # The accepted window of event times (docs/events.md "Accepted times"): an event outside it
    # is quarantined with the reason instead of landing a day no build expects.
    earliest_event_date: date | None = Field(
        default=None,
        description="Oldest UTC day an event may carry, for imports of history. Unset: "
        "`max_event_age_days` before the time of receipt.",
    )
    max_event_age_days: int = Field(
        default=730, gt=0, description="How far before receipt an event's time may lie."
    )
    max_event_ahead_hours: int = Field(
        default=24,
        ge=0,
        description="How far after receipt an event's time may lie (clients' clocks run fast "
        "and skew correction is not exact).",
    )
    app_db_url: SecretStr | None = Field(
        default=None,
        description="Application database (KPI targets, alert rules and history) as a "
        "SQLAlchemy URL, e.g. postgresql+psycopg2://user:pw@host/db. Unset: the SQLite file "
        "layout.app_db_path below home.",
    )
    # Outgoing mail for alert notifications (channel `email`); no email without smtp_host.
    smtp_host: str | None = None
    smtp_port: int = Field(default=25, gt=0)
    smtp_user: str | None = Field(default=None, description="Login user; no login if unset.")
    smtp_password: SecretStr = SecretStr("")
    smtp_from: str = Field(default="ringside@localhost", description="Sender of alert mail.")
    smtp_starttls: bool = Field(default=False, description="Upgrade to TLS before logging in.")
    alert_delivery_attempts: int = Field(
        default=3,
        ge=1,
        description="Attempts per notification and evaluation; a delivery still failing is "
        "recorded as failed and tried again at the next evaluation.",
    )
    alert_delivery_backoff_seconds: float = Field(
        default=1.0, ge=0, description="Wait before the 2nd attempt, doubled for each next one."
    )
    alert_delivery_timeout_seconds: float = Field(
        default=10.0, gt=0, description="Connect/read timeout of a webhook or SMTP delivery."
    )
    stale_after_minutes: int = Field(
        default=1440,
        gt=0,
        description="/health reports `degraded` when the served data is older than this "
        "(the published copy's age; on PostgreSQL the last successful build's). The default "
        "suits the embedded demo, built daily at least; set it to the build interval plus "
        "a margin (e.g. 90 with hourly builds).",
    )
    scoring_interval_minutes: int = Field(
        default=60,
        ge=0,
        description="The ML models (forecasts, anomalies, churn, recommendations) are scored "
        "after a build when the last scoring is this old; builds in between run only the "
        "alert rules. 0: after every build.",
    )
    min_free_disk_mb: int = Field(
        default=512,
        ge=0,
        description="/health reports `degraded` when the landing area (raw events) has less "
        "free disk space than this, before ingestion starts failing; the collector answers "
        "503 with Retry-After instead of accepting events it may not be able to land.",
    )
    # The collector's write-ahead log (ingestion/collector_log.py, docs/events.md).
    collector_flush_seconds: float = Field(
        default=10.0,
        ge=0,
        description="The collector lands the requests it logged as Parquet this often; "
        "events reach builds at most this much later. 0: after every request (a file per "
        "request, for tests and tiny volumes).",
    )
    collector_flush_events: int = Field(
        default=100_000, gt=0, description="...or sooner, once a process logged this many events."
    )
    collector_max_pending_mb: int = Field(
        default=256,
        gt=0,
        description="Logged and not yet landed, per collector process: beyond it (landing "
        "is failing or far behind) the collector answers 503 with Retry-After, which the "
        "Segment SDKs retry, instead of queueing without bound.",
    )
    # Compaction of the landed files (ingestion/compaction.py, docs/events.md).
    compaction_seconds: float = Field(
        default=300.0,
        ge=0,
        description="The collector merges each day's small landed files this often (one "
        "worker at a time), and batch ingestion after it lands. 0: only `ringside compact`.",
    )
    compaction_rows: int = Field(
        default=1_000_000,
        gt=0,
        description="Rows per merged file; files this large are left as they are.",
    )
    collector_workers: int = Field(
        default=1, gt=0, description="`ringside serve` worker processes, each with its own log."
    )

    public_url: str = Field(
        default="http://127.0.0.1:8000",
        description="Where `ringside serve` is reachable by people: links in delivered "
        "reports and share links start with it.",
    )
    report_link_days: int = Field(
        default=7, gt=0, description="Days a share link sent by a scheduled delivery lives."
    )
    secret_key: SecretStr | None = Field(
        default=None,
        description="Encrypts the secrets the application database keeps (webhook URLs, "
        "recipient lists). Unset: a random secret made once and kept in "
        "layout.secret_key_path. Every process sharing an application database (API, "
        "Dagster) needs the same one: set it when they do not share RINGSIDE_HOME.",
    )
    previous_secret_keys: Annotated[list[SecretStr], NoDecode] = Field(
        default=[],
        description="Former secret keys (comma-separated): what they encrypted stays "
        "readable, and is encrypted with `secret_key` when next written.",
    )
    session_hours: int = Field(
        default=12,
        gt=0,
        description="How long a web app sign-in lasts (sign-out, revoking the key or this "
        "ends it).",
    )

    # Rate limits (api/limits.py): over one, a request is answered 429 with Retry-After.
    # Each is a `limits` rate string ("10/minute", "100 per hour") of a fixed window.
    rate_limit_enabled: bool = Field(
        default=True, description="False: no rate limits (e.g. a proxy in front limits)."
    )
    rate_limit_sign_in: str = Field(
        default="10/minute",
        description="Sign-in attempts per client address: POST /api/session, and API "
        "requests with a wrong or revoked key. An address over it is refused every key until "
        "the window ends, so a guess gets no verdict.",
    )
    rate_limit_api: str = Field(
        default="1200/minute",
        description="Requests per API key to the analytics API (a web app session counts "
        "against the key it was signed in with).",
    )
    rate_limit_collector: str = Field(
        default="20000/second",
        description="Collector requests per write key (a batch is one request). Far above "
        "what one process serves: it stops a flood on one key, not a busy site.",
    )
    rate_limit_storage: str = Field(
        default="memory://",
        description="Where the counters live (a `limits` storage URI). memory:// counts per "
        "process, so each of several `collector_workers` admits a whole limit: give them a "
        "shared store such as redis://host:6379 (needs the `redis` package).",
    )

    @field_validator("rate_limit_sign_in", "rate_limit_api", "rate_limit_collector")
    @classmethod
    def _rate(cls, value: str) -> str:
        parse(value)  # a malformed limit fails at startup, not at the first request
        return value

    @field_validator("write_keys", "previous_secret_keys", mode="before")
    @classmethod
    def _split_keys(cls, value: object) -> object:
        if isinstance(value, str):
            return [key.strip() for key in value.split(",") if key.strip()]
        return value

    @property
    def layout(self) -> Layout:
        return Layout(self.home.resolve())

    def dbt_env(self) -> dict[str, str]:
        """Environment for the dbt project: the target (profiles.yml picks it from
        RINGSIDE_WAREHOUSE), where the landed sources are, and the PostgreSQL connection."""
        return {
            **self.layout.dbt_env(),
            "RINGSIDE_WAREHOUSE": self.warehouse,
            "RINGSIDE_PG_HOST": self.pg_host,
            "RINGSIDE_PG_PORT": str(self.pg_port),
            "RINGSIDE_PG_USER": self.pg_user,
            "RINGSIDE_PG_PASSWORD": self.pg_password.get_secret_value(),
            "RINGSIDE_PG_DATABASE": self.pg_database,
            "RINGSIDE_PG_SCHEMA": self.pg_schema,
            "RINGSIDE_PG_RAW_SCHEMA": self.pg_raw_schema,
        }


@lru_cache
def get_settings() -> Settings:
    return Settings()
