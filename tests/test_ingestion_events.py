"""The event contract (docs/events.md), rule by rule: field paths and reasons."""

from datetime import UTC, datetime, timedelta, timezone

import pytest

from ingestion.events import MAX_EVENT_BYTES, Event, FieldError, validate_event


def event(**fields: object) -> dict[str, object]:
    """A valid track event; keyword arguments override (None removes the field)."""
    body: dict[str, object] = {
        "messageId": "m-1",
        "type": "track",
        "event": "Content Liked",
        "anonymousId": "anon-1",
        "timestamp": "2026-08-04T10:00:00.000Z",
    }
    body.update(fields)
    return {key: value for key, value in body.items() if value is not None}


def errors_of(data: object, **options: object) -> list[FieldError]:
    result = validate_event(data, **options)  # type: ignore[arg-type]
    assert isinstance(result, list), f"expected errors, got {result!r}"
    return result


def test_a_valid_event_is_parsed_into_python_names():
    result = validate_event(
        event(
            userId="u-1",
            sentAt="2026-08-04T12:00:05+02:00",
            context={"page": {"url": "https://x.test/a"}, "consent": {"analytics": True}},
            properties={"content_id": "article:1"},
        )
    )
    assert isinstance(result, Event)
    assert result.message_id == "m-1" and result.user_id == "u-1"
    assert result.timestamp == datetime(2026, 8, 4, 10, tzinfo=UTC)
    assert result.sent_at == datetime(2026, 8, 4, 12, 0, 5, tzinfo=timezone(timedelta(hours=2)))
    assert result.context is not None and result.context.page is not None
    assert result.context.page.url == "https://x.test/a"
    assert result.properties == {"content_id": "article:1"}


@pytest.mark.parametrize(
    ("data", "field", "reason"),
    [
        (event(messageId=None), "messageId", "is required"),
        (event(messageId=""), "messageId", "must not be empty"),
        (event(messageId="x" * 142), "messageId", "must be at most 100 characters (got 142)"),
        (event(messageId=42), "messageId", "must be a string (got number)"),
        (event(type=None), "type", "is required"),
        (
            event(type="pageview"),
            "type",
            "must be 'track', 'page', 'screen', 'identify' or 'alias' (got 'pageview')",
        ),
        (event(event=None), "event", "is required for type 'track'"),
        (event(event=""), "event", "must not be empty"),
        (event(event="e" * 201), "event", "must be at most 200 characters (got 201)"),
        (
            event(anonymousId=None),
            "anonymousId",
            "or userId is required (the event has neither)",
        ),
        (event(userId="u" * 101), "userId", "must be at most 100 characters (got 101)"),
        (event(type="alias", userId="u-1"), "previousId", "is required for type 'alias'"),
        (event(context=[1]), "context", "must be an object (got array)"),
        (event(properties="[object Object]"), "properties", "must be an object (got string)"),
        (event(traits=42), "traits", "must be an object (got number)"),
        (
            event(context={"page": {"url": 5}}),
            "context.page.url",
            "must be a string (got number)",
        ),
        (
            event(context={"consent": {"analytics": "yes"}}),
            "context.consent.analytics",
            "must be true or false (got string)",
        ),
    ],
)
def test_each_rule_names_the_field_and_the_reason(data: object, field: str, reason: str):
    assert FieldError(field, reason) in errors_of(data)


def test_naive_timestamps_are_rejected_and_the_reason_says_why():
    (error,) = errors_of(event(timestamp="2026-08-04T10:00:00.000"))
    assert error.field == "timestamp"
    assert "must include a UTC offset" in error.reason
    assert "2026-08-04T10:00:00.000" in error.reason


@pytest.mark.parametrize("value", ["08/04/2026 10:00:00", "1785837600", "yesterday"])
def test_timestamps_must_be_iso_8601(value: str):
    (error,) = errors_of(event(sentAt=value))
    assert error.field == "sentAt"
    assert error.reason.startswith("must be an ISO-8601 timestamp")


def test_unix_numbers_are_not_timestamps():
    (error,) = errors_of(event(timestamp=1785837600))
    assert error == FieldError(
        "timestamp",
        "must be an ISO-8601 timestamp string such as '2024-05-01T12:00:00Z' (got number)",
    )


def test_an_event_must_be_a_json_object():
    assert errors_of(["messageId", "m-1"]) == [FieldError("$", "must be a JSON object (got array)")]


def test_an_event_over_32_kb_is_rejected_as_a_whole():
    big = event(properties={"debug_dom": "x" * MAX_EVENT_BYTES})
    (error,) = errors_of(big)
    assert error.field == "$"
    assert error.reason.startswith("must be at most 32 KB serialized")
    # The size of the text as received is used when the caller has it.
    assert errors_of(event(), size=MAX_EVENT_BYTES + 1)[0].field == "$"


def test_every_problem_is_reported_not_just_the_first():
    fields = [e.field for e in errors_of(event(messageId="", type="bogus", properties=[]))]
    assert fields == ["messageId", "type", "properties"]


def test_event_is_ignored_for_other_types():
    result = validate_event(event(type="page", event=5, name="Home"))
    assert isinstance(result, Event) and result.event is None and result.name == "Home"


def test_pydantic_wording_never_leaks():
    data = event(messageId=None, type=3, anonymousId=[], timestamp="soon", context={"ip": 1})
    for error in errors_of(data):
        assert not error.reason.startswith(("Input should", "Value error", "Field required"))


def test_collector_options_fill_the_message_id_and_imply_the_type():
    result = validate_event(
        event(messageId=None, type=None), implied_type="track", default_message_id="filled"
    )
    assert isinstance(result, Event)
    assert (result.message_id, result.type) == ("filled", "track")
    # A messageId the client sent is kept.
    kept = validate_event(event(), default_message_id="filled")
    assert isinstance(kept, Event) and kept.message_id == "m-1"


def test_a_type_conflicting_with_the_endpoint_is_an_error():
    errors = errors_of(event(type="page"), implied_type="track")
    assert errors[0] == FieldError("type", "must be 'track' on this endpoint (got 'page')")


def test_the_collector_ignores_a_client_received_at():
    data = event(receivedAt="not even a timestamp")
    assert errors_of(data)[0].field == "receivedAt"  # batch files: a server value, checked
    result = validate_event(data, keep_received_at=False)
    assert isinstance(result, Event) and result.received_at is None


def test_unknown_fields_are_accepted():
    data = event(integrations={"All": True}, context={"ip": "1.2.3.4", "timezone": "Europe/Paris"})
    result = validate_event(data)
    assert isinstance(result, Event) and result.context is not None
    assert result.context.ip == "1.2.3.4"
