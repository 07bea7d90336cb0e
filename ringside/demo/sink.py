"""Turning simulated actions into Segment events and writing the per-arrival-day files.

The :class:`Emitter` stamps each event with client and server times, serializes it, and
injects the delivery faults ingestion must cope with (invalid events, duplicates, late
arrival). The :class:`Sink` routes lines to the file of the day they reached the server.
"""

from __future__ import annotations

import gzip
import os
import random
from datetime import date, timedelta
from pathlib import Path
from typing import BinaryIO

import orjson

from ringside.demo.catalog import DAY_MS
from ringside.demo.people import Device, uuid_like

P_INVALID = 0.005
P_DUPLICATE = 0.002
_EPOCH = date(1970, 1, 1)
_CHUNK = 4096  # lines per compressed write
_SECONDS_MS = [f"{i // 1000:02d}.{i % 1000:03d}" for i in range(60_000)]  # "SS.mmm"

Event = dict[str, object]


# What a written line is, for the summary counts.
VALID, INVALID, DUPLICATE = 0, 1, 2


class Sink:
    """Writes ``events/YYYY-MM-DD.ndjson.gz`` files one arrival day at a time.

    Lines for a later day (sessions running past midnight, offline devices, next-day
    duplicates) wait in a small carry-over buffer; lines arriving after the last day
    are dropped, as they had not reached the server when the export was taken.
    """

    def __init__(self, events_dir: Path, first_day: int, days: int) -> None:
        self.dir = events_dir
        self.end_day = first_day + days
        self.day = first_day - 1
        self.files: list[Path] = []
        self.written = self.invalid = self.duplicates = self.late = 0
        self._buf: list[bytes] = []
        self._deferred: list[bytes] = []  # same-file duplicates, written a chunk later
        self._carry: dict[int, list[tuple[bytes, int, int]]] = {}
        self._raw: BinaryIO | None = None
        self._gz: gzip.GzipFile | None = None
        self._tmp = self._path = Path()

    def open_day(self, day: int) -> None:
        self.day = day
        name = f"{(_EPOCH + timedelta(days=day)).isoformat()}.ndjson.gz"
        self._path = self.dir / name
        self._tmp = self.dir / f".{name}.tmp"
        self._raw = open(self._tmp, "wb")  # noqa: SIM115 - closed in close_day
        # mtime=0 and no file name in the header keep the bytes reproducible.
        self._gz = gzip.GzipFile(
            filename="", mode="wb", compresslevel=1, fileobj=self._raw, mtime=0
        )
        for line, event_day, kind in self._carry.pop(day, ()):
            self._write(line, event_day, kind)

    def close_day(self) -> None:
        self._flush()
        assert self._gz is not None and self._raw is not None
        self._gz.close()
        self._raw.close()
        os.replace(self._tmp, self._path)
        self.files.append(self._path)

    def put(self, line: bytes, arrival_day: int, event_day: int, kind: int = VALID) -> None:
        """Write ``line`` to the file of ``arrival_day`` (now, or when that day comes)."""
        if arrival_day == self.day:
            self._write(line, event_day, kind)
        elif arrival_day < self.end_day:
            self._carry.setdefault(arrival_day, []).append((line, event_day, kind))

    def put_duplicate(self, line: bytes, arrival_day: int, event_day: int, next_day: bool) -> None:
        """Write ``line`` once more, later in the same file or in the next day's."""
        if next_day:
            self.put(line, arrival_day + 1, event_day, DUPLICATE)
        elif arrival_day == self.day:
            self._count(event_day, DUPLICATE)
            self._deferred.append(line)
        else:
            self.put(line, arrival_day, event_day, DUPLICATE)

    def _count(self, event_day: int, kind: int) -> None:
        self.written += 1
        if kind == INVALID:
            self.invalid += 1
            return
        self.duplicates += kind == DUPLICATE
        self.late += event_day < self.day

    def _write(self, line: bytes, event_day: int, kind: int) -> None:
        self._count(event_day, kind)
        self._buf.append(line)
        if len(self._buf) >= _CHUNK:
            self._flush()

    def _flush(self) -> None:
        buf = self._buf + self._deferred
        if buf:
            assert self._gz is not None
            buf.append(b"")
            self._gz.write(b"\n".join(buf))
        self._buf, self._deferred = [], []


