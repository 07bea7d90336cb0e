"""Ad-hoc funnels: a :class:`FunnelQuery` compiled to one SQL query over `fct_events`
(and `dim_users` for the first-touch breakdown).

Semantics (docs/metrics.md "Funnels"; PostHog's ordered funnels where it is silent):

- every step-1 event of a person (``stitched_user_id``) whose ``event_date`` is in
  [start, end] is an attempt; later steps may fall after ``end``, up to the window;
- greedy chain: step k is the person's earliest step-k event strictly later than the
  attempt's step k-1 and no later than step 1 + window (inclusive), so one event never
  fills two steps;
- an exclusion (a, b) voids an attempt that reached step a when a matching event falls
  strictly between steps a and b (or after step a and inside the window when b was not
  reached); a void attempt counts nowhere;
- each person counts once: their non-void attempt that got furthest, the earliest on ties
  (then the smallest message id); step timings come from that attempt.

Each greedy round is a "next event after t" lookup. It is written as a window over the
union of the attempts and the step's events, ordered by time per person, rather than as
a join with ``min()``: a join pairs every attempt with every later step event of the
same person, which grows with the square of a heavy user's events (a page view → page
view funnel), while the window sorts each row once.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any, Literal

import duckdb
from pydantic import BaseModel, ConfigDict, Field

from ringside.core.readers import DUCKDB, Dialect, Reader, as_reader
from ringside.insights.definitions import FunnelDefinition
from ringside.insights.sql import (
    Params,
    QueryError,
    check_event_names,
    matcher_predicate,
)

NO_VALUE = "(none)"
# A common table expression: (name, body).
Cte = tuple[str, str]
BREAKDOWN_COLUMNS = {
    "first_touch_source": "dim_users.first_touch_source",
    "device_type": "ranked_attempts.device_type",
}
# The same breakdowns in fct_funnel_progress (the counted attempt's step-1 device).
PROGRESS_BREAKDOWN_COLUMNS = {
    "first_touch_source": "first_touch_source",
    "device_type": "entry_device_type",
}


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
    (everyone,) = (row for row in rows if not row["is_breakdown"])
    groups = sorted(
        (row for row in rows if row["is_breakdown"]),
        key=lambda row: (-row["users_1"], row["breakdown_value"]),
    )
    return FunnelResult(
        name=definition.name,
        start=query.start,
        end=query.end,
        conversion_window_seconds=definition.conversion_window.seconds,
        steps=_step_results(definition, everyone),
        breakdown=query.breakdown,
        breakdowns=[
            FunnelBreakdownResult(
                breakdown_value=row["breakdown_value"], steps=_step_results(definition, row)
            )
            for row in groups
        ],
    )


def _ratio(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


def _step_results(definition: FunnelDefinition, row: dict[str, Any]) -> list[FunnelStepResult]:
    users = [row[f"users_{k}"] for k in range(1, len(definition.steps) + 1)]
    results = []
    for k, step in enumerate(definition.steps, 1):
        previous = users[k - 2] if k > 1 else users[0]
        results.append(
            FunnelStepResult(
                step_number=k,
                name=step.display_name,
                users=users[k - 1],
                conversion_from_start=_ratio(users[k - 1], users[0]),
                conversion_from_previous=_ratio(users[k - 1], previous),
                drop_off_users=previous - users[k - 1],
                drop_off_rate=_ratio(previous - users[k - 1], previous),
                avg_seconds_from_previous=row.get(f"avg_seconds_{k}"),
                median_seconds_from_previous=row.get(f"median_seconds_{k}"),
            )
        )
    return results


def compile_funnel(query: FunnelQuery, dialect: Dialect = DUCKDB) -> tuple[str, dict[str, object]]:
    """The funnel as one SQL query and its bound parameters. The query returns one row
    for all people (``is_breakdown`` false) and, with a breakdown, one per value, with
    ``users_k`` for every step k and ``avg_seconds_k`` / ``median_seconds_k`` for k >= 2."""
    check_funnel(query)
    definition = query.definition
    params = Params(dialect)
    ctes = [
        _matched_events(query, params),
        _attempts(query, params),
        *_greedy_rounds(definition),
        *_exclusions(definition),
        _valid_attempts(definition),
        _ranked_attempts(),
        _counted_people(query, params),
    ]
    body = ",\n".join(f"{name} as ({sql}\n)" for name, sql in ctes)
    return f"with\n{body}\n\n{_aggregate(query)}", params.values


def compile_saved_funnel(
    query: FunnelQuery, dialect: Dialect = DUCKDB
) -> tuple[str, dict[str, object]]:
    """`compile_funnel`'s result for a saved funnel, read from `fct_funnel_progress`. That
    table holds each person's counted attempt per entry day (furthest step, then earliest,
    as `_ranked_attempts` orders them); the best attempt of a range is the best of its
    days' best, so ranking those day rows again gives the engine's counted attempt, and
    the engine's own aggregate runs over them."""
    check_funnel(query)
    params = Params(dialect)
    n_steps = len(query.definition.steps)
    pivot = "".join(
        f",\n        max(case when step_number = {k} then reached_at end) as step_{k}_at"
        for k in range(1, n_steps + 1)
    ) + "".join(
        f",\n        max(case when step_number = {k} then seconds_from_previous end) as seconds_{k}"
        for k in range(2, n_steps + 1)
    )
    breakdown = ""
    if query.breakdown is not None:
        column = PROGRESS_BREAKDOWN_COLUMNS[query.breakdown]
        breakdown = f"coalesce({column}, {params.bind(NO_VALUE, 'no_value')}) as breakdown_value, "
    columns = ", ".join(
        [f"step_{k}_at" for k in range(1, n_steps + 1)]
        + [f"seconds_{k}" for k in range(2, n_steps + 1)]
    )
    sql = f"""with
day_attempts as (
    select
        stitched_user_id, entry_message_id, entered_at, furthest_step, entry_device_type,
        first_touch_source{pivot}
    from fct_funnel_progress
    where funnel_name = {params.bind(query.definition.name, "funnel")}
        and entry_date >= {params.bind(query.start, "start")}
        and entry_date <= {params.bind(query.end, "end")}
    group by
        stitched_user_id, entry_message_id, entered_at, furthest_step, entry_device_type,
        first_touch_source
),
ranked_days as (
    select
        *,
        row_number() over (
            partition by stitched_user_id
            order by furthest_step desc, entered_at, entry_message_id
        ) as attempt_rank
    from day_attempts
),
counted_people as (
    select {breakdown}{columns}
    from ranked_days
    where attempt_rank = 1
)

{_aggregate(query)}"""
    return sql, params.values


