"""What an alert rule is: its kind, subject, slice, parameters and channels (validated
here once, for the API and for evaluation alike)."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, Field, ValidationError, ValidationInfo, field_validator

from ringside.bi.kpis import Grain, catalog_metrics
from ringside.core.redaction import mask_email, redact_url

RuleKind = Literal["threshold", "change", "anomaly", "pipeline"]
AlertState = Literal["ok", "firing", "resolved"]
Severity = Literal["low", "medium", "high"]
SEVERITY_RANK: dict[str, int] = {"low": 0, "medium": 1, "high": 2}
# ml_anomalies series (orchestration/defs/ml.py): fixed ones plus views_<content_type>.
ANOMALY_SERIES = ("active_users", "signups", "page_views", "revenue_usd", "invalid_event_rate")
# What a pipeline rule watches: the Dagster job that builds and publishes the warehouse.
PIPELINE_SUBJECTS = ("ringside_build",)
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class ThresholdParams(BaseModel):
    """Fires when the latest complete period's value is strictly above/below `value`."""

    operator: Literal["above", "below"]
    value: float


class ChangeParams(BaseModel):
    """Fires when the growth against the comparison moved `percent` % or more in
    `direction` (down: growth <= -percent/100; up: growth >= percent/100)."""

    comparison: Literal["previous_period", "last_week", "last_month"] = "previous_period"
    direction: Literal["up", "down"]
    percent: float = Field(gt=0)


class AnomalyParams(BaseModel):
    """Fires when the series has an ml_anomalies row on the reference day at or above
    `min_severity` (and in `direction`, when given)."""

    min_severity: Severity = "low"
    direction: Literal["spike", "drop"] | None = None


class PipelineParams(BaseModel):
    """Fires when the last build failed (`build_failed`), or when the served data is older
    than `minutes` (`stale`: builds stopped, or keep failing)."""

    condition: Literal["build_failed", "stale"]
    minutes: int | None = Field(default=None, gt=0, validate_default=True)

    @field_validator("minutes")
    @classmethod
    def _minutes_for_stale(cls, value: int | None, info: ValidationInfo) -> int | None:
        stale = info.data.get("condition") == "stale"
        if stale and value is None:
            raise ValueError("required for condition stale")
        if not stale and value is not None:
            raise ValueError("only for condition stale")
        return value


PARAMS_MODELS: dict[str, type[BaseModel]] = {
    "threshold": ThresholdParams,
    "change": ChangeParams,
    "anomaly": AnomalyParams,
    "pipeline": PipelineParams,
}


class Webhook(BaseModel):
    url: str = Field(pattern=r"^https?://\S+$", description="http(s) URL receiving a POST.")
    format: Literal["json", "slack"] = Field(
        default="json", description="json: the alert as fields; slack: {'text': message}."
    )


class Channels(BaseModel):
    webhooks: list[Webhook] = Field(default_factory=list)
    email: list[str] = Field(default_factory=list, description="Recipient addresses.")

    @field_validator("email")
    @classmethod
    def _addresses(cls, value: list[str]) -> list[str]:
        bad = [address for address in value if not EMAIL.match(address)]
        if bad:
            raise ValueError(f"not an email address: {', '.join(bad)}")
        return value

    def redacted(self) -> Self:
        """As shown to those who may not see the secrets (ringside/core/redaction.py):
        each webhook by its host, each address masked."""
        return self.model_copy(
            update={
                "webhooks": [
                    w.model_copy(update={"url": redact_url(w.url)}) for w in self.webhooks
                ],
                "email": [mask_email(address) for address in self.email],
            }
        )


Name = Annotated[str, Field(min_length=1, max_length=200)]


class RuleSpec(BaseModel):
    """An alert rule as defined by a user. `subject` is the metric (threshold, change:
    a metric of the catalog) or the ml_anomalies series (anomaly)."""

    name: Name
    kind: RuleKind
    subject: str = Field(min_length=1, description="Metric (threshold/change) or series.")
    grain: Grain = "day"
    dimension: str = "all"
    dimension_value: str = "all"
    # Validated when omitted too: a threshold or change rule cannot do without params.
    params: dict[str, Any] = Field(default_factory=dict, validate_default=True)
    channels: Channels = Field(default_factory=Channels)
    enabled: bool = True

    @field_validator("subject")
    @classmethod
    def _known_subject(cls, value: str, info: ValidationInfo) -> str:
        kind = info.data.get("kind")
        if kind == "pipeline":
            if value not in PIPELINE_SUBJECTS:
                raise ValueError(f"a pipeline rule watches {', '.join(PIPELINE_SUBJECTS)}")
        elif kind == "anomaly":
            if value not in ANOMALY_SERIES and not value.startswith("views_"):
                raise ValueError(
                    f"unknown anomaly series {value!r}; expected one of "
                    f"{', '.join(ANOMALY_SERIES)} or views_<content_type>"
                )
        elif kind is not None and value not in (known := catalog_metrics()):
            raise ValueError(f"unknown metric {value!r}; known metrics: {', '.join(known)}")
        return value

    @field_validator("params")
    @classmethod
    def _params_of_kind(cls, value: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        kind = info.data.get("kind")
        if kind is None:
            return value
        try:
            return PARAMS_MODELS[kind].model_validate(value).model_dump()
        except ValidationError as exc:
            # Name the offending parameter (params.percent …), not just `params`.
            problems = "; ".join(
                f"params.{'.'.join(str(p) for p in error['loc'])}: {error['msg']}"
                for error in exc.errors()
            )
            raise ValueError(f"{kind} rule: {problems}") from None

    @property
    def threshold(self) -> ThresholdParams:
        return ThresholdParams.model_validate(self.params)

    @property
    def change(self) -> ChangeParams:
        return ChangeParams.model_validate(self.params)

    @property
    def anomaly(self) -> AnomalyParams:
        return AnomalyParams.model_validate(self.params)

    @property
    def pipeline(self) -> PipelineParams:
        return PipelineParams.model_validate(self.params)
