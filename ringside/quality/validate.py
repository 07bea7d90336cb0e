"""Validate a DataFrame against a suite with Great Expectations and summarize the result
as what the Dagster UI shows: how many rows failed, which expectation they failed, and a
sample of the failing rows."""

from __future__ import annotations

import json
import operator
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from ringside.quality.suites import Expectation, Suite

SAMPLE_ROWS = 5


@dataclass(frozen=True)
class SuiteResult:
    suite: str
    rows: int
    failing_rows: int
    """Distinct rows that failed at least one expectation."""
    failures: dict[str, int] = field(default_factory=dict)
    """Failing rows per failed expectation label."""
    errors: dict[str, str] = field(default_factory=dict)
    """Expectations that could not be evaluated (e.g. a missing column), with the reason."""
    sample: list[dict[str, Any]] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.failures and not self.errors


def validate(frame: pd.DataFrame, suite: Suite, *, sample_rows: int = SAMPLE_ROWS) -> SuiteResult:
    """Run every expectation of ``suite`` on ``frame`` in an ephemeral GE context (no GE
    project on disk)."""
    # Imported here: importing great_expectations takes ~3 s and ~260 MB, which loading
    # the Dagster definitions or the CLI must not pay.
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    frame = frame.reset_index(drop=True)  # GE reports failing rows by index
    batch = (
        context.data_sources.add_pandas("ringside")
        .add_dataframe_asset(suite.name)
        .add_batch_definition_whole_dataframe("frame")
        .get_batch(batch_parameters={"dataframe": frame})
    )
    labels = {e.label for e in suite.expectations}
    gx_suite = gx.ExpectationSuite(
        name=suite.name, expectations=[_to_gx(gx, e) for e in suite.expectations]
    )
    outcome = batch.validate(gx_suite, result_format={"result_format": "COMPLETE"})

    failures: dict[str, int] = {}
    errors: dict[str, str] = {}
    failing_index: set[int] = set()
    for result in outcome.results:
        label = Expectation.label_of(
            result.expectation_config.type, result.expectation_config.kwargs
        )
        assert label in labels, f"GE returned an expectation the suite does not hold: {label}"
        if result.success:
            continue
        error = _error_message(result.exception_info)
        if error is not None:
            errors[label] = error
            continue
        indexes = result.result.get("unexpected_index_list") or []
        failures[label] = result.result.get("unexpected_count", len(indexes))
        failing_index.update(indexes)

    sample = frame.loc[sorted(failing_index)[:sample_rows]]
    return SuiteResult(
        suite=suite.name,
        rows=len(frame),
        failing_rows=len(failing_index),
        failures=failures,
        errors=errors,
        # Through JSON so timestamps and NaN become plain values Dagster metadata accepts.
        sample=json.loads(sample.to_json(orient="records", date_format="iso")),
    )


def _to_gx(gx: Any, expectation: Expectation) -> Any:
    from great_expectations.expectations.row_conditions import Column

    kwargs = dict(expectation.kwargs)
    if expectation.where is not None:
        column, op, value = expectation.where
        kwargs["row_condition"] = {"==": operator.eq, ">=": operator.ge}[op](Column(column), value)
    return getattr(gx.expectations, expectation.gx_class_name)(**kwargs)


def _error_message(info: Any) -> str | None:
    """GE reports an expectation that raised either directly or per metric it computed."""
    if not isinstance(info, dict):
        return None
    entries = [info] if "raised_exception" in info else list(info.values())
    for entry in entries:
        if isinstance(entry, dict) and entry.get("raised_exception"):
            return str(entry.get("exception_message"))
    return None


def combine(results: list[SuiteResult], *, sample_rows: int = SAMPLE_ROWS) -> SuiteResult:
    """One result for a suite validated in parts (e.g. day by day, to bound memory)."""
    if not results:
        raise ValueError("no results to combine")
    failures: dict[str, int] = {}
    errors: dict[str, str] = {}
    for result in results:
        for label, count in result.failures.items():
            failures[label] = failures.get(label, 0) + count
        errors |= result.errors
    return SuiteResult(
        suite=results[0].suite,
        rows=sum(r.rows for r in results),
        failing_rows=sum(r.failing_rows for r in results),
        failures=failures,
        errors=errors,
        sample=[row for r in results for row in r.sample][:sample_rows],
    )
