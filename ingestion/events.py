"""The Segment event contract (docs/events.md) as one pydantic model.

:func:`validate_event` is the only way events enter Ringside: it returns the valid
:class:`Event` or every problem as a :class:`FieldError` whose ``field`` is the wire path
(``messageId``, ``context.page.url``, ``$`` for the whole event) and whose ``reason`` is a
sentence that reads naturally after it ("event is required for type 'track'").
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
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
# Real events nest a handful of levels (properties.products[i].variant); hundreds of
# levels are an attack or a bug, and JSON writers refuse to serialize them (orjson stops
# at 255), so such an event could not even be stored. Segment's own limit is size only.
MAX_JSON_DEPTH = 32
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
    try:
        parsed.astimezone(UTC)  # '0001-01-01T00:00:00+01:00' is year 0 in UTC
    except OverflowError:
        raise PydanticCustomError(
            "timestamp_range",
            "must lie between the years 1 and 9999 in UTC (got '{value}')",
            {"value": value[:60]},
        ) from None
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
    # RudderStack's SDKs send identify traits here instead of at the top level.
    traits: dict[str, Any] | None = None


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
        # docs/events.md: `event` is "ignored otherwise" -- a stray value must not reject a page.
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


@dataclass(frozen=True, slots=True)
class EventWindow:
    """The event times accepted at one moment of receipt: from ``earliest`` to ``ahead``
    after the event's arrival (its batch file's ``receivedAt``, else the receipt), never
    past ``latest`` (``ahead`` after the receipt). Outside it an event is quarantined,
    never landed on a day no build expects."""

    earliest: datetime
    latest: datetime
    ahead: timedelta

    @classmethod
    def around(
        cls,
        received_at: datetime,
        *,
        max_age_days: int,
        ahead_hours: int,
        earliest_date: date | None = None,
    ) -> EventWindow:
        """From ``earliest_date`` (00:00 UTC; history imports) or else ``max_age_days``
        before receipt, to ``ahead_hours`` after it."""
        earliest = (
            datetime.combine(earliest_date, time(), UTC)
            if earliest_date is not None
            else received_at - timedelta(days=max_age_days)
        )
        ahead = timedelta(hours=ahead_hours)
        return cls(earliest, received_at + ahead, ahead)

    def problem(self, moment: datetime, arrived: datetime | None = None) -> str | None:
        """Why ``moment`` (of an event that ``arrived`` then) is refused ("2099-01-01T00:00:00Z
        is after ..."), or None."""
        latest = self.latest if arrived is None else min(self.latest, arrived + self.ahead)
        if self.earliest <= moment <= latest:
            return None
        side = "before the earliest" if moment < self.earliest else "after the latest"
        return (
            f"{iso_utc(moment)} is {side} accepted event time (window {iso_utc(self.earliest)}"
            f" .. {iso_utc(latest)}; see RINGSIDE_EARLIEST_EVENT_DATE, "
            "RINGSIDE_MAX_EVENT_AGE_DAYS, RINGSIDE_MAX_EVENT_AHEAD_HOURS)"
        )


def iso_utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def exceeds_depth(value: object, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether objects and arrays nest deeper than ``limit`` (a scalar is depth 0).
    Iterative: the values checked are exactly those too deep to recurse over safely."""
    stack: list[tuple[object, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Iterable[object] = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth == limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


def clip_depth(value: Any, limit: int = MAX_JSON_DEPTH) -> Any:
    """``value`` with every object or array below ``limit`` levels replaced by a marker
    string, so an over-deep event can still be stored (as its quarantine payload)."""
    if not isinstance(value, dict | list):
        return value
    if limit == 0:
        return f"<{json_type(value)} nested deeper than {MAX_JSON_DEPTH} levels: removed>"
    if isinstance(value, dict):
        return {key: clip_depth(child, limit - 1) for key, child in value.items()}
    return [clip_depth(child, limit - 1) for child in value]


def loads_json(raw: bytes) -> Any:
    """JSON text as received (a request body or a file line) -> its value, every NUL
    character (``\\u0000``) in keys and strings replaced by U+FFFD, as PostHog's
    ingestion does: PostgreSQL text and jsonb cannot hold NUL, and one event carrying it
    would otherwise stop every load of its day. Raises ``orjson.JSONDecodeError``."""
    value = orjson.loads(raw)
    # A raw NUL byte is invalid JSON: only the escape can carry one.
    return _without_nul(value) if b"\\u0000" in raw else value


def _without_nul(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    if isinstance(value, dict):
        return {_without_nul(key): _without_nul(child) for key, child in value.items()}
    if isinstance(value, list):
        return [_without_nul(child) for child in value]
    return value


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
    try:
        text: bytes | None = orjson.dumps(data)
    except orjson.JSONEncodeError:
        text = None  # deeper than orjson writes (255 levels), or not JSON at all
    # Walking every value costs about as much as validating the event. A container at
    # depth d has d + 1 opening brackets around it in the text, so an event with at most
    # MAX_JSON_DEPTH of them (those in strings too: an upper bound) cannot be too deep.
    too_many_brackets = text is None or text.count(b"{") + text.count(b"[") > MAX_JSON_DEPTH
    if too_many_brackets and exceeds_depth(data):
        return [
            FieldError("$", f"must nest objects and arrays at most {MAX_JSON_DEPTH} levels deep")
        ]
    if size is None:
        # Without a text, orjson refuses the value: it raises here as it always did.
        size = len(text if text is not None else orjson.dumps(data))
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
        # model_validate's own Python layer (argument handling) cost ~0.5 µs per event.
        event = Event.__pydantic_validator__.validate_python(data)
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