def _matched_events(query: FunnelQuery, params: Params) -> Cte:
    """The events any step or exclusion matches, from `start` to the last day a step can
    fall on, with one flag per step and exclusion: every later CTE reads only these."""
    definition = query.definition
    window = definition.conversion_window.seconds
    # Step 1 on `end` just before midnight, plus the window.
    last_day = (datetime.combine(query.end, time()) + timedelta(days=1, seconds=window)).date()
    start = params.bind(query.start, "start")
    last = params.bind(last_day, "last_day")
    flags = [
        (f"is_step_{k}", matcher_predicate(step, params))
        for k, step in enumerate(definition.steps, 1)
    ] + [
        (f"is_exclusion_{j}", matcher_predicate(exclusion, params))
        for j, exclusion in enumerate(definition.exclusions, 1)
    ]
    # A NULL column (no page path, no property) leaves a predicate NULL: read as false.
    flag_columns = "".join(
        f",\n        coalesce({predicate}, false) as {name}" for name, predicate in flags
    )
    any_flag = "\n            or ".join(predicate for _, predicate in flags)
    return (
        "matched_events",
        f"""
    select
        message_id,
        stitched_user_id,
        device_type,
        event_time,
        event_date{flag_columns}
    from fct_events
    where event_date >= {start}
        and event_date <= {last}
        and (
            {any_flag}
        )""",
    )


def _attempts(query: FunnelQuery, params: Params) -> Cte:
    end = params.bind(query.end, "end")
    window = params.bind(query.definition.conversion_window.seconds, "window_seconds")
    return (
        "attempts",
        f"""
    select
        message_id as attempt_id,
        stitched_user_id,
        device_type,
        event_time as step_1_at,
        event_time + {window} * interval '1 second' as deadline
    from matched_events
    where is_step_1
        and event_date <= {end}""",
    )


def _next_event(name: str, anchors: str, anchor_at: str, flag: str) -> list[Cte]:
    """CTEs ``<name>_candidates`` and ``<name>_next``: for each row of ``anchors`` (an
    attempt at some step), ``next_at`` = the time of the person's first event flagged
    ``flag`` strictly later than ``anchor_at`` (NULL when none).

    Newest first, an anchor's preceding rows are the later ones; at equal times anchors
    sort before events, so an event at the anchor's own time is not among them. The frame
    starts at the partition's head, which both engines aggregate incrementally. Only people
    with both anchors and flagged events take part: the others cannot move on."""
    candidates = f"""
    select attempt_id, stitched_user_id, deadline, {anchor_at} as at_time, true as is_anchor
    from {anchors}
    where stitched_user_id in (select stitched_user_id from matched_events where {flag})
    union all
    select null, stitched_user_id, null, event_time, false
    from matched_events
    where {flag}
        and stitched_user_id in (select stitched_user_id from {anchors})"""
    following = f"""
    select
        attempt_id,
        stitched_user_id,
        deadline,
        is_anchor,
        min(case when not is_anchor then at_time end) over (
            partition by stitched_user_id
            order by at_time desc, is_anchor desc
            rows between unbounded preceding and 1 preceding
        ) as next_at
    from {name}_candidates"""
    return [(f"{name}_candidates", candidates), (f"{name}_next", following)]


def _greedy_rounds(definition: FunnelDefinition) -> list[Cte]:
    """``reached_k`` for k >= 2: the attempts that reached step k, with its time."""
    ctes: list[Cte] = []
    for k in range(2, len(definition.steps) + 1):
        anchors = "attempts" if k == 2 else f"reached_{k - 1}"
        ctes += _next_event(f"step_{k}", anchors, f"step_{k - 1}_at", f"is_step_{k}")
        ctes.append(
            (
                f"reached_{k}",
                f"""
    select attempt_id, stitched_user_id, deadline, next_at as step_{k}_at
    from step_{k}_next
    where is_anchor and next_at <= deadline""",
            )
        )
    return ctes


