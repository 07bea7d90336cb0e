"""Access control for the analytics API: every route but event tracking (write keys)
and /health requires an API key, sent as `Authorization: Bearer <key>` or `X-API-Key`,
or the web app's session cookie made from one (POST /api/session). No valid key: 401.
A valid key whose role is below the route's: 403."""

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, HTTPException, Request, Security
from fastapi.security import APIKeyCookie, APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from api.deps import SettingsDep
from api.limits import limit_key
from ringside.access.keys import Principal, authenticate
from ringside.access.roles import Role, allows
from ringside.access.sessions import COOKIE_NAME, session_principal
from ringside.core.appdb import session

_bearer = HTTPBearer(auto_error=False, description="An API key: `ringside keys create`.")
_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="An API key.")
session_cookie = APIKeyCookie(
    name=COOKIE_NAME, auto_error=False, description="The web app's session (POST /api/session)."
)
# A cross-site form can send the cookie but not a custom header, so cookie-authenticated
# writes must carry this one (SameSite=Strict is the first line of defence).
CSRF_HEADER = "X-Requested-With"
CSRF_VALUE = "ringside"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(status_code=401, detail=detail, headers={"WWW-Authenticate": "Bearer"})


def principal(
    request: Request,
    settings: SettingsDep,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
    header: Annotated[str | None, Security(_header)],
    cookie: Annotated[str | None, Security(session_cookie)],
) -> Principal:
    secret = bearer.credentials if bearer is not None else header
    if secret:
        with session(settings) as db:
            found = authenticate(db, secret)
        limit_key(request, settings, found)
        if found is None:
            raise _unauthorized("invalid or revoked API key")
        return found
    if not cookie:
        raise _unauthorized("an API key is required (Authorization: Bearer <key> or X-API-Key)")
    with session(settings) as db:
        found = session_principal(db, cookie)
    if found is None:
        raise _unauthorized("the session has ended, expired or its key was revoked: sign in again")
    limit_key(request, settings, found)
    if request.method not in SAFE_METHODS and request.headers.get(CSRF_HEADER) != CSRF_VALUE:
        raise HTTPException(
            status_code=403,
            detail=f"cookie-authenticated writes need the {CSRF_HEADER}: {CSRF_VALUE} header",
        )
    return found


def require(role: Role) -> Callable[..., Principal]:
    """A dependency admitting keys with `role` or a higher one; it returns the caller."""

    def check(caller: Annotated[Principal, Depends(principal)]) -> Principal:
        if not allows(caller.role, role):
            raise HTTPException(
                status_code=403, detail=f"this needs the {role} role; the key has {caller.role}"
            )
        return caller

    return check


Viewer = Annotated[Principal, Depends(require("viewer"))]
Analyst = Annotated[Principal, Depends(require("analyst"))]
Admin = Annotated[Principal, Depends(require("admin"))]
