"""Rate limits (issue 21): sign-in attempts per client address, requests per API key and
collector requests per write key, each a fixed window of the `limits` package configured
by the ``rate_limit_*`` settings. Over a limit a request is answered 429 with
``Retry-After`` (the seconds until the window ends) and a ``detail`` naming the limit.

`limits` is called directly rather than through slowapi, which wants a decorator and a
``request`` parameter on every limited route: here the limits sit where the caller is
known, which is one place each (the sign-in route, the key check every protected route
shares in api/security.py, the collector's write key check).

The counters live in ``rate_limit_storage``. With the default memory:// they are the
process's own: each of several worker processes admits a whole limit, and a restart
forgets them; a shared store (redis://…) counts across processes. Every app keeps its own
limiter, made from its settings at its first limited request, so two apps (tests) share no
counters. The calls are synchronous, also from the async collector: with memory:// a hit
is a dictionary update, with a network store it holds the event loop for a round trip.
"""

import math
import threading
import time
from dataclasses import dataclass

from fastapi import FastAPI, HTTPException, Request
from limits import RateLimitItem, parse
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter

from api.deps import SettingsDep
from ringside.access.keys import Principal
from ringside.core.settings import Settings


@dataclass(frozen=True)
class Limit:
    name: str  # also keeps the counters of limits with equal identifiers apart
    item: RateLimitItem
    counted: str  # what is counted, for the 429's detail
    setting: str


class RateLimits:
    """One app's limits and their counters, as its settings configure them."""

    def __init__(self, settings: Settings) -> None:
        self.config = _config(settings)
        self._limiter = FixedWindowRateLimiter(storage_from_string(settings.rate_limit_storage))
        self.sign_in = Limit(
            "sign-in",
            parse(settings.rate_limit_sign_in),
            "sign-in attempts (or requests with a wrong API key) from this address",
            "RINGSIDE_RATE_LIMIT_SIGN_IN",
        )
        self.api = Limit(
            "api",
            parse(settings.rate_limit_api),
            "requests with this API key",
            "RINGSIDE_RATE_LIMIT_API",
        )
        self.collector = Limit(
            "collector",
            parse(settings.rate_limit_collector),
            "collector requests with this write key",
            "RINGSIDE_RATE_LIMIT_COLLECTOR",
        )

    def hit(self, limit: Limit, identifier: str) -> None:
        """Counts one request against ``limit`` for ``identifier``; 429 over it."""
        if not self._limiter.hit(limit.item, limit.name, identifier):
            raise self._exceeded(limit, identifier)

    def refuse_if_exceeded(self, limit: Limit, identifier: str) -> None:
        """429 once ``identifier`` went over ``limit`` in the current window (a refused
        request is counted too, so the count then exceeds the amount), without counting."""
        if not self._limiter.test(limit.item, limit.name, identifier, cost=0):
            raise self._exceeded(limit, identifier)

    def _exceeded(self, limit: Limit, identifier: str) -> HTTPException:
        reset = self._limiter.get_window_stats(limit.item, limit.name, identifier).reset_time
        retry_after = max(1, math.ceil(reset - time.time()))
        return HTTPException(
            status_code=429,
            detail=f"rate limit exceeded: at most {limit.item} {limit.counted} "
            f"({limit.setting}); retry after {retry_after} s",
            headers={"Retry-After": str(retry_after)},
        )


def _config(settings: Settings) -> tuple[str, ...]:
    return (
        settings.rate_limit_storage,
        settings.rate_limit_sign_in,
        settings.rate_limit_api,
        settings.rate_limit_collector,
    )


# Two first requests at once (sync dependencies run in the thread pool) must not each
# make a limiter: the one replaced would lose its counts.
_making = threading.Lock()


def rate_limits(app: FastAPI, settings: Settings) -> RateLimits | None:
    """The limiter of ``app`` for ``settings``; None when limits are off. Made again when
    the settings' limits change (a test overriding them on an app already used)."""
    if not settings.rate_limit_enabled:
        return None
    with _making:
        limiter: RateLimits | None = getattr(app.state, "rate_limits", None)
        if limiter is None or limiter.config != _config(settings):
            limiter = app.state.rate_limits = RateLimits(settings)
    return limiter


def client_address(request: Request) -> str:
    """The peer's address; behind a proxy, uvicorn's --proxy-headers (trusted proxies in
    --forwarded-allow-ips) makes it the client's from X-Forwarded-For."""
    return request.client.host if request.client is not None else "unknown"


def sign_in_limit(request: Request, settings: SettingsDep) -> None:
    """Dependency of the sign-in route: every attempt counts against the client address's
    sign-in limit, before the key is looked at."""
    limiter = rate_limits(request.app, settings)
    if limiter is not None:
        limiter.hit(limiter.sign_in, client_address(request))


def limit_key(request: Request, settings: Settings, caller: Principal | None) -> None:
    """Called once an API key (or the session made from one) was looked up. None, a wrong
    or revoked key, counts against the client address's sign-in limit, so keys cannot be
    guessed through the API faster than signed in with. A key that was found is refused
    while its address is over that limit (a guess gets no verdict) and counts against its
    own per-key limit."""
    limiter = rate_limits(request.app, settings)
    if limiter is None:
        return
    address = client_address(request)
    if caller is None:
        limiter.hit(limiter.sign_in, address)
        return
    limiter.refuse_if_exceeded(limiter.sign_in, address)
    limiter.hit(limiter.api, str(caller.key_id))


def limit_write_key(request: Request, settings: Settings, write_key: int) -> None:
    """One collector request (a whole batch counts once, as requests are what a flood
    costs) against the limit of the write key at index ``write_key`` of the settings."""
    limiter = rate_limits(request.app, settings)
    if limiter is not None:
        limiter.hit(limiter.collector, str(write_key))
