"""The HTTP door: a Segment-compatible collector (docs/events.md).

Request-level problems (auth, body size, malformed JSON, batch too long) answer 4xx and
land nothing. Event-level problems are per event: the valid events are landed, the
others quarantined, and each rejected one is reported back. The answer is sent only
once the request is in the process's write-ahead log and synced (one sync serves every
request waiting for it: group commit), so an acknowledged event survives a crash; the
log lands as Parquet every few seconds (ingestion/collector_log.py).
"""

from __future__ import annotations

import asyncio
import secrets
import shutil
import uuid
import zlib
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Depends, HTTPException, Request, Response, status
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPBasic, HTTPBasicCredentials
from pydantic import BaseModel, ConfigDict, Field
from pydantic_core import PydanticCustomError

from api.deps import app_settings
from api.limits import limit_write_key
from ingestion.collector_log import CollectorLog, encode, open_log
from ingestion.enrich import open_geoip
from ingestion.events import (
    EVENT_TYPES,
    MAX_EVENT_BYTES,
    EventType,
    loads_json,
    parse_timestamp,
)
from ingestion.pipeline import Origin, accepted_window, prepare
from ringside.core.settings import Settings

MAX_BATCH_BYTES = 500 * 1024
MB = 1024 * 1024
RETRY_AFTER = "5"  # seconds
MAX_BATCH_EVENTS = 2_500
# Preparing an event (~10-20 µs) is Python holding the GIL: in a thread it still keeps
# the event loop waiting, for up to the GIL's switch interval (5 ms) at a time, and the
# hop and the GIL hand-offs cost CPU (batches of 100 took ~25% more per event in the
# thread pool). Only batches that take longer than about one switch interval go to a
# thread, so that the loop gets turns meanwhile.
INLINE_EVENTS = 250

router = APIRouter(tags=["collector"])


class RejectedEvent(BaseModel):
    model_config = ConfigDict(validate_by_name=True)

    index: int = Field(description="Position of the event in the batch (0 for a single event).")
    field: str = Field(description="Wire path of the first offending field; '$' = the event.")
    reason: str
    message_id: str | None = Field(alias="messageId")


class IngestResponse(BaseModel):
    success: bool = Field(description="False when no event was accepted.")
    accepted: int
    rejected: list[RejectedEvent]


class ErrorResponse(BaseModel):
    detail: str


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {
        "model": IngestResponse | ErrorResponse,
        "description": "No event was valid (the ingest shape, `success: false`; they are "
        "quarantined), or a malformed body, too many events, a bad batch `sentAt`",
    },
    401: {"model": ErrorResponse, "description": "Missing or wrong write key"},
    413: {"model": ErrorResponse, "description": "Body over the size limit (decompressed)"},
    415: {"model": ErrorResponse, "description": "Unsupported Content-Encoding"},
    429: {
        "model": ErrorResponse,
        "description": "Over the write key's rate limit (RINGSIDE_RATE_LIMIT_COLLECTOR); "
        "retry after `Retry-After` seconds (nothing was accepted)",
    },
    503: {
        "model": ErrorResponse,
        "description": "Back-pressure: the collector's log is behind or the disk nearly "
        "full; retry after `Retry-After` seconds (nothing was accepted)",
    },
}


async def _settings(request: Request) -> Settings:
    """The app's settings, as ``SettingsDep`` gives them (``get_settings`` or its
    override), without a thread: FastAPI runs a sync dependency in the thread pool, a
    hop per request to read a cache."""
    return app_settings(request.app)


CollectorSettings = Annotated[Settings, Depends(_settings)]
Mode = Literal["batch", "single", "either"]
# Segment's scheme: HTTP Basic with the write key as user name and an empty password
# (not checked: the key is the secret). Without the header, `writeKey` in the body.
WriteKeyAuth = Annotated[
    HTTPBasicCredentials | None,
    Depends(HTTPBasic(auto_error=False, description="Write key as user name, empty password")),
]


