"""Ad-hoc funnels: a :class:`FunnelQuery` compiled to one SQL query over `fct_events`
(and `dim_users` for the first-touch breakdown), or, for a saved funnel, over the
attempts dbt counted in `fct_funnel_progress`.

How a funnel is counted is written once, as the dbt macros of
dbt_project/macros/funnel_counting.sql and funnels.sql (docs/metrics.md "Funnels"; the
`fct_funnel_progress` docs spell the rules out). This module renders those macros
(:mod:`ringside.insights.macros`) with its relations and its client's values bound as
parameters, around the two differences from the marts: the entry days are a range, and
a person counts once over it rather than once per day.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

import duckdb
from pydantic import BaseModel, ConfigDict, Field

from ringside.core.readers import DUCKDB, Dialect, Reader, as_reader
from ringside.insights.definitions import FunnelDefinition
from ringside.insights.macros import macros
from ringside.insights.sql import (
    Params,
    QueryError,
    check_event_names,
)


class FunnelQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    definition: FunnelDefinition
    start: date = Field(description="First UTC day of step 1 (inclusive).")
    end: date = Field(description="Last UTC day of step 1 (inclusive); later steps may follow.")
    breakdown: Literal["first_touch_source", "device_type"] | None = Field(
        None,
        description="Split every step by the person's first-touch source (dim_users) or "
        "the device of the counted attempt's step-1 event.",
    )


class FunnelStepResult(BaseModel):
    step_number: int
    name: str
    users: int = Field(description="People whose counted attempt reached this step.")
    conversion_from_start: float | None = Field(description="users / step-1 users.")
    conversion_from_previous: float | None = Field(description="users / previous step's.")
    drop_off_users: int = Field(description="Previous step's users - users (step 1: 0).")
    drop_off_rate: float | None = Field(description="drop_off_users / previous step's users.")
    avg_seconds_from_previous: float | None = Field(
        description="Mean time from the previous step, over people reaching this one."
    )
    median_seconds_from_previous: float | None = Field(
        description="Median (interpolated) time from the previous step."
    )


class FunnelBreakdownResult(BaseModel):
    breakdown_value: str = Field(description="The value; `(none)` when unknown.")
    steps: list[FunnelStepResult]


class FunnelResult(BaseModel):
    name: str
    start: date
    end: date
    conversion_window_seconds: int
    steps: list[FunnelStepResult] = Field(description="All people.")
    breakdown: str | None
    breakdowns: list[FunnelBreakdownResult] = Field(
        description="One per breakdown value, most step-1 users first; empty without one."
    )


def check_funnel(query: FunnelQuery) -> None:
    """The checks that need no warehouse; the pydantic models hold the structural ones
    (2 to 20 steps, a positive window, exclusion step ranges)."""
    if query.end < query.start:
        raise QueryError(f"end ({query.end}) is before start ({query.start})")


def run_funnel(
    source: Reader | duckdb.DuckDBPyConnection, query: FunnelQuery, *, precomputed: bool = False
) -> FunnelResult:
    """The funnel over `fct_events`, or with `precomputed` (a saved funnel with its saved
    conversion window only) from the attempts dbt counted in `fct_funnel_progress`: the
    same figures without scanning events at request time."""
    reader = as_reader(source)
    check_funnel(query)
    definition = query.definition
    if precomputed:
        rows = reader.rows(*compile_saved_funnel(query, reader.dialect))
    else:
        check_event_names(
            reader,
            [(step.event, f"step {k}") for k, step in enumerate(definition.steps, 1) if step.event]
            + [
                (exclusion.event, f"exclusion {j}")
                for j, exclusion in enumerate(definition.exclusions, 1)
                if exclusion.event
            ],
        )
        rows = reader.rows(*compile_funnel(query, reader.dialect))
    funnel = normalized(definition)
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault((row["breakdown"], row["breakdown_value"]), []).append(row)
    values = sorted(
        (key for key in groups if key[0] != "all"),
        key=lambda key: (-groups[key][0]["users"], key[1]),
    )
    return FunnelResult(
        name=definition.name,
        start=query.start,
        end=query.end,
        conversion_window_seconds=funnel["window_seconds"],
        steps=_step_results(funnel, groups.get(("all", "all"), [])),
        breakdown=query.breakdown,
        breakdowns=[
            FunnelBreakdownResult(
                breakdown_value=value, steps=_step_results(funnel, groups[(kind, value)])
            )
            for kind, value in values
        ],
    )


def normalized(definition: FunnelDefinition) -> dict[str, Any]:
    """The funnel as the macros read it (funnel_definition in macros/funnels.sql): window
    in seconds, step names (a default label for unnamed steps), exclusion ranges."""
    raw = definition.model_dump(mode="json", exclude_none=True)
    return macros(DUCKDB.name).funnel_definition(raw)


def _step_results(funnel: dict[str, Any], rows: list[dict[str, Any]]) -> list[FunnelStepResult]:
    """A group's report rows as results; no rows means nobody entered: every step has 0
    users and no rates."""
    by_step = {row["step_number"]: row for row in rows}
    results = []
    for k, step in enumerate(funnel["steps"], 1):
        row = by_step.get(k, {})
        results.append(
            FunnelStepResult(
                step_number=k,
                name=step["name"],
                users=row.get("users", 0),
                conversion_from_start=row.get("conversion_from_start"),
                conversion_from_previous=row.get("conversion_from_previous"),
                drop_off_users=row.get("drop_off_users", 0),
                drop_off_rate=row.get("drop_off_rate"),
                avg_seconds_from_previous=row.get("avg_seconds_from_previous"),
                median_seconds_from_previous=row.get("median_seconds_from_previous"),
            )
        )
    return results


# The report of mart_funnel_daily over the counted attempts' steps: the group `all` and,
# with a breakdown, one group per value.
_REPORT = """
breakdown_rows as (
    {{ funnel_breakdown_rows('progress', breakdowns) }}
),

