"""Access control for the analytics API: every route but event tracking (write keys)
and /health requires an API key, sent as `Authorization: Bearer <key>` or `X-API-Key`.
No valid key: 401. A valid key whose role is below the route's: 403."""

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, HTTPException, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from api.deps import SettingsDep
from ringside.access.keys import Principal, authenticate
from ringside.access.roles import Role, allows
from ringside.appdb import session

_bearer = HTTPBearer(auto_error=False, description="An API key: `ringside keys create`.")
_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="An API key.")


def principal(
    settings: SettingsDep,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
    header: Annotated[str | None, Security(_header)],
) -> Principal:
    secret = bearer.credentials if bearer is not None else header
    if not secret:
        raise HTTPException(
            status_code=401,
            detail="an API key is required (Authorization: Bearer <key> or X-API-Key)",
            headers={"WWW-Authenticate": "Bearer"},
        )
    with session(settings) as db:
        found = authenticate(db, secret)
    if found is None:
        raise HTTPException(
            status_code=401,
            detail="invalid or revoked API key",
            headers={"WWW-Authenticate": "Bearer"},
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