async def _collect(
    request: Request,
    response: Response,
    settings: Settings,
    credentials: HTTPBasicCredentials | None,
    mode: Mode,
    implied_type: EventType | None = None,
) -> IngestResponse:
    received_at = datetime.now(UTC)  # the server's clock: the reference for skew correction
    if credentials is not None:
        _authenticate(request, credentials.username, settings)
    limit = MAX_EVENT_BYTES if mode == "single" else MAX_BATCH_BYTES
    raw = await _read_body(request, limit)
    try:
        body = loads_json(raw)
    except orjson.JSONDecodeError as exc:
        raise _error(400, f"body is not valid JSON: {exc}") from None
    if not isinstance(body, dict):
        raise _error(400, "body must be a JSON object")
    if credentials is None:
        _authenticate(request, body.get("writeKey"), settings)

    if mode == "batch" or (mode == "either" and "batch" in body):
        events, sent_at = _batch(body)
    else:
        if len(raw) > MAX_EVENT_BYTES:  # the "either" endpoint, given a single event
            raise _error(413, f"an event may be at most 32 KB ({MAX_EVENT_BYTES:,} bytes)")
        # The key authenticates the request; it must not be stored with the event.
        events, sent_at = [{k: v for k, v in body.items() if k != "writeKey"}], None

    request_id = uuid.uuid4()
    origin = Origin(
        source="http",
        source_ref=str(request_id),
        received_at=received_at,
        window=accepted_window(settings, received_at),
        sent_at=sent_at,
        implied_type=implied_type,
        request_id=request_id,
        # The direct peer only: X-Forwarded-For is not trusted without a configured proxy.
        client_ip=request.client.host if request.client else None,
    )
    log = open_log(settings)
    _refuse_when_behind(log, settings)
    geo = open_geoip(settings.geoip_db)
    if len(events) <= INLINE_EVENTS:
        prepared = prepare(enumerate(events), origin, geo)
    else:
        prepared = await run_in_threadpool(prepare, enumerate(events), origin, geo)
    record = encode(prepared)
    try:
        # Answered only once the request's record is durable (group commit).
        await asyncio.wrap_future(log.append(record, prepared.accepted))
    except OSError as exc:
        raise _unavailable(f"the events could not be made durable ({exc.strerror})") from None
    if settings.collector_flush_seconds == 0:
        await run_in_threadpool(log.flush)
    if prepared.accepted == 0:
        response.status_code = status.HTTP_400_BAD_REQUEST
    return IngestResponse(
        success=prepared.accepted > 0,
        accepted=prepared.accepted,
        rejected=[
            RejectedEvent(index=r.index, field=r.field, reason=r.reason, message_id=r.message_id)
            for r in prepared.quarantine.rejections
        ],
    )


def _refuse_when_behind(log: CollectorLog, settings: Settings) -> None:
    """Back-pressure: 503 + Retry-After (the Segment SDKs back off and retry) while the
    log holds more than it may, or the disk is nearly full, instead of queueing."""
    pending = log.pending_bytes()
    if pending > settings.collector_max_pending_mb * MB:
        raise _unavailable(
            f"the collector is behind: {pending / MB:.0f} MB logged and not landed "
            f"(limit RINGSIDE_COLLECTOR_MAX_PENDING_MB={settings.collector_max_pending_mb})"
        )
    free = shutil.disk_usage(log.directory).free
    if free < settings.min_free_disk_mb * MB:
        raise _unavailable(
            f"the disk is nearly full: {free / MB:.0f} MB free "
            f"(RINGSIDE_MIN_FREE_DISK_MB={settings.min_free_disk_mb})"
        )


def _unavailable(detail: str) -> HTTPException:
    return HTTPException(status_code=503, detail=detail, headers={"Retry-After": RETRY_AFTER})


