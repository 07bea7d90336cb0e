"""The Segment event contract (shared/spec/events.md) as one pydantic model.

:func:`validate_event` is the only way events enter Ringside: it returns the valid
:class:`Event` or every problem as a :class:`FieldError` whose ``field`` is the wire path
(``messageId``, ``context.page.url``, ``$`` for the whole event) and whose ``reason`` is a
sentence that reads naturally after it ("event is required for type 'track'").
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal, get_args

import orjson
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    ValidationError,
    model_validator,
)
from pydantic.alias_generators import to_camel
from pydantic_core import ErrorDetails, InitErrorDetails, PydanticCustomError

MAX_EVENT_BYTES = 32 * 1024
EventType = Literal["track", "page", "screen", "identify", "alias"]
EVENT_TYPES: tuple[EventType, ...] = get_args(EventType)


@dataclass(frozen=True, slots=True)
class FieldError:
    field: str  # wire path; "$" is the event as a whole
    reason: str


def json_type(value: object) -> str:
    """The JSON name of a parsed value's type, for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def parse_timestamp(value: object) -> datetime:
    """ISO-8601 text with a UTC offset -> aware datetime.

    Stricter than pydantic's datetime parsing on purpose: that one also takes Unix
    numbers and numeric strings, which are not ISO-8601 and whose unit is a guess.
    """
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise PydanticCustomError(
                "timestamp_format",
                "must be an ISO-8601 timestamp such as '2024-05-01T12:00:00Z' (got '{value}')",
                {"value": value[:60]},
            ) from None
    else:
        raise PydanticCustomError(
            "timestamp_type",
            "must be an ISO-8601 timestamp string such as '2024-05-01T12:00:00Z' (got {got})",
            {"got": json_type(value)},
        )
    if parsed.tzinfo is None:
        raise PydanticCustomError(
            "timestamp_naive",
            "must include a UTC offset such as 'Z' or '+02:00' (got '{value}'); "
            "a timestamp without one is ambiguous",
            {"value": str(value)[:60]},
        )
    return parsed


Timestamp = Annotated[datetime, BeforeValidator(parse_timestamp)]
Id = Annotated[str, Field(min_length=1, max_length=100)]


class _Wire(BaseModel):
    """camelCase on the wire, snake_case in Python; unknown keys are ignored."""

    model_config = ConfigDict(alias_generator=to_camel, extra="ignore", frozen=True)


class Page(_Wire):
    url: str | None = None
    path: str | None = None
    referrer: str | None = None
    title: str | None = None
    search: str | None = None


class Campaign(_Wire):
    source: str | None = None
    medium: str | None = None
    name: str | None = None
    term: str | None = None
    content: str | None = None


class Library(_Wire):
    name: str | None = None
    version: str | None = None


class Consent(_Wire):
    analytics: StrictBool | None = None


class Context(_Wire):
    """The typed part of ``context``; other keys are kept only in the raw JSON."""

    ip: str | None = None
    user_agent: str | None = None
    locale: str | None = None
    # analytics.js session plugins send a number (ms since epoch).
    session_id: str | None = Field(default=None, coerce_numbers_to_str=True)
    page: Page | None = None
    campaign: Campaign | None = None
    library: Library | None = None
    consent: Consent | None = None


