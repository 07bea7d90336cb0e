"""The collector against its floors, in one run on one machine.

    python -m benchmarks.collector                      # 10 s per scenario, 1 worker
    python -m benchmarks.collector --seconds 20 --workers 2 --json out.json
    python -m benchmarks.collector --scenarios "batch of 100"   # only those scenarios

Starts uvicorn on the real app (``api.main``) in a fresh home, with two floor routes
added to the same server: ``/bench/echo`` (read the body, answer a constant: what the
server and the load generator cost) and ``/bench/fsync`` (append the body to a file and
fsync it, one sync per request: what durability costs without group commit). Each
scenario drives one route for ``--seconds`` with N keep-alive connections from
``--clients-processes`` load-generator processes (asyncio over raw sockets: a few
microseconds per request, so the generator is not what limits). It prints requests/s,
events/s, p50/p99 latency and each ratio to its floor, and, after the server stops,
the files the collector landed.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import multiprocessing
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path

from fastapi import Request, Response
from fastapi.concurrency import run_in_threadpool

from api.main import create_app

KEY = "bench-write-key"
AUTH = "Basic " + base64.b64encode(f"{KEY}:".encode()).decode()


def app() -> object:
    """The served app: the real one plus the two floors (uvicorn factory)."""
    served = create_app()
    sink = Path(os.environ["BENCH_FSYNC_FILE"])

    @served.post("/bench/echo")
    async def echo(request: Request) -> Response:
        await request.body()
        return Response(b'{"success":true}', media_type="application/json")

    def append_and_sync(body: bytes) -> None:
        with open(sink, "ab") as handle:
            handle.write(body)
            handle.flush()
            os.fsync(handle.fileno())

    @served.post("/bench/fsync")
    async def fsync(request: Request) -> Response:
        # In the thread pool, as the collector's file-per-request landing was.
        await run_in_threadpool(append_and_sync, await request.body())
        return Response(b'{"success":true}', media_type="application/json")

    return served


def _event(n: str) -> dict[str, object]:
    return {
        "type": "track",
        "event": "Video Played",
        "messageId": n,
        "anonymousId": f"device-{hash(n) % 5000}",
        "properties": {"content_id": "video:42", "position_seconds": 12},
        "context": {"userAgent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X)"},
    }


def _request(path: str, events_per_request: int, tag: str, n: int) -> bytes:
    if events_per_request == 1:
        body = json.dumps(_event(f"{tag}-{n}")).encode()
    else:
        batch = [_event(f"{tag}-{n}-{k}") for k in range(events_per_request)]
        body = json.dumps({"batch": batch}).encode()
    head = (
        f"POST {path} HTTP/1.1\r\nHost: bench\r\nAuthorization: {AUTH}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def _connection(
    port: int, path: str, events: int, tag: str, until: float, latencies: list[float]
) -> int:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    errors = 0
    n = 0
    while time.perf_counter() < until:
        payload = _request(path, events, tag, n)
        started = time.perf_counter()
        writer.write(payload)
        head = await reader.readuntil(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        await reader.readexactly(length)
        latencies.append(time.perf_counter() - started)
        errors += not head.startswith(b"HTTP/1.1 200")
        n += 1
    writer.close()
    return errors


def _generator(
    port: int, path: str, events: int, clients: int, seconds: float, out: multiprocessing.Queue
) -> None:
    async def main() -> tuple[list[float], int]:
        latencies: list[float] = []
        until = time.perf_counter() + seconds
        tag = uuid.uuid4().hex[:8]
        errors = await asyncio.gather(
            *(
                _connection(port, path, events, f"{tag}{c}", until, latencies)
                for c in range(clients)
            )
        )
        return latencies, sum(errors)

    out.put(asyncio.run(main()))


@dataclass
class Scenario:
    name: str
    path: str
    events_per_request: int
    clients: int
    requests_per_s: float = 0.0
    events_per_s: float = 0.0
    p50_ms: float = 0.0
    p99_ms: float = 0.0
    errors: int = 0


def run_scenario(port: int, scenario: Scenario, seconds: float, processes: int) -> Scenario:
    queue: multiprocessing.Queue = multiprocessing.Queue()
    per = [
        scenario.clients // processes + (i < scenario.clients % processes) for i in range(processes)
    ]
    workers = [
        multiprocessing.Process(
            target=_generator,
            args=(port, scenario.path, scenario.events_per_request, n, seconds, queue),
        )
        for n in per
        if n
    ]
    for worker in workers:
        worker.start()
    latencies: list[float] = []
    for _ in workers:
        got, errors = queue.get()
        latencies += got
        scenario.errors += errors
    for worker in workers:
        worker.join()
    latencies.sort()
    scenario.requests_per_s = len(latencies) / seconds
    scenario.events_per_s = scenario.requests_per_s * scenario.events_per_request
    scenario.p50_ms = statistics.median(latencies) * 1000
    scenario.p99_ms = latencies[int(len(latencies) * 0.99)] * 1000
    return scenario


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for(port: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("the server did not start")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    parser.add_argument("--clients-processes", type=int, default=1)
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument(
        "--scenarios",
        nargs="+",
        default=None,
        metavar="TEXT",
        help="run only the scenarios whose name contains one of these (ratios need both)",
    )
    args = parser.parse_args()

    home = Path(tempfile.mkdtemp(prefix="ringside-collector-bench-"))
    port = _free_port()
    env = {
        **os.environ,
        "RINGSIDE_HOME": str(home / "home"),
        "RINGSIDE_WRITE_KEYS": KEY,
        "BENCH_FSYNC_FILE": str(home / "fsync-floor.bin"),
    }
    env.pop("RINGSIDE_COLLECTOR_FLUSH_SECONDS", None)  # the production default
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--factory", "benchmarks.collector:app",
         "--port", str(port), "--workers", str(args.workers), "--log-level", "warning"],
        env=env,
    )  # fmt: skip
    scenarios = [
        Scenario("echo floor, single, 16 clients", "/bench/echo", 1, 16),
        Scenario("fsync floor, single, 16 clients", "/bench/fsync", 1, 16),
        Scenario("collector, single, 16 clients", "/v1/track", 1, 16),
        Scenario("echo floor, single, 64 clients", "/bench/echo", 1, 64),
        Scenario("collector, single, 64 clients", "/v1/track", 1, 64),
        Scenario("echo floor, batch of 100, 16 clients", "/bench/echo", 100, 16),
        Scenario("collector, batch of 100, 16 clients", "/v1/batch", 100, 16),
    ]
    if args.scenarios:
        scenarios = [s for s in scenarios if any(text in s.name for text in args.scenarios)]
    try:
        _wait_for(port)
        for scenario in scenarios:
            run_scenario(port, scenario, args.seconds, args.clients_processes)
            print(
                f"{scenario.name:<40} {scenario.requests_per_s:>9,.0f} req/s "
                f"{scenario.events_per_s:>10,.0f} events/s  p50 {scenario.p50_ms:7.2f} ms  "
                f"p99 {scenario.p99_ms:7.2f} ms  errors {scenario.errors}",
                flush=True,
            )
    finally:
        server.terminate()
        server.wait(timeout=120)
    by = {s.name: s for s in scenarios}

    single16, single64 = "collector, single, 16 clients", "collector, single, 64 clients"
    pairs = {
        "single 16: collector / echo floor (target >= 0.5)": (
            single16,
            "echo floor, single, 16 clients",
        ),
        "single 16: collector / fsync floor": (single16, "fsync floor, single, 16 clients"),
        "single 64: collector / echo floor": (single64, "echo floor, single, 64 clients"),
        "batch 100: collector / echo floor, events (target >= 0.3)": (
            "collector, batch of 100, 16 clients",
            "echo floor, batch of 100, 16 clients",
        ),
    }
    # A ratio needs both of its scenarios (--scenarios may have left one out).
    ratios = {
        name: by[collector].events_per_s / by[floor].events_per_s
        for name, (collector, floor) in pairs.items()
        if collector in by and floor in by
    }
    for name, value in ratios.items():
        print(f"{name:<60} {value:6.3f}")
    landed = sorted((home / "home" / "raw" / "events").rglob("*.parquet"))
    print(f"landed files after the run: {len(landed)} (workers {args.workers})")
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "seconds": args.seconds,
                    "workers": args.workers,
                    "scenarios": [asdict(s) for s in scenarios],
                    "ratios": ratios,
                    "landed_files": len(landed),
                },
                indent=2,
            )
        )


if __name__ == "__main__":
    main()