{{ funnel_step_report(
    'report', 'breakdown_rows', 'funnel_steps', group_by=['breakdown', 'breakdown_value']) }}

select * from report
order by breakdown, breakdown_value, step_number
"""

# Every attempt whose step 1 falls in the range; each person counts once over it.
_AD_HOC = (
    """with

{{ funnel_attempts('funnel', 'fct_events', funnel, literal, entry_from=start, entry_to=end) }},

ranked_attempts as (
    select *, {{ funnel_attempt_rank(['stitched_user_id']) }} as attempt_rank
    from funnel_attempts
),

counted_attempts as (
    select
        ranked_attempts.*
        {%- if 'first_touch_source' in breakdowns %},
        dim_users.first_touch_source
    from ranked_attempts
    left join dim_users on dim_users.stitched_user_id = ranked_attempts.stitched_user_id
        {%- else %}
    from ranked_attempts
        {%- endif %}
    where attempt_rank = 1
),

funnel_steps as ({{ funnel_step_numbers(total_steps) }}
),

progress as (
    {{ funnel_reached_steps('counted_attempts', 'funnel_steps', total_steps) }}
),
"""
    + _REPORT
)

# fct_funnel_progress holds each person's counted attempt per entry day; the best attempt
# of a range is the best of its days' best, so ranking those again (by the same rule)
# gives the attempt the engine would count, whose rows are then reported alike.
_SAVED = (
    """with

day_attempts as (
    select distinct
        stitched_user_id,
        entry_message_id as attempt_id,
        entered_at as step_1_at,
        furthest_step
    from fct_funnel_progress
    where funnel_name = {{ name }}
        and entry_date >= {{ start }}
        and entry_date <= {{ end }}
),

ranked_attempts as (
    select *, {{ funnel_attempt_rank(['stitched_user_id']) }} as attempt_rank
    from day_attempts
),

progress as (
    select progress.*
    from fct_funnel_progress as progress
    inner join ranked_attempts
        on ranked_attempts.attempt_id = progress.entry_message_id
        and ranked_attempts.attempt_rank = 1
    where progress.funnel_name = {{ name }}
        and progress.entry_date >= {{ start }}
        and progress.entry_date <= {{ end }}
),

funnel_steps as ({{ funnel_step_numbers(total_steps) }}
),
"""
    + _REPORT
)


def compile_funnel(query: FunnelQuery, dialect: Dialect = DUCKDB) -> tuple[str, dict[str, object]]:
    """The funnel as one SQL query and its bound parameters. The query returns the
    report rows of mart_funnel_daily (breakdown, breakdown_value, step_number, users,
    rates, timings) for the group `all` and, with a breakdown, for each of its values,
    dense over the steps; no rows when nobody entered."""
    check_funnel(query)
    params = Params(dialect)
    sql = macros(dialect.name).render(
        _AD_HOC,
        funnel=normalized(query.definition),
        literal=params.bind,
        start=params.bind(query.start, "start"),
        end=params.bind(query.end, "end"),
        total_steps=len(query.definition.steps),
        breakdowns=[query.breakdown] if query.breakdown else [],
    )
    return sql, params.values


def compile_saved_funnel(
    query: FunnelQuery, dialect: Dialect = DUCKDB
) -> tuple[str, dict[str, object]]:
    """`compile_funnel`'s result for a saved funnel, read from `fct_funnel_progress`."""
    check_funnel(query)
    params = Params(dialect)
    sql = macros(dialect.name).render(
        _SAVED,
        name=params.bind(query.definition.name, "funnel"),
        start=params.bind(query.start, "start"),
        end=params.bind(query.end, "end"),
        total_steps=len(query.definition.steps),
        breakdowns=[query.breakdown] if query.breakdown else [],
    )
    return sql, params.values
