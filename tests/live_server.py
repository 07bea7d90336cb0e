"""The real app served by uvicorn on a free 127.0.0.1 port, in a background thread, with
the environment (RINGSIDE_*, DAGSTER_HOME, dbt's) pointing at a given home: tests that
talk HTTP to it the way clients do (curl, the Segment and RudderStack SDKs), then build.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest
import uvicorn

from ringside.core.settings import Settings
from tests.platforms import platform_environment

START_TIMEOUT_SECONDS = 30.0


@dataclass(frozen=True)
class LiveServer:
    url: str  # http://127.0.0.1:<port>, no trailing slash
    port: int
    settings: Settings


@contextmanager
def live_server(home: Path, extra_env: dict[str, str] | None = None) -> Iterator[LiveServer]:
    """Serve `api.main.create_app()` for the home until the context exits.

    The environment stays pointed at the home (plus ``extra_env``) for the whole context,
    so a build run inside it (``run_build``) sees the same settings as the server.
    The listening socket is bound before the server starts: no race for the port.
    """
    mp = pytest.MonkeyPatch()
    for name, value in (extra_env or {}).items():
        mp.setenv(name, value)
    try:
        with platform_environment(Settings(home=home)) as settings:
            settings.layout.ensure()
            from api.main import create_app

            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
            config = uvicorn.Config(create_app(), log_level="warning", access_log=False)
            server = uvicorn.Server(config)
            thread = threading.Thread(
                target=server.run, kwargs={"sockets": [sock]}, name="live-uvicorn", daemon=True
            )
            thread.start()
            deadline = time.monotonic() + START_TIMEOUT_SECONDS
            while not server.started:
                if not thread.is_alive() or time.monotonic() > deadline:
                    raise RuntimeError("uvicorn did not start serving the app")
                time.sleep(0.02)
            try:
                yield LiveServer(f"http://127.0.0.1:{port}", port, settings)
            finally:
                server.should_exit = True
                thread.join(timeout=15)
                sock.close()
    finally:
        mp.undo()


def landed_rows(settings: Settings) -> list[dict[str, object]]:
    """Every landed event row (raw/events/**/*.parquet), read with DuckDB."""
    if not list(settings.layout.raw_events_dir.glob("*/*.parquet")):
        return []
    with duckdb.connect() as con:
        cursor = con.execute(
            "select * from read_parquet(?, hive_partitioning = true)",
            [str(settings.layout.raw_events_dir / "**" / "*.parquet")],
        )
        names = [column[0] for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
