"""The one path every event takes, whichever door it came in by (batch file or HTTP):
parse -> validate -> skew-correct -> enrich -> land.

Invariant: every input item is either landed (accepted) or quarantined with its reasons;
``accepted + len(rejections) == number of items``. The raw layer is at-least-once: an
event repeated with the same messageId (a client retry, a file exported twice) is landed
again, and dbt staging keeps the first landed copy, so nothing is counted twice.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Literal

import orjson
import pyarrow as pa

from ingestion.enrich import NO_CONTEXT, GeoIP, enrich, without_full_ip
from ingestion.events import (
    Context,
    Event,
    EventType,
    EventWindow,
    FieldError,
    Library,
    clip_depth,
    loads_json,
    validate_event,
)
from ingestion.landing import land_events, land_quarantine, rows_to_table
from ingestion.schema import QUARANTINE_SCHEMA, RAW_EVENT_SCHEMA
from ringside.core.layout import Layout
from ringside.core.settings import Settings

Source = Literal["batch", "http"]
NO_LIBRARY = Library()


@dataclass(frozen=True, slots=True)
class Origin:
    """Where a batch of events came from, and the door's rules for it."""

    source: Source
    source_ref: str  # file path (batch) or request id (http)
    received_at: datetime  # aware; HTTP arrival time, or ingestion time of a batch file
    window: EventWindow  # the event times accepted at this receipt
    sent_at: datetime | None = None  # batch-level sentAt, for events without their own
    implied_type: EventType | None = None  # single-event HTTP endpoints
    request_id: uuid.UUID | None = None  # HTTP: seeds messageIds for events without one
    client_ip: str | None = None  # HTTP: the peer address, for events without context.ip

    def default_message_id(self, index: int) -> str | None:
        """A uuid4-shaped id derived from (request, index): the same event of the same
        request always gets the same id, so it can be traced from the request id."""
        if self.request_id is None:
            return None
        digest = hashlib.blake2b(
            self.request_id.bytes + index.to_bytes(8, "big"), digest_size=16
        ).digest()
        return str(uuid.UUID(bytes=digest, version=4))


def accepted_window(settings: Settings, received_at: datetime) -> EventWindow:
    """The event times the settings accept for a receipt at ``received_at``."""
    return EventWindow.around(
        received_at,
        max_age_days=settings.max_event_age_days,
        ahead_hours=settings.max_event_ahead_hours,
        earliest_date=settings.earliest_event_date,
    )


@dataclass(frozen=True, slots=True)
class Rejection:
    index: int  # position in the HTTP batch, or line number in the file
    field: str  # first offending field
    reason: str
    message_id: str | None


@dataclass(frozen=True, slots=True)
class PipelineResult:
    accepted: int
    rejections: list[Rejection]
    files: list[Path]  # landed Parquet files (events and quarantine)

    @property
    def quarantined(self) -> int:
        return len(self.rejections)


class Quarantine:
    """The rejected items of one batch, landed together with their reasons."""

    def __init__(self, origin: Origin) -> None:
        self.origin = origin
        self.rejections: list[Rejection] = []
        self._rows: list[tuple[Any, ...]] = []

    def add(
        self, index: int, raw: Any, value: Any, errors: list[FieldError], message_id: str | None
    ) -> None:
        """``raw`` as received, ``value`` its parsed JSON (None when it is not JSON)."""
        first = errors[0]
        self.rejections.append(Rejection(index, first.field, first.reason, message_id))
        errors_json = json_text([{"field": e.field, "reason": e.reason} for e in errors])
        origin = self.origin
        self._rows.append(
            (origin.received_at, origin.source, origin.source_ref, index, message_id,
             first.field, first.reason, errors_json, _payload(raw, value))
        )  # fmt: skip

    @property
    def rows(self) -> list[tuple[Any, ...]]:
        """In QUARANTINE_SCHEMA order."""
        return self._rows

    def land(self, layout: Layout) -> list[Path]:
        if not self._rows:
            return []
        table = rows_to_table(self._rows, QUARANTINE_SCHEMA)
        day = self.origin.received_at.astimezone(UTC).date()
        return [land_quarantine(table, day, layout, self.origin.source)]


def parse_json(raw: bytes) -> tuple[Any, int] | FieldError:
    """A line as received -> (parsed value, size in bytes), or why it is not JSON."""
    try:
        return loads_json(raw), len(raw)
    except orjson.JSONDecodeError as exc:
        return FieldError("$", f"not valid JSON: {exc}")


def process(
    items: Iterable[tuple[int, Any]],
    origin: Origin,
    layout: Layout,
    geo: GeoIP | None,
) -> PipelineResult:
    """Validate, enrich and land ``items`` = (index, raw) pairs, where raw is the JSON text
    as received (``bytes``, e.g. a file line) or an already-parsed JSON value."""
    prepared = prepare(items, origin, geo)
    files = (
        land_events(
            rows_to_table(prepared.rows, RAW_EVENT_SCHEMA),
            pa.array(prepared.event_dates, pa.date32()),
            layout,
            origin.source,
        )
        if prepared.rows
        else []
    )
    files += prepared.quarantine.land(layout)
    return PipelineResult(
        accepted=prepared.accepted, rejections=prepared.quarantine.rejections, files=files
    )


@dataclass(frozen=True, slots=True)
class Prepared:
    """A batch's rows, validated and enriched, not landed yet."""

    rows: list[tuple[Any, ...]]  # the events, in RAW_EVENT_SCHEMA order
    event_dates: list[date]  # the UTC event day of each row
    quarantine: Quarantine

    @property
    def accepted(self) -> int:
        return len(self.event_dates)


