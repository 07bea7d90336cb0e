"""Runtime settings, read once from the environment (prefix ``RINGSIDE_``)."""

from __future__ import annotations

from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from ringside.layout import Layout


class Settings(BaseSettings):
    """Everything configurable about a Ringside installation.

    ``RINGSIDE_HOME`` roots all state; :class:`ringside.layout.Layout` says where each
    kind of data lives below it.
    """

    model_config = SettingsConfigDict(env_prefix="RINGSIDE_", extra="ignore")

    home: Path = Field(default=Path(".ringside"), description="Root of all Ringside state.")
    warehouse: Literal["duckdb", "postgres"] = "duckdb"
    write_keys: Annotated[list[str], NoDecode] = Field(
        default=["demo-write-key"],
        description="Accepted Segment write keys (comma-separated in the environment).",
    )
    geoip_db: Path | None = Field(
        default=None, description="MaxMind GeoLite2/GeoIP2 City .mmdb; no geo enrichment if unset."
    )
    session_timeout_minutes: int = Field(default=30, gt=0)
    late_event_lookback_days: int = Field(default=3, ge=0)
    partitions_start: date = Field(
        default=date(2026, 1, 1), description="First day of Dagster's daily partitions."
    )

    @field_validator("write_keys", mode="before")
    @classmethod
    def _split_keys(cls, value: object) -> object:
        if isinstance(value, str):
            return [key.strip() for key in value.split(",") if key.strip()]
        return value

    @property
    def layout(self) -> Layout:
        return Layout(self.home.resolve())


@lru_cache
def get_settings() -> Settings:
    return Settings()
