"""Sign in to the web app: an API key becomes a server-side session whose random token is
the cookie (HttpOnly, SameSite=Strict), so the browser never keeps the key itself;
signing out ends the session on the server, not just in the browser."""

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Response, Security
from pydantic import BaseModel, Field

from api.deps import SettingsDep
from api.errors import problems
from api.limits import sign_in_limit
from api.security import Viewer, session_cookie
from ringside.access.keys import Principal, authenticate
from ringside.access.roles import Role
from ringside.access.sessions import COOKIE_NAME, end_session, start_session
from ringside.core.appdb import session

router = APIRouter(prefix="/api/session", tags=["access"])


class SignIn(BaseModel):
    api_key: str = Field(min_length=1, max_length=200, description="An API key (rs_…).")


class Me(BaseModel):
    principal_id: int = Field(description="Who the caller is: what they own points at this.")
    name: str
    role: Role


def _me(caller: Principal) -> Me:
    return Me(principal_id=caller.principal_id, name=caller.name, role=caller.role)


@router.post(
    "",
    response_model=Me,
    summary="Sign in with an API key",
    responses=problems(400, 401),
    dependencies=[Depends(sign_in_limit)],
)
def sign_in(body: SignIn, settings: SettingsDep, response: Response) -> Me:
    with session(settings) as db:
        caller = authenticate(db, body.api_key)
        token = start_session(db, caller, settings.session_hours) if caller else None
    if caller is None or token is None:
        raise HTTPException(status_code=401, detail="invalid or revoked API key")
    response.set_cookie(
        COOKIE_NAME,
        token,
        max_age=int(settings.session_hours * 3600),
        httponly=True,
        samesite="strict",
        secure=settings.public_url.startswith("https://"),
    )
    return _me(caller)


@router.get("", response_model=Me, summary="Who the key or session is", responses=problems(401))
def whoami(caller: Viewer) -> Me:
    return _me(caller)


@router.delete("", status_code=204, summary="Sign out (ends the session on the server)")
def sign_out(
    settings: SettingsDep, cookie: Annotated[str | None, Security(session_cookie)]
) -> Response:
    if cookie:
        with session(settings) as db:
            end_session(db, cookie)
    response = Response(status_code=204)
    response.delete_cookie(COOKIE_NAME, httponly=True, samesite="strict")
    return response
