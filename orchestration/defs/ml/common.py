"""What the ML assets share: their group, the accuracy threshold their checks hold them
to, the warehouse asset keys of the marts they read, and how a skipped or finished asset
reports."""

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetExecutionContext,
    AssetKey,
    MetadataValue,
)

ACCURACY_THRESHOLD = 0.75
GROUP = "ml"


def warehouse_key(model: str) -> AssetKey:
    return AssetKey(["warehouse", model])


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def table(rows: list[dict[str, Any]]) -> MetadataValue:
    """A small figures table for the Dagster UI."""
    return MetadataValue.json(json.loads(json.dumps(rows, default=str)))


def skip(
    context: AssetExecutionContext, reason: str, checks: tuple[str, ...] = ()
) -> Iterator[AssetCheckResult]:
    """Materialize nothing and say why; the asset's checks report the model as missing
    (a warning: there is no model to be below its baseline)."""
    context.log.warning(f"skipped: {reason}")
    for name in checks:
        yield AssetCheckResult(
            check_name=name,
            passed=False,
            severity=AssetCheckSeverity.WARN,
            metadata={"skipped": reason},
        )
