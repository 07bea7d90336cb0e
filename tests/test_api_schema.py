"""Every operation of the app's OpenAPI schema, fuzzed in-process by schemathesis (its
boundary "coverage" cases, then random valid and invalid inputs): no input may answer a
5xx, and every answer must be one the schema declares, in the declared shape.

The app reads a copy of the hand-built business warehouse (the collector lands events
and reports write files below its home, which the other modules must not see). The
figures of the run (operations, examples, failures) are printed at the end of the module.
"""

import base64
import shutil
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup, ServerError
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from api.main import create_app
from ringside.core.settings import Settings
from tests.api_client import new_key
from tests.platforms import platform_environment

# Bounded so the module runs in about two minutes on two cores; the coverage phase adds
# its boundary cases (ids of 2**63, far dates, empty strings...) on top of these.
MAX_EXAMPLES = 8
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
# Segment's scheme: the write key as the HTTP Basic user name, an empty password.
WRITE_KEY_AUTH = "Basic " + base64.b64encode(b"demo-write-key:").decode()
COLLECTOR_TAG = "collector"

# 503 is the declared answer while a build has not made what a route reads (the business
# warehouse has no ML outputs): unavailable, not broken. The figures count them apart.
CONFIG = schemathesis.Config.from_dict(
    {"checks": {"not_a_server_error": {"expected-statuses": ["2xx", "3xx", "4xx", "503"]}}}
)
app = create_app()
schema = schemathesis.openapi.from_asgi("/openapi.json", app, config=CONFIG)


@dataclass
class Figures:
    operations: set[str] = field(default_factory=set)
    examples: int = 0
    unavailable: int = 0
    failures: Counter[str] = field(default_factory=Counter)
    failing: Counter[str] = field(default_factory=Counter)


figures = Figures()


@pytest.fixture(scope="module")
def served(
    business_warehouse: Settings,
    tmp_path_factory: pytest.TempPathFactory,
    request: pytest.FixtureRequest,
) -> Iterator[Settings]:
    home = tmp_path_factory.mktemp("schema") / "home"
    shutil.copytree(business_warehouse.home, home, ignore=shutil.ignore_patterns("dagster"))
    started = time.perf_counter()
    with platform_environment(Settings(home=home)) as copied:
        yield copied
    # Past the output capture: the figures are wanted on a green run too.
    with request.config.pluginmanager.getplugin("capturemanager").global_and_fixture_disabled():
        print(
            f"\nschemathesis: {len(figures.operations)} operations, {figures.examples} "
            f"examples, {figures.failures['server error']} server errors, "
            f"{figures.failures['schema violation']} schema violations, "
            f"{figures.unavailable} declared 503s in {time.perf_counter() - started:.0f} s"
        )
        for operation, count in sorted(figures.failing.items()):
            print(f"  {count} failing examples: {operation}")


def _headers(case: schemathesis.Case, settings: Settings) -> dict[str, str]:
    if COLLECTOR_TAG in case.operation.definition.raw.get("tags", []):
        return {"Authorization": WRITE_KEY_AUTH}
    # A key per example: DELETE /keys/{key_id} may revoke the one an earlier example used.
    return {"Authorization": f"Bearer {new_key(settings, 'admin')}"}


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_no_server_error_and_every_answer_declared(
    case: schemathesis.Case, served: Settings
) -> None:
    figures.operations.add(case.operation.label)
    figures.examples += 1
    try:
        response = case.call(headers=_headers(case, served))
    except Exception:
        # The app raised: the in-process transport re-raises after the 500.
        _record(case, "server error")
        raise
    figures.unavailable += response.status_code == 503
    try:
        case.validate_response(response, checks=CHECKS)
    except FailureGroup as group:
        for failure in group.exceptions:
            server = isinstance(failure, ServerError)
            _record(case, "server error" if server else "schema violation")
        raise


def _record(case: schemathesis.Case, kind: str) -> None:
    figures.failures[kind] += 1
    figures.failing[f"{case.operation.label} ({kind})"] += 1
