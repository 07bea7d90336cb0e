import json
from datetime import date
from typing import Annotated, Literal, TypeVar

from fastapi import APIRouter, Depends, HTTPException, Query
from pydantic import BaseModel, ValidationError

from api.deps import DateRangeDep, SettingsDep
from api.errors import invalid, problems
from api.queries import fetch_rows, warehouse
from api.security import require
from ringside.core.cache import VersionedCache
from ringside.core.warehouse import data_version
from ringside.insights.definitions import (
    MAX_WINDOW_SECONDS,
    ConversionWindow,
    Exclusion,
    FunnelDefinition,
    FunnelStep,
    saved_funnels,
)
from ringside.insights.funnels import FunnelQuery, FunnelResult, run_funnel

router = APIRouter(
    prefix="/api/analytics/funnels",
    tags=["analytics"],
    dependencies=[Depends(require("viewer"))],
    responses=problems(401, 403),
)

Breakdown = Literal["first_touch_source", "device_type"]
Matcher = TypeVar("Matcher", FunnelStep, Exclusion)
WindowUnit = Literal["second", "minute", "hour", "day", "week"]

# An ad-hoc funnel scans fct_events (about a second for 30 days of a 10M-event platform):
# the same question on the same build is answered once (dashboards refresh every few minutes).
_results: VersionedCache[FunnelResult] = VersionedCache(128)

STEP_HELP = (
    "An ad-hoc step, repeated in order: a track event name, `$pageview` (any page or "
    'screen view), or a JSON step object such as `{"page_view": true, "content_type": '
    '"fight_event"}` (fields: event, page_view, path, path_prefix, content_type, '
    "properties, name)."
)
EXCLUDE_HELP = (
    "An exclusion, repeated: a track event name (voids an attempt anywhere between the "
    'first and last step) or a JSON object such as `{"event": "Subscription Cancelled", '
    '"from_step": 1, "to_step": 2}`.'
)


def _reason(exc: ValidationError) -> str:
    """Pydantic's first error as one line a client can act on."""
    first = exc.errors()[0]
    where = ".".join(str(part) for part in first["loc"])
    return f"{where}: {first['msg']}" if where else first["msg"]


def _matcher_fields(text: str, field: str) -> dict[str, object]:
    """A step or exclusion parameter as matcher fields; `field` names it (`step.0`)."""
    if text.lstrip().startswith("{"):
        try:
            fields = json.loads(text)
        except json.JSONDecodeError as exc:
            raise invalid("query", field, f"not valid JSON ({exc.msg})", text) from exc
        if not isinstance(fields, dict):
            raise invalid("query", field, "expected a JSON object", text)
        return fields
    if text == "$pageview":
        return {"page_view": True}
    return {"event": text}


def _matcher(model: type[Matcher], text: str, field: str) -> Matcher:
    try:
        return model.model_validate(_matcher_fields(text, field))
    except ValidationError as exc:
        raise invalid("query", field, _reason(exc), text) from exc


def _ad_hoc(steps: list[str], exclusions: list[str], window: ConversionWindow) -> FunnelDefinition:
    try:
        return FunnelDefinition(
            steps=[_matcher(FunnelStep, text, f"step.{i}") for i, text in enumerate(steps)],
            exclusions=[
                _matcher(Exclusion, text, f"exclude.{i}") for i, text in enumerate(exclusions)
            ],
            conversion_window=window,
        )
    except ValidationError as exc:
        # What is left to refuse: the number of steps, or an exclusion's step range.
        field = "step" if exc.errors()[0]["loc"][:1] == ("steps",) else "exclude"
        raise invalid("query", field, _reason(exc)) from exc


def _saved(name: str) -> FunnelDefinition:
    try:
        return saved_funnels()[name]
    except KeyError:
        known = ", ".join(sorted(saved_funnels()))
        raise HTTPException(404, f"no saved funnel {name!r}; saved funnels: {known}") from None