def _exclusions(definition: FunnelDefinition) -> list[Cte]:
    """``exclusion_j``: per attempt that reached the exclusion's first step, the first
    matching event after that step and inside the window."""
    ctes: list[Cte] = []
    for j, exclusion in enumerate(definition.exclusions, 1):
        from_step, _ = definition.exclusion_range(exclusion)
        anchors = "attempts" if from_step == 1 else f"reached_{from_step}"
        ctes += _next_event(f"exclusion_{j}", anchors, f"step_{from_step}_at", f"is_exclusion_{j}")
        ctes.append(
            (
                f"exclusion_{j}",
                f"""
    select attempt_id, next_at as exclusion_{j}_at
    from exclusion_{j}_next
    where is_anchor and next_at <= deadline""",
            )
        )
    return ctes


def _valid_attempts(definition: FunnelDefinition) -> Cte:
    """Every attempt with its step times and furthest step, void ones left out."""
    n_steps = len(definition.steps)
    step_times = "".join(f",\n        reached_{k}.step_{k}_at" for k in range(2, n_steps + 1))
    furthest = "".join(
        f"\n            when reached_{k}.step_{k}_at is not null then {k}"
        for k in range(n_steps, 1, -1)
    )
    joins = "".join(
        f"\n    left join reached_{k} on reached_{k}.attempt_id = attempts.attempt_id"
        for k in range(2, n_steps + 1)
    ) + "".join(
        f"\n    left join exclusion_{j} on exclusion_{j}.attempt_id = attempts.attempt_id"
        for j in range(1, len(definition.exclusions) + 1)
    )
    # An exclusion's first event after step a voids the attempt unless it comes at or
    # after step b; when b was not reached the comparison is NULL, which voids too.
    conditions = [
        f"(exclusion_{j}.exclusion_{j}_at is null"
        f" or exclusion_{j}.exclusion_{j}_at >= reached_{to_step}.step_{to_step}_at)"
        for j, (_, to_step) in enumerate(map(definition.exclusion_range, definition.exclusions), 1)
    ]
    where = ("\n    where " + "\n        and ".join(conditions)) if conditions else ""
    return (
        "valid_attempts",
        f"""
    select
        attempts.attempt_id,
        attempts.stitched_user_id,
        attempts.device_type,
        attempts.step_1_at{step_times},
        case{furthest}
            else 1
        end as furthest_step
    from attempts{joins}{where}""",
    )


def _ranked_attempts() -> Cte:
    return (
        "ranked_attempts",
        """
    select
        *,
        row_number() over (
            partition by stitched_user_id
            order by furthest_step desc, step_1_at, attempt_id
        ) as attempt_rank
    from valid_attempts""",
    )


def _counted_people(query: FunnelQuery, params: Params) -> Cte:
    """One row per person: the counted attempt (furthest step, then earliest), its step
    times, the seconds between consecutive steps and the breakdown value."""
    n_steps = len(query.definition.steps)
    step_times = "".join(f",\n        step_{k}_at" for k in range(2, n_steps + 1))
    seconds = "".join(
        f",\n        cast(extract(epoch from (step_{k}_at - step_{k - 1}_at)) as double precision)"
        f" as seconds_{k}"
        for k in range(2, n_steps + 1)
    )
    breakdown, users_join = "", ""
    if query.breakdown is not None:
        column = BREAKDOWN_COLUMNS[query.breakdown]
        breakdown = (
            f"\n        coalesce({column}, {params.bind(NO_VALUE, 'no_value')}) as breakdown_value,"
        )
    if query.breakdown == "first_touch_source":
        users_join = (
            "\n    left join dim_users"
            "\n        on dim_users.stitched_user_id = ranked_attempts.stitched_user_id"
        )
    return (
        "counted_people",
        f"""
    select{breakdown}
        step_1_at{step_times}{seconds}
    from ranked_attempts{users_join}
    where attempt_rank = 1""",
    )


def _aggregate(query: FunnelQuery) -> str:
    n_steps = len(query.definition.steps)
    aggregates = [f"count(step_{k}_at) as users_{k}" for k in range(1, n_steps + 1)]
    for k in range(2, n_steps + 1):
        aggregates += [
            f"avg(seconds_{k}) as avg_seconds_{k}",
            f"percentile_cont(0.5) within group (order by seconds_{k}) as median_seconds_{k}",
        ]
    columns = ",\n    ".join(aggregates)
    if query.breakdown is None:
        return f"""select
    false as is_breakdown,
    'all' as breakdown_value,
    {columns}
from counted_people
"""
    # The empty grouping set gives the all-people row in the same pass.
    return f"""select
    grouping(breakdown_value) = 0 as is_breakdown,
    breakdown_value,
    {columns}
from counted_people
group by grouping sets ((), (breakdown_value))
"""