class Emitter:
    """Builds events for the device currently being simulated.

    The simulation sets ``dev``, ``user_id``, ``ctx`` (the page context) and, for a device
    that is offline, ``flush_ms`` (when it will be back online and send its queue); each
    ``track``/``view``/... call then emits one event at true time ``t`` (epoch ms). Events
    after ``flush_ms`` are sent normally again.
    """

    def __init__(self, rng: random.Random, sink: Sink) -> None:
        self.rng = rng
        self.sink = sink
        self.dev: Device
        self.user_id: str | None = None
        self.ctx: dict[str, object] = {}
        self.flush_ms = 0
        self._minutes: dict[int, tuple[str, str]] = {}  # (text up to the minute, offset)

    # -- time formatting (hot path) ---------------------------------------------------

    def iso(self, ms: int, offset_min: int = 0) -> str:
        """ISO-8601 with milliseconds; ``Z`` when ``offset_min`` is 0, else ``±HH:MM``.

        Three timestamps per event make this the hottest function: the text up to the
        minute is cached, seconds and milliseconds come from a table.
        """
        local = ms + offset_min * 60_000
        minute = local // 60_000
        key = minute * 2048 + offset_min  # offsets are within ±14 h = ±840 min
        prefix = self._minutes.get(key)
        if prefix is None:
            if len(self._minutes) > 50_000:
                self._minutes.clear()
            d, m = divmod(minute, 1440)
            day = (_EPOCH + timedelta(days=d)).isoformat()
            if offset_min == 0:
                suffix = "Z"
            else:
                a = abs(offset_min)
                suffix = f"{'+' if offset_min > 0 else '-'}{a // 60:02d}:{a % 60:02d}"
            prefix = self._minutes[key] = (f"{day}T{m // 60:02d}:{m % 60:02d}:", suffix)
        return prefix[0] + _SECONDS_MS[local - minute * 60_000] + prefix[1]

    def message_id(self) -> str:
        dev = self.dev
        if dev.platform == "web":
            # analytics.js (next) message ids: "ajs-next-" + 32 hex digits.
            return f"ajs-next-{self.rng.getrandbits(128):032x}"
        mid = uuid_like(self.rng)
        return mid.upper() if dev.platform == "ios" else mid

    # -- event builders -----------------------------------------------------------------

    def _base(self, t: int, event_type: str) -> tuple[Event, int, int]:
        """Common fields of an event at true time ``t``; returns it with its event time and
        arrival time (both server-clock ms)."""
        rng = self.rng
        dev = self.dev
        if self.flush_ms > t:
            sent = self.flush_ms
        elif dev.platform == "web":
            sent = t + 5 + int(rng.random() * 400)
        else:
            sent = t + 200 + int(rng.random() * 20_000)  # mobile SDKs flush in batches
        latency = 15 + int(rng.random() * rng.random() * 1500)
        received = sent + latency
        skew, off = dev.skew_ms, dev.offset_min
        ev: Event = {
            "messageId": self.message_id(),
            "type": event_type,
            "anonymousId": dev.anonymous_id,
            "userId": self.user_id,
            "timestamp": self.iso(t + skew, off),
            "sentAt": self.iso(sent + skew, off),
            "receivedAt": self.iso(received),
        }
        if self.user_id is None:
            del ev["userId"]
        # Event time as the warehouse computes it: receivedAt - (sentAt - timestamp).
        return ev, t + latency, received

    def track(self, t: int, event: str, properties: dict[str, object]) -> None:
        ev, event_ms, received = self._base(t, "track")
        ev["event"] = event
        ev["context"] = self.ctx
        ev["properties"] = properties
        self._emit(ev, event_ms, received)

    def view(self, t: int, name: str, properties: dict[str, object]) -> None:
        ev, event_ms, received = self._base(t, "screen" if self.dev.is_app else "page")
        ev["name"] = name
        ev["context"] = self.ctx
        ev["properties"] = properties
        self._emit(ev, event_ms, received)

    def identify(self, t: int, traits: dict[str, object]) -> None:
        ev, event_ms, received = self._base(t, "identify")
        ev["context"] = self.ctx
        ev["traits"] = traits
        self._emit(ev, event_ms, received)

    def alias(self, t: int, previous_id: str) -> None:
        ev, event_ms, received = self._base(t, "alias")
        ev["previousId"] = previous_id
        ev["context"] = self.ctx
        self._emit(ev, event_ms, received)

    def _emit(self, ev: Event, event_ms: int, received: int) -> None:
        r = self.rng.random()
        if r < P_INVALID:
            self.sink.put(self._corrupt(ev), received // DAY_MS, -1, INVALID)
            return
        line = orjson.dumps(ev)
        arrival, event_day = received // DAY_MS, event_ms // DAY_MS
        self.sink.put(line, arrival, event_day)
        if r < P_INVALID + P_DUPLICATE:
            # At-least-once delivery: the same payload exported again, in this or the next file.
            self.sink.put_duplicate(line, arrival, event_day, self.rng.random() < 0.4)

    # -- invalid events -------------------------------------------------------------------

    def _corrupt(self, ev: Event) -> bytes:
        """The line a buggy client or a broken proxy produced instead of ``ev``; each kind
        breaks one rule of the event contract."""
        rng = self.rng
        kind = int(rng.random() * 12)
        ev = dict(ev)
        if kind == 0:
            del ev["messageId"]
        elif kind == 1:
            ev["messageId"] = "ajs-next-" + "".join(
                f"{rng.getrandbits(128):032x}" for _ in range(4)
            )
        elif kind == 2:
            del ev["type"]
        elif kind == 3:
            ev["type"] = rng.choice(("pageview", "event", "Track", "group_identify"))
        elif kind == 4:
            ev["type"] = "track"
            for key in ("event", "name", "traits", "previousId"):
                ev.pop(key, None)
            ev["properties"] = ev.get("properties", {})
        elif kind == 5:
            ev.pop("anonymousId", None)
            ev.pop("userId", None)
        elif kind == 6:
            ev = {
                "messageId": ev["messageId"],
                "type": "alias",
                "anonymousId": ev["anonymousId"],
                "userId": ev.get("userId") or ev["anonymousId"],
                "timestamp": ev["timestamp"],
                "sentAt": ev["sentAt"],
                "receivedAt": ev["receivedAt"],
                "context": ev.get("context", {}),
            }
        elif kind == 7:
            ts = str(ev["timestamp"])
            # A client that sent a local time without its offset, or a US-style date.
            ev["timestamp"] = (
                ts[:23] if rng.random() < 0.5 else f"{ts[5:7]}/{ts[8:10]}/{ts[:4]} {ts[11:19]}"
            )
        elif kind == 8:
            ev["properties"] = rng.choice(("[object Object]", ["content_id", "seconds"], 42))
        elif kind == 9:
            # A client that attached a serialized DOM snapshot: ~40 KB, over the 32 KB limit.
            ev["properties"] = {"debug_dom": '<div class="story">' * 2200}
        elif kind == 10:
            ev["event"] = "x" * 201 if rng.random() < 0.5 else ""
            ev["type"] = "track"
        else:
            line = orjson.dumps(ev)
            # Cut off mid-object (a truncated write): never valid JSON.
            return line[: len(line) // 2 + int(rng.random() * (len(line) // 3))]
        return orjson.dumps(ev)
