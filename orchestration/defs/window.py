"""The event days a build run covers.

The warehouse assets are not partitioned by day: a run's cost follows what landed since
the last build, and Dagster keeps one record per asset per run whatever the number of
days (per-day partitions cost ~4,000 records a run). The sensor and `ringside build`
name the run's days in its `ringside/days` tag; a run without it (materialized from the
UI) builds the days landed since the last build of the database it writes.
"""

from datetime import date

from dagster import DagsterRun

from ringside.core.build_state import build_days
from ringside.core.settings import get_settings

DAYS_TAG = "ringside/days"
# The daily full check: dbt tests and quality suites over whole tables, not the run's rows.
FULL_CHECKS_TAG = "ringside/full_checks"


def days_tag(days: list[date]) -> dict[str, str]:
    return {DAYS_TAG: ",".join(day.isoformat() for day in sorted(days))}


def tagged_days(run: DagsterRun) -> list[date] | None:
    """The days the run's tag names, if it has one."""
    tag = run.tags.get(DAYS_TAG)
    if tag is None:
        return None
    return [date.fromisoformat(day) for day in tag.split(",") if day]


def run_days(run: DagsterRun) -> list[date]:
    """The run's event days: its tag, else the days the database it writes lacks (none
    when nothing is new)."""
    tagged = tagged_days(run)
    if tagged is not None:
        return tagged
    return build_days(get_settings())