def _batch(body: dict[str, Any]) -> tuple[list[Any], datetime | None]:
    events = body.get("batch")
    if not isinstance(events, list):
        raise _error(400, "batch is required and must be an array of events")
    if not events:
        raise _error(400, "batch must contain at least one event")
    if len(events) > MAX_BATCH_EVENTS:
        raise _error(
            400, f"a batch may contain at most {MAX_BATCH_EVENTS:,} events (got {len(events):,})"
        )
    sent_at = body.get("sentAt")
    if sent_at is None:
        return events, None
    try:
        return events, parse_timestamp(sent_at)
    except PydanticCustomError as exc:
        raise _error(400, f"sentAt {exc.message()}") from None


async def _read_body(request: Request, limit: int) -> bytes:
    """The decompressed body, refusing to hold more than ``limit`` bytes of it.

    gzip is inflated incrementally with an output cap, so a small compressed body that
    would inflate to gigabytes (a zip bomb) is refused after ``limit + 1`` bytes.
    """
    encoding = request.headers.get("content-encoding", "identity").strip().lower()
    if encoding not in ("identity", "gzip"):
        raise _error(415, f"unsupported Content-Encoding {encoding!r}; use gzip or none")
    too_large = _error(413, f"body exceeds the limit of {limit // 1024} KB ({limit:,} bytes)")
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS) if encoding == "gzip" else None
    body = bytearray()
    received = 0
    async for chunk in request.stream():
        # Compressed bodies are capped too: more input than output allowed means abuse.
        received += len(chunk)
        if received > limit:
            raise too_large
        if inflater is None:
            body += chunk
        else:
            try:
                body += inflater.decompress(chunk, limit + 1 - len(body))
            except zlib.error as exc:
                raise _error(400, f"body is not valid gzip: {exc}") from None
            if inflater.unconsumed_tail:  # the output cap was hit
                raise too_large
        if len(body) > limit:
            raise too_large
    if inflater is not None and not inflater.eof:
        raise _error(400, "body is not valid gzip: truncated stream")
    return bytes(body)


def _authenticate(request: Request, key: object, settings: Settings) -> None:
    """Checks the write key and counts the request against that key's rate limit."""
    index = None
    if isinstance(key, str):
        index = next(
            (
                i
                for i, known in enumerate(settings.write_keys)
                if secrets.compare_digest(key.encode(), known.encode())
            ),
            None,
        )
    if index is None:
        raise HTTPException(
            status_code=401,
            detail="missing or invalid write key (HTTP Basic user name, or writeKey in the body)",
            headers={"WWW-Authenticate": 'Basic realm="ringside"'},
        )
    # The key's position names its counters: a write key itself is kept out of the store.
    limit_write_key(request, settings, index)


def _error(code: int, detail: str) -> HTTPException:
    return HTTPException(status_code=code, detail=detail)


@router.post("/v1/batch", response_model=IngestResponse, responses=ERROR_RESPONSES)
async def batch(
    request: Request,
    response: Response,
    settings: CollectorSettings,
    credentials: WriteKeyAuth,
) -> IngestResponse:
    """Segment's batch endpoint: `{"batch": [event, ...], "sentAt": ...}`."""
    return await _collect(request, response, settings, credentials, "batch")


@router.post("/api/analytics/events/", response_model=IngestResponse, responses=ERROR_RESPONSES)
async def events(
    request: Request,
    response: Response,
    settings: CollectorSettings,
    credentials: WriteKeyAuth,
) -> IngestResponse:
    """One event, or a `{"batch": [...]}` body, under the product's own API prefix."""
    return await _collect(request, response, settings, credentials, "either")


def _single_event_route(event_type: EventType) -> None:
    async def single(
        request: Request,
        response: Response,
        settings: CollectorSettings,
        credentials: WriteKeyAuth,
    ) -> IngestResponse:
        return await _collect(request, response, settings, credentials, "single", event_type)

    router.add_api_route(
        f"/v1/{event_type}",
        single,
        methods=["POST"],
        name=f"collect_{event_type}",
        summary=f"One {event_type} event",
        description=f"Segment's `{event_type}` call; `type` defaults to `{event_type}`.",
        response_model=IngestResponse,
        responses=ERROR_RESPONSES,
    )


for _event_type in EVENT_TYPES:
    _single_event_route(_event_type)
