"""Funnel definitions: one schema for the saved funnels (``vars.funnels`` in
``dbt_project/dbt_project.yml``, rendered by the dbt funnel models) and for ad-hoc
funnels sent to the API. This module validates them; what a definition means — its
window in seconds, default step names, exclusion ranges — is the ``funnel_definition``
macro's (dbt_project/macros/funnels.sql), which the marts and the engine both apply.

docs/metrics.md: a funnel is an ordered list of steps (an event name, or a page view with a
path or content type, plus optional property filters), a conversion window (default
7 days) and optional exclusion steps.
"""

from functools import cache
from pathlib import Path
from typing import Annotated, Literal, Self

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from ringside.core.layout import DBT_PROJECT_DIR

MAX_STEPS = 20
WINDOW_UNIT_SECONDS = {"second": 1, "minute": 60, "hour": 3_600, "day": 86_400, "week": 604_800}
# A year: the engines add the window to event times, which must stay representable.
MAX_WINDOW_SECONDS = 366 * 86_400

NonEmpty = Annotated[str, StringConstraints(min_length=1, max_length=200)]


def _not_a_wildcard(key: str) -> str:
    # DuckDB reads the JSON path `$."*"` as every key, not the key `*`.
    if set(key) == {"*"}:
        raise ValueError("a property key cannot be only asterisks")
    return key


PropertyKey = Annotated[NonEmpty, AfterValidator(_not_a_wildcard)]
PropertyValue = str | int | float | bool


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class EventMatcher(_Strict):
    """Which events a step (or an exclusion) matches. Exactly one of ``event`` (a
    ``track`` event name) or ``page_view: true`` (a page or screen view); the other
    fields narrow it further and must all hold."""

    event: NonEmpty | None = None
    page_view: bool = False
    path: NonEmpty | None = Field(None, description="Page path, equal.")
    path_prefix: NonEmpty | None = Field(None, description="Page path starts with this.")
    content_type: NonEmpty | None = None
    properties: dict[PropertyKey, PropertyValue] = Field(
        default_factory=dict,
        description="Event properties that must equal these values (compared as text; "
        "booleans as true/false).",
    )

    @model_validator(mode="after")
    def _one_kind(self) -> Self:
        if (self.event is None) == (not self.page_view):
            raise ValueError("a step needs exactly one of `event` or `page_view: true`")
        return self


class FunnelStep(EventMatcher):
    # Unnamed steps are named by funnel_matcher_label (macros/funnels.sql), for the marts
    # and the engine alike.
    name: NonEmpty | None = None


class Exclusion(EventMatcher):
    """An event that voids an attempt when it happens after step ``from_step`` and
    before step ``to_step`` (1-based; default: the whole funnel), inside the window."""

    from_step: int = Field(1, ge=1)
    to_step: int | None = Field(None, ge=2)


class ConversionWindow(_Strict):
    value: int = Field(7, gt=0, description="Must be positive.")
    unit: Literal["second", "minute", "hour", "day", "week"] = "day"

    @model_validator(mode="after")
    def _at_most_a_year(self) -> Self:
        if self.seconds > MAX_WINDOW_SECONDS:
            raise ValueError(
                f"a conversion window may be at most {MAX_WINDOW_SECONDS // 86_400} days"
            )
        return self

    @property
    def seconds(self) -> int:
        """For the bound above; the queries take the window's length from
        funnel_definition (macros/funnels.sql), as the marts do."""
        return self.value * WINDOW_UNIT_SECONDS[self.unit]


class FunnelDefinition(_Strict):
    name: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,62}$")] = "ad_hoc"
    description: str = ""
    steps: list[FunnelStep] = Field(min_length=2, max_length=MAX_STEPS)
    conversion_window: ConversionWindow = ConversionWindow()
    exclusions: list[Exclusion] = Field(default_factory=list)

    @model_validator(mode="after")
    def _exclusion_steps(self) -> Self:
        last = len(self.steps)
        for exclusion in self.exclusions:
            to_step = exclusion.to_step or last
            if not exclusion.from_step < to_step <= last:
                raise ValueError(
                    f"exclusion between steps {exclusion.from_step} and {to_step}: "
                    f"needs 1 <= from_step < to_step <= {last}"
                )
        return self


DBT_PROJECT_FILE = DBT_PROJECT_DIR / "dbt_project.yml"


@cache
def saved_funnels(project_file: Path = DBT_PROJECT_FILE) -> dict[str, FunnelDefinition]:
    """The saved funnels by name, as the dbt funnel models build them."""
    config = yaml.safe_load(project_file.read_text())
    funnels = [FunnelDefinition.model_validate(raw) for raw in config["vars"]["funnels"]]
    return {funnel.name: funnel for funnel in funnels}