@router.get("/", response_model=FunnelResult, responses=problems(404, 503))
def funnel(
    settings: SettingsDep,
    days: DateRangeDep,
    name: Annotated[str | None, Query(description="A saved funnel (see /saved).")] = None,
    step: Annotated[list[str] | None, Query(description=STEP_HELP)] = None,
    exclude: Annotated[list[str] | None, Query(description=EXCLUDE_HELP)] = None,
    window_value: Annotated[
        int | None,
        Query(
            ge=1,
            le=MAX_WINDOW_SECONDS,
            description="Conversion window length (default 7, or the saved one); the window "
            f"may be at most {MAX_WINDOW_SECONDS // 86_400} days.",
        ),
    ] = None,
    window_unit: Annotated[WindowUnit | None, Query(description="Window unit.")] = None,
    breakdown: Annotated[Breakdown | None, Query(description="Split every step by this.")] = None,
) -> FunnelResult:
    """Users per step of a saved or ad-hoc funnel whose step 1 happened in [start, end],
    each person counted once at the furthest step of any attempt (docs/metrics.md "Funnels";
    later steps may fall after `end`, up to the window). A saved funnel with its saved
    window is read from the attempts dbt counted (`fct_funnel_progress`); anything else
    is computed on request over `fct_events` by the query engine: the same figures."""
    if name is not None and (step or exclude):
        raise invalid(
            "query", "name", "give either a saved funnel `name` or ad-hoc `step`s, not both"
        )
    if name is None and not step:
        raise invalid("query", "step", "give a saved funnel `name` or at least two `step`s")
    if name is not None:
        definition = _saved(name)
        window = definition.conversion_window
    else:
        definition = None
        window = ConversionWindow()
    try:
        window = ConversionWindow(
            value=window_value if window_value is not None else window.value,
            unit=window_unit or window.unit,
        )
    except ValidationError as exc:
        raise invalid("query", "window_value", f"window_{_reason(exc)}", window_value) from exc
    if definition is None:
        definition = _ad_hoc(step or [], exclude or [], window)
    else:
        definition = definition.model_copy(update={"conversion_window": window})
    query = FunnelQuery(definition=definition, start=days.start, end=days.end, breakdown=breakdown)
    # dbt counted a saved funnel's attempts with its saved window (fct_funnel_progress):
    # read them instead of scanning events, unless the request changes the window.
    precomputed = name is not None and window_value is None and window_unit is None
    version = data_version(settings)
    # Both paths give the same figures, so the question alone is the key.
    key = query.model_dump_json()
    result = _results.get(key, version)
    if result is None:
        with warehouse(settings) as con:
            result = run_funnel(con, query, precomputed=precomputed)
        _results.put(key, version, result)
    return result


@router.get("/saved", response_model=list[FunnelDefinition])
def saved() -> list[FunnelDefinition]:
    """The saved funnels (dbt_project.yml `vars.funnels`), as the marts build them."""
    return list(saved_funnels().values())


class FunnelDayStep(BaseModel):
    entry_date: date
    breakdown_value: str
    step_number: int
    step_name: str
    users: int
    conversion_from_start: float | None
    conversion_from_previous: float | None
    drop_off_users: int
    avg_seconds_from_previous: float | None
    median_seconds_from_previous: float | None
    is_window_complete: bool


class FunnelDaily(BaseModel):
    name: str
    start: date
    end: date
    breakdown: str
    days: list[FunnelDayStep]


@router.get("/{name}/daily", response_model=FunnelDaily, responses=problems(404, 503))
def daily(
    settings: SettingsDep,
    days: DateRangeDep,
    name: str,
    breakdown: Annotated[
        Breakdown | Literal["all"], Query(description="Split every step by this.")
    ] = "all",
) -> FunnelDaily:
    """A saved funnel per entry day, from `mart_funnel_daily` (a person entering on two
    days counts on both; for one count over a range use the funnel endpoint)."""
    _saved(name)
    rows = fetch_rows(
        settings,
        """
        select
            entry_date, breakdown_value, step_number, step_name, users,
            conversion_from_start, conversion_from_previous, drop_off_users,
            avg_seconds_from_previous, median_seconds_from_previous, is_window_complete
        from mart_funnel_daily
        where funnel_name = $name and breakdown = $breakdown
            and entry_date between $start and $end
        order by entry_date, breakdown_value, step_number
        """,
        {"name": name, "breakdown": breakdown, "start": days.start, "end": days.end},
    )
    return FunnelDaily(
        name=name,
        start=days.start,
        end=days.end,
        breakdown=breakdown,
        days=[FunnelDayStep(**row) for row in rows],
    )
