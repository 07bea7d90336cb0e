"""API keys (admin only): list, create (the secret is in this one response and never
again) and revoke."""

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query
from pydantic import BaseModel, Field

from api.deps import SettingsDep, id_path
from api.errors import problems
from api.security import require
from ringside.access.keys import KeyInfo, create_key, list_keys, revoke_key
from ringside.access.roles import Role
from ringside.core.appdb import session

router = APIRouter(
    prefix="/api/analytics/keys",
    tags=["access"],
    dependencies=[Depends(require("admin"))],
    responses=problems(401, 403),
)


class KeyIn(BaseModel):
    name: str = Field(
        min_length=1, max_length=100, description="Who holds the key (reports name owners by it)."
    )
    role: Role
    email: str | None = Field(
        default=None, max_length=200, description="Where failing scheduled reports are reported."
    )


class NewKey(KeyInfo):
    secret: str = Field(description="The key itself: shown in this response only, store it now.")


@router.get("/", response_model=list[KeyInfo], summary="The API keys (never their secrets)")
def keys(
    settings: SettingsDep,
    include_revoked: Annotated[bool, Query(description="List revoked keys too.")] = False,
) -> list[KeyInfo]:
    with session(settings) as db:
        return list_keys(db, include_revoked=include_revoked)


@router.post(
    "/", response_model=NewKey, status_code=201, summary="Create a key", responses=problems(400)
)
def create(body: KeyIn, settings: SettingsDep) -> NewKey:
    with session(settings) as db:
        key, secret = create_key(db, body.name, body.role, body.email)
    return NewKey(**key.model_dump(), secret=secret)


@router.delete("/{key_id}", response_model=KeyInfo, summary="Revoke a key", responses=problems(404))
def revoke(key_id: Annotated[int, id_path("key")], settings: SettingsDep) -> KeyInfo:
    with session(settings) as db:
        key = revoke_key(db, key_id)
    if key is None:
        raise HTTPException(status_code=404, detail=f"no API key {key_id}")
    return key