class Event(_Wire):
    message_id: Id
    type: EventType
    event: str | None = Field(default=None, min_length=1, max_length=200)
    name: str | None = None
    anonymous_id: Id | None = None
    user_id: Id | None = None
    previous_id: str | None = Field(default=None, min_length=1)
    timestamp: Timestamp | None = None
    sent_at: Timestamp | None = None
    received_at: Timestamp | None = None
    context: Context | None = None
    properties: dict[str, Any] | None = None
    traits: dict[str, Any] | None = None

    @model_validator(mode="before")
    @classmethod
    def _ignore_event_name_unless_track(cls, data: Any) -> Any:
        # events.md: `event` is "ignored otherwise" -- a stray value must not reject a page.
        if isinstance(data, dict) and "event" in data and data.get("type") != "track":
            return {key: value for key, value in data.items() if key != "event"}
        return data

    @model_validator(mode="after")
    def _cross_field_rules(self) -> Event:
        problems: list[InitErrorDetails] = []

        def problem(loc: str, message: str) -> None:
            problems.append(
                InitErrorDetails(type=PydanticCustomError("rule", message), loc=(loc,), input=None)
            )

        if self.type == "track" and self.event is None:
            problem("event", "is required for type 'track'")
        if self.anonymous_id is None and self.user_id is None:
            problem("anonymousId", "or userId is required (the event has neither)")
        if self.type == "alias" and self.previous_id is None:
            problem("previousId", "is required for type 'alias'")
        if problems:
            raise ValidationError.from_exception_data(type(self).__name__, problems)
        return self


def validate_event(
    data: object,
    *,
    size: int | None = None,
    implied_type: EventType | None = None,
    default_message_id: str | None = None,
    keep_received_at: bool = True,
) -> Event | list[FieldError]:
    """Validate one parsed JSON value against the contract.

    ``size`` is the serialized size in bytes when the caller has the text (batch
    lines); otherwise the value is serialized to measure it. The keyword-only options are
    the HTTP collector's: the endpoint's ``implied_type`` (a conflicting ``type`` is an
    error), the ``default_message_id`` for events without one, and dropping the client's
    ``receivedAt`` (the server's arrival time is used instead).
    """
    if not isinstance(data, dict):
        return [FieldError("$", f"must be a JSON object (got {json_type(data)})")]
    if size is None:
        size = len(orjson.dumps(data))
    if size > MAX_EVENT_BYTES:
        return [
            FieldError(
                "$", f"must be at most 32 KB serialized ({MAX_EVENT_BYTES:,} bytes; got {size:,})"
            )
        ]

    errors: list[FieldError] = []
    overrides: dict[str, Any] = {}
    if implied_type is not None:
        sent_type = data.get("type")
        if sent_type is not None and sent_type != implied_type:
            errors.append(
                FieldError("type", f"must be '{implied_type}' on this endpoint (got {sent_type!r})")
            )
        overrides["type"] = implied_type
    if default_message_id is not None and data.get("messageId") is None:
        overrides["messageId"] = default_message_id
    if overrides or (not keep_received_at and "receivedAt" in data):
        data = {**data, **overrides}
        if not keep_received_at:
            data.pop("receivedAt", None)

    try:
        event = Event.model_validate(data)
    except ValidationError as exc:
        return errors + [FieldError(wire_path(e["loc"]), reason(e)) for e in exc.errors()]
    return errors or event


def wire_path(loc: tuple[int | str, ...]) -> str:
    """('context', 'page', 'url') -> 'context.page.url'; ('fighters', 2) -> 'fighters[2]'."""
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else part)
    return path or "$"


def reason(error: ErrorDetails) -> str:
    """A human sentence for one pydantic error, in our words rather than pydantic's."""
    kind, ctx, value = error["type"], error.get("ctx") or {}, error.get("input")
    match kind:
        case "missing":
            return "is required"
        case "string_type":
            return f"must be a string (got {json_type(value)})"
        case "string_too_short" if ctx.get("min_length") == 1:
            return "must not be empty"
        case "string_too_short":
            return f"must be at least {ctx['min_length']} characters (got {len(value)})"
        case "string_too_long":
            return f"must be at most {ctx['max_length']} characters (got {len(value)})"
        case "literal_error":
            return f"must be {ctx['expected']} (got {value!r})"
        case "dict_type" | "model_type" | "model_attributes_type":
            return f"must be an object (got {json_type(value)})"
        case "bool_type" | "bool_parsing":
            return f"must be true or false (got {json_type(value)})"
    # Our own PydanticCustomErrors are already worded as reasons; pydantic's built-in
    # messages read "Input should be ...", which becomes "must be ...".
    message = error["msg"].removeprefix("Value error, ")
    if message.startswith("Input should"):
        return "must" + message.removeprefix("Input should")
    return message
