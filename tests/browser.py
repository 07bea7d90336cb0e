"""A real browser against a real server for the web-app tests and the browser benchmark:
uvicorn serving the app on a free port in a thread, Debian's Chromium driven by
Playwright (`make browser` installs it; Playwright never downloads a browser here)."""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import uvicorn
from playwright.sync_api import Browser, Page, sync_playwright

from api.main import create_app
from ringside.core.settings import Settings, get_settings
from tests.receivers import free_port

# Without the background-networking switches Chromium phones Google at start-up, which
# a closed network refuses (and the no-other-host assertion would see).
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
ARTEFACTS = Path(__file__).resolve().parent.parent / "test-artefacts"


def chromium_path() -> str | None:
    return os.environ.get("RINGSIDE_CHROMIUM") or shutil.which("chromium")


@contextmanager
def serving(settings: Settings) -> Iterator[str]:
    """The whole app (API and web pages) on 127.0.0.1:<free port>; yields its origin."""
    app = create_app()
    app.dependency_overrides[get_settings] = lambda: settings
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the app did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@contextmanager
def chromium(executable: str) -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=LAUNCH_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class Visit:
    """A browser context (its own cookies) and every URL its pages requested."""

    page: Page
    origin: str
    requested: list[str] = field(default_factory=list)

    def foreign_requests(self) -> list[str]:
        """Requests to any host but the app's own (data: URLs never leave the page)."""
        own = urlsplit(self.origin).netloc
        return [
            url
            for url in self.requested
            if not url.startswith(("data:", "blob:")) and urlsplit(url).netloc != own
        ]

    def open(self, path: str) -> None:
        self.page.goto(self.origin + path)

    def wait_for_dashboard(self, timeout_ms: float = 30_000) -> None:
        self.page.wait_for_selector("body[data-dashboard-ready='true']", timeout=timeout_ms)


@contextmanager
def visit(browser: Browser, origin: str, api_key: str | None = None) -> Iterator[Visit]:
    """A new context, logged in through the login page when `api_key` is given."""
    context = browser.new_context(viewport={"width": 1440, "height": 1000})
    page = context.new_page()
    seen = Visit(page, origin)
    page.on("request", lambda request: seen.requested.append(request.url))
    try:
        if api_key is not None:
            login(seen, api_key)
        yield seen
    finally:
        context.close()


def login(seen: Visit, api_key: str) -> None:
    seen.open("/app/login")
    seen.page.fill("#api-key", api_key)
    seen.page.click("#login")
    seen.page.wait_for_url(lambda url: "/login" not in url)
