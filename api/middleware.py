"""The headers every response carries (issue 21): security headers by kind of page, and
Server-Timing.

A pure ASGI middleware, not ``app.middleware("http")``: Starlette's BaseHTTPMiddleware
runs each request in a task of its own and wraps its streams, which costs the collector
throughput. The `secure` package's ASGI middleware is close, but applies one policy to
every path and sends HSTS over plain HTTP too; here the policy depends on the path (the app,
shared report pages, the API docs) and HSTS on the scheme, so the few constant headers are
written out below.

Policies:

- The browser app and everything else (the API's JSON, the collector, errors): only this
  origin's scripts, styles, images and connections. Styles may be inline: plotly.js
  injects <style> elements and the app positions widgets by style attributes.
- Shared report pages (/shared/…), server-rendered: no script at all, the template's inline
  <style>, the partner's logo from any http(s) or data: URL (what a partner's logo_url may
  be). The token in their URL is the credential, so they send no Referer anywhere.
- The API docs (/docs, its OAuth2 redirect page, /redoc): FastAPI's pages load Swagger UI
  and ReDoc from cdn.jsdelivr.net (ReDoc its fonts from Google Fonts and a worker from a
  blob: URL) and start them by an inline script, so those paths allow exactly that. The
  pages hold no data of their own; a deployment that wants none of it sets docs_url=None.

Every response is refused framing (CSP frame-ancestors and X-Frame-Options for older
browsers) and MIME sniffing. HSTS is sent when the request came over HTTPS (uvicorn's
--proxy-headers takes the scheme from a trusted proxy's X-Forwarded-Proto) or the
settings' public_url is https. A header a route sets itself is left as it is.

An unhandled exception's 500 is sent by Starlette's ServerErrorMiddleware, which sits
outside every added middleware: that plain-text answer has none of these headers.
"""

import time
from collections.abc import Collection

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.deps import app_settings

Headers = tuple[tuple[bytes, bytes], ...]

_FRAMING = "base-uri 'self'; form-action 'self'; frame-ancestors 'none'; object-src 'none'"
APP_CSP = f"default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; {_FRAMING}"
SHARED_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data: http: https:; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
_CDN = "https://cdn.jsdelivr.net"
DOCS_CSP = (
    f"default-src 'self'; script-src 'self' 'unsafe-inline' {_CDN}; "
    f"style-src 'self' 'unsafe-inline' {_CDN} https://fonts.googleapis.com; "
    "font-src 'self' data: https://fonts.gstatic.com; img-src 'self' data: https:; "
    f"worker-src 'self' blob:; {_FRAMING}"
)
HSTS = "max-age=31536000"  # a year; subdomains may be other services: not included


def _headers(csp: str, referrer_policy: str) -> Headers:
    pairs = {
        "content-security-policy": csp,
        "referrer-policy": referrer_policy,
        "x-content-type-options": "nosniff",
        "x-frame-options": "DENY",
    }
    return tuple((name.encode(), value.encode()) for name, value in pairs.items())


APP_HEADERS = _headers(APP_CSP, "strict-origin-when-cross-origin")
SHARED_HEADERS = _headers(SHARED_CSP, "no-referrer")
DOCS_HEADERS = _headers(DOCS_CSP, "strict-origin-when-cross-origin")
SHARED_PREFIX = "/shared/"
HSTS_HEADER = (b"strict-transport-security", HSTS.encode())


class ResponseHeaders:
    """Adds the security headers of the request's path, HSTS over HTTPS, and Server-Timing:
    the app's own time per response (until its headers), readable by the browser
    (PerformanceResourceTiming.serverTiming), so the web benchmark separates server time
    from the browser's."""

    def __init__(self, app: ASGIApp, docs_paths: Collection[str]) -> None:
        self.app = app
        self.docs_paths = frozenset(docs_paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        path: str = scope["path"]

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = message["headers"] = list(message.get("headers", ()))
                present = {name.lower() for name, _ in headers}
                headers.extend(h for h in self._security(scope, path) if h[0] not in present)
                elapsed = (time.perf_counter() - started) * 1000
                headers.append((b"server-timing", f"app;dur={elapsed:.1f}".encode()))
            await send(message)

        await self.app(scope, receive, send_with_headers)

    def _security(self, scope: Scope, path: str) -> Headers:
        if path in self.docs_paths:
            headers = DOCS_HEADERS
        elif path.startswith(SHARED_PREFIX):
            headers = SHARED_HEADERS
        else:
            headers = APP_HEADERS
        # Starlette puts the app in the scope before its middleware runs.
        https = scope["scheme"] == "https" or app_settings(scope["app"]).public_url.startswith(
            "https://"
        )
        return (*headers, HSTS_HEADER) if https else headers