def prepare(items: Iterable[tuple[int, Any]], origin: Origin, geo: GeoIP | None) -> Prepared:
    """The rows :func:`process` lands: each item becomes an event row or a quarantine row."""
    ingested_at = datetime.now(UTC)
    rows: list[tuple[Any, ...]] = []
    event_dates: list[date] = []
    quarantine = Quarantine(origin)
    # Batch rows point at their line ("file:line"); HTTP rows at their request.
    row_ref = f"{origin.source_ref}:" if origin.source == "batch" else None

    for index, raw in items:
        if isinstance(raw, bytes):
            parsed = parse_json(raw)
            if isinstance(parsed, FieldError):
                quarantine.add(index, raw, None, [parsed], None)
                continue
            value, size = parsed
        else:
            value, size = raw, None

        # Derived only when needed: SDKs send a messageId, and hashing one per event
        # cost about as much as validating it.
        has_id = isinstance(value, dict) and value.get("messageId") is not None
        checked = validate_event(
            value,
            size=size,
            implied_type=origin.implied_type,
            default_message_id=None if has_id else origin.default_message_id(index),
            keep_received_at=origin.source == "batch",  # HTTP: the server's clock only
        )
        if not isinstance(checked, Event):
            message_id = _readable_message_id(value) or origin.default_message_id(index)
            quarantine.add(index, raw, value, checked, message_id)
            continue
        event = checked
        received = event.received_at or origin.received_at
        sent = event.sent_at or origin.sent_at
        timing = _event_time(event, sent, received, origin.window)
        if isinstance(timing, FieldError):
            quarantine.add(index, raw, value, [timing], event.message_id)
            continue
        event_time = timing
        extra = enrich(event, geo, fallback_ip=origin.client_ip)
        page, utm, device, place = extra.page, extra.utm, extra.device, extra.place
        context = event.context or NO_CONTEXT
        library = context.library or NO_LIBRARY
        event_dates.append(event_time.astimezone(UTC).date())
        # In RAW_EVENT_SCHEMA order. Aware datetimes: Arrow stores them as UTC.
        rows.append(
            (
                event.message_id, event.type, event.event, event.name,
                event.anonymous_id, event.user_id, event.previous_id,
                event_time, event.timestamp, sent, received,
                extra.session_id,
                page.url, page.path, page.referrer, page.title, page.search,
                utm.source, utm.medium, utm.campaign, utm.term, utm.content,
                extra.ip, context.user_agent, context.locale,
                library.name, library.version,
                context.consent.analytics if context.consent else None,
                device.device_type, device.browser, device.os,
                place.country, place.city,
                _json(event.properties), _json(_traits(event, context)),
                _json(without_full_ip(value.get("context"))),
                origin.source, f"{row_ref}{index}" if row_ref else origin.source_ref,
                ingested_at,
            )
        )  # fmt: skip

    return Prepared(
        rows=rows,
        event_dates=event_dates,
        quarantine=quarantine,
    )


def _event_time(
    event: Event, sent_at: datetime | None, received_at: datetime, window: EventWindow
) -> datetime | FieldError:
    """The event's time, or why it is refused.

    Skew correction (docs/events.md): the client's clock error is ``sent_at - received_at``
    (transit time is negligible), so ``timestamp`` moves by the same amount. Whatever the
    correction gives must lie in the accepted window, so a wild ``sentAt`` cannot carry
    an event to another century: it is quarantined, naming ``sentAt``.
    """
    if event.received_at is not None and (problem := window.problem(event.received_at)):
        return FieldError("receivedAt", problem)
    if event.timestamp is None:
        return received_at
    if sent_at is None:
        problem = window.problem(event.timestamp, received_at)
        return FieldError("timestamp", problem) if problem else event.timestamp
    whose = "" if event.sent_at is not None else " (the batch's)"
    try:
        corrected = received_at - (sent_at - event.timestamp)
    except OverflowError:
        return FieldError(
            "sentAt", f"moves the event past the years 1..9999 by clock-skew correction{whose}"
        )
    if problem := window.problem(corrected, received_at):
        return FieldError(
            "sentAt",
            f"moves the event by clock-skew correction (receivedAt - (sentAt - "
            f"timestamp)){whose} to {problem}",
        )
    return corrected


def _traits(event: Event, context: Context) -> dict[str, Any] | None:
    """An identify's traits: top-level as Segment sends them, else ``context.traits``
    as RudderStack's SDKs do."""
    if event.traits is None and event.type == "identify":
        return context.traits
    return event.traits


def json_text(value: Any) -> str:
    """JSON as str for storage. Not orjson's bytes: each of those holds a 4 KB block
    whatever its length, which made row buffers several times larger than the data."""
    return orjson.dumps(value).decode()


def _json(value: dict[str, Any] | None) -> str | None:
    return json_text(value) if value is not None else None


def _payload(raw: Any, value: Any) -> str:
    """The event as received for the quarantine -- except that a full IP address is
    never stored: an event with ``context.ip`` is re-serialized with it anonymized."""
    if isinstance(value, dict):
        context = value.get("context")
        anonymized = without_full_ip(context)
        if anonymized is not context:
            return json_text(clip_depth({**value, "context": anonymized}))
    # An over-deep value is kept to the depth limit: JSON writers refuse the rest.
    return raw.decode("utf-8", "replace") if isinstance(raw, bytes) else json_text(clip_depth(raw))


def _readable_message_id(value: Any) -> str | None:
    message_id = value.get("messageId") if isinstance(value, dict) else None
    return message_id if isinstance(message_id, str) and 0 < len(message_id) <= 100 else None
