"""Every `curl` example of README.md, run by curl itself against a live server in a fresh
RINGSIDE_HOME: the collector examples first, then a build (which must succeed and
publish), then the analytics examples, with a key of a role that may do what they do.

The examples are read from the README's fenced code blocks, so an example added there
is run here; one this module does not understand (an option, host or route it has no
expectation for) fails the test instead of being skipped.

The README's events are dated 2026-08-01: the server runs with
RINGSIDE_EARLIEST_EVENT_DATE=2026-01-01 so the bounded acceptance window takes them.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import duckdb
import pytest

from orchestration.runner import landed_days, run_build
from tests.api_client import new_key
from tests.live_server import LiveServer, landed_rows, live_server

README = Path(__file__).resolve().parents[1] / "README.md"
README_ORIGIN = "http://127.0.0.1:8000"
SERVER_ENV = {"RINGSIDE_EARLIEST_EVENT_DATE": "2026-01-01"}
FENCE = re.compile(r"^```[^\n]*\n(.*?)^```", re.DOTALL | re.MULTILINE)
COLLECTOR_PATHS = ("/v1/batch", "/v1/track", "/v1/page", "/v1/screen", "/v1/identify",
                   "/v1/alias", "/api/analytics/events/")  # fmt: skip
# The analytics examples this module knows what to expect of, and the role they need.
ANALYTICS_ROLES = {"/api/analytics/overview/": "viewer", "/api/analytics/reports/": "analyst"}


@dataclass
class CurlExample:
    text: str  # the command as written in the README (continuation lines joined)
    method: str = "GET"
    url: str = ""
    write_key: str | None = None  # -u KEY:
    headers: dict[str, str] = field(default_factory=dict)
    data: str | None = None

    @property
    def path(self) -> str:
        return urlsplit(self.url).path

    @property
    def is_collector(self) -> bool:
        return self.path in COLLECTOR_PATHS


def curl_commands(markdown: str) -> list[str]:
    """Every command of a fenced code block that mentions curl, with its continuation
    lines and multi-line quoted arguments; a line that mentions curl anywhere starts a
    command (which then fails to parse unless it is a curl call), so no example hides."""
    commands: list[str] = []
    for block in FENCE.findall(markdown):
        lines = block.splitlines()
        index = 0
        while index < len(lines):
            if "curl" not in lines[index]:
                index += 1
                continue
            command = lines[index].strip()
            index += 1
            while (command.endswith("\\") or not _balanced(command)) and index < len(lines):
                command = (
                    command.removesuffix("\\").rstrip()
                    + (" " if command.endswith("\\") else "\n")
                    + lines[index].strip()
                )
                index += 1
            commands.append(command)
    return commands


def _balanced(command: str) -> bool:
    try:
        shlex.split(command)
    except ValueError:  # an open quote: the argument goes on on the next line
        return False
    return True


def parse_curl(command: str) -> CurlExample:
    """The example's request, or AssertionError naming what is not understood."""
    words = shlex.split(command, posix=True)
    assert words and words[0] == "curl", f"not a curl command: {command!r}"
    example = CurlExample(command)
    explicit_method: str | None = None
    rest = iter(words[1:])
    for word in rest:
        if word == "-u":
            user = next(rest)
            assert user.endswith(":"), f"-u {user!r}: expected a write key and no password"
            example.write_key = user.removesuffix(":")
        elif word == "-H":
            name, _, value = next(rest).partition(":")
            example.headers[name.strip().lower()] = value.strip()
        elif word == "-X":
            explicit_method = next(rest)
        elif word in ("-d", "--data"):
            example.data = next(rest)
        elif word.startswith(README_ORIGIN + "/"):
            assert not example.url, f"two URLs in {command!r}"
            example.url = word
        else:
            raise AssertionError(f"curl argument {word!r} not understood in {command!r}")
    assert example.url, f"no {README_ORIGIN} URL in {command!r}"
    example.method = explicit_method or ("POST" if example.data is not None else "GET")
    if not example.is_collector:
        assert example.path in ANALYTICS_ROLES, (
            f"README example for {example.path} has no expectation in this test: {command!r}"
        )
    return example


