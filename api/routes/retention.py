from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query

from api.deps import DateRangeDep, SettingsDep
from api.errors import problems
from api.queries import warehouse
from api.security import require
from ringside.core.cache import VersionedCache
from ringside.core.warehouse import data_version
from ringside.insights.retention import RetentionQuery, RetentionResult, run_retention

router = APIRouter(
    prefix="/api/analytics/retention",
    tags=["analytics"],
    dependencies=[Depends(require("viewer"))],
    responses=problems(401, 403, 503),
)

# Answers are kept until the next build (a dashboard's tiles ask the same questions
# again and again); the data version is in the key, so no answer outlives its data.
_results: VersionedCache[RetentionResult] = VersionedCache(128)

EVENT_HELP = "A track event name, `$any_activity` (any event but heartbeats) or `$pageview`."


@router.get("/", response_model=RetentionResult)
def retention(
    settings: SettingsDep,
    days: DateRangeDep,
    target_event: Annotated[str, Query(description="Defines the cohorts. " + EVENT_HELP)],
    return_event: Annotated[
        str, Query(description="Counts as retained. " + EVENT_HELP)
    ] = "$any_activity",
    period: Annotated[Literal["day", "week", "month"], Query()] = "day",
    cohort_mode: Annotated[
        Literal["first_time", "recurring"],
        Query(
            description="`first_time`: cohort = period of a person's first-ever target event "
            "(first ones before `start` are left out); `recurring`: every period with a "
            "target event starts a cohort row."
        ),
    ] = "first_time",
    counting: Annotated[
        Literal["n_day", "rolling"],
        Query(description="`n_day`: returned in exactly period N; `rolling`: in N or later."),
    ] = "n_day",
    periods: Annotated[
        int | None, Query(ge=1, le=400, description="Highest period number (default: all).")
    ] = None,
) -> RetentionResult:
    """Ad-hoc retention (docs/metrics.md "Retention"), computed over `fct_events` by the
    query engine on the first request after each build, then answered from memory:
    cohorts whose defining event falls in [start, end]; period 0 is the cohort size,
    periods not fully elapsed are null."""
    query = RetentionQuery(
        target_event=target_event,
        return_event=return_event,
        period=period,
        cohort_mode=cohort_mode,
        counting=counting,
        start=days.start,
        end=days.end,
        periods=periods,
    )
    version = data_version(settings)
    key = query.model_dump_json()
    result = _results.get(key, version)
    if result is None:
        with warehouse(settings) as con:
            result = run_retention(con, query)
        _results.put(key, version, result)
    return result