@dataclass(frozen=True)
class CurlResult:
    status: int
    body: Any


def run_curl(example: CurlExample, server: LiveServer, env: dict[str, str]) -> CurlResult:
    """The README's command text, run by bash and curl, with the host replaced."""
    command = example.text.replace(README_ORIGIN, server.url)
    script = f"{command} -sS -o \"$OUT\" -w '%{{http_code}}'"
    out = server.settings.home / "curl-response.json"
    completed = subprocess.run(
        ["bash", "-c", script],
        env={"PATH": "/usr/bin:/bin", "OUT": str(out), **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, f"curl failed: {completed.stderr}"
    text = out.read_text()
    try:
        body: Any = json.loads(text)
    except json.JSONDecodeError:
        body = text
    return CurlResult(int(completed.stdout), body)


def readme_events(examples: list[CurlExample]) -> list[dict[str, Any]]:
    """The events the README's collector examples send, read from their bodies here."""
    events: list[dict[str, Any]] = []
    for example in examples:
        assert example.data is not None, f"a collector example without a body: {example.text}"
        body = json.loads(example.data)
        events += body.get("batch", [body])
    return events


def event_day(event: dict[str, Any]) -> str:
    return datetime.fromisoformat(event["timestamp"]).date().isoformat()


@pytest.fixture(scope="module")
def examples() -> list[CurlExample]:
    return [parse_curl(command) for command in curl_commands(README.read_text())]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    assert shutil.which("curl"), "the README's examples are curl commands"
    with live_server(tmp_path_factory.mktemp("readme") / "home", SERVER_ENV) as live:
        yield live


def test_the_readme_has_curl_examples_of_both_kinds(examples: list[CurlExample]) -> None:
    assert any(e.is_collector for e in examples)
    assert any(not e.is_collector for e in examples)


def test_the_parser_refuses_what_it_does_not_understand() -> None:
    with pytest.raises(AssertionError, match="not understood"):
        parse_curl(f"curl -k {README_ORIGIN}/v1/batch")
    with pytest.raises(AssertionError, match="no expectation"):
        parse_curl(f"curl {README_ORIGIN}/api/analytics/unknown/")
    assert curl_commands("```\nx=1\n  curl \\\n  -u k: http://h/\n```\n") == [
        "curl -u k: http://h/"
    ]


def test_every_readme_curl_example_works_and_a_build_publishes(
    examples: list[CurlExample], server: LiveServer
) -> None:
    settings = server.settings
    collector = [e for e in examples if e.is_collector]
    analytics = [e for e in examples if not e.is_collector]
    sent = readme_events(collector)

    for example in collector:
        result = run_curl(example, server, {})
        body = json.loads(example.data or "{}")
        expected = len(body["batch"]) if "batch" in body else 1
        assert (result.status, result.body) == (
            200,
            {"success": True, "accepted": expected, "rejected": []},
        ), example.text

    landed = Counter(row["message_id"] for row in landed_rows(settings))
    assert landed == Counter(event["messageId"] for event in sent)

    run_build(landed_days(settings.layout))
    assert settings.layout.serving_path.exists()
    with duckdb.connect(str(settings.layout.serving_path), read_only=True) as con:
        built = {mid for (mid,) in con.execute("select message_id from fct_events").fetchall()}
    assert built == {event["messageId"] for event in sent}

    for example in analytics:
        key = new_key(settings, ANALYTICS_ROLES[example.path])  # type: ignore[arg-type]
        result = run_curl(example, server, {"RINGSIDE_KEY": key})
        assert 200 <= result.status < 300, (example.text, result.status, result.body)
        if example.path == "/api/analytics/overview/":
            query = parse_qs(urlsplit(example.url).query)
            start, end = query["start"][0], query["end"][0]
            expected_days = Counter(event_day(e) for e in sent if start <= event_day(e) <= end)
            served = {d["date"]: d["events"] for d in result.body["days"] if d["events"]}
            assert served == dict(expected_days)
        elif example.path == "/api/analytics/reports/":
            assert result.body["name"] == json.loads(example.data or "{}")["name"]
