"""API keys (admin only): list, create (the secret is in this one response and never
again), change a key's role, and revoke. A key belongs to a principal: a new one (`name`)
or an existing one (`principal_id`, to rotate a key without losing what its holder owns)."""

from typing import Annotated, Self

from fastapi import APIRouter, Depends, HTTPException, Query
from pydantic import BaseModel, Field, model_validator

from api.deps import MAX_ID, SettingsDep, id_path
from api.errors import invalid, problems
from api.security import require
from ringside.access.keys import (
    KeyInfo,
    PrincipalError,
    create_key,
    list_keys,
    revoke_key,
    set_role,
)
from ringside.access.roles import Role
from ringside.core.appdb import session

router = APIRouter(
    prefix="/api/analytics/keys",
    tags=["access"],
    dependencies=[Depends(require("admin"))],
    responses=problems(401, 403),
)


class KeyIn(BaseModel):
    name: str | None = Field(
        default=None,
        min_length=1,
        max_length=100,
        description="A new principal's display name (names may repeat: identity is the id).",
    )
    principal_id: int | None = Field(
        default=None, ge=1, le=MAX_ID, description="Or: an existing principal gets another key."
    )
    role: Role
    email: str | None = Field(
        default=None, max_length=200, description="Where failing scheduled reports are reported."
    )

    @model_validator(mode="after")
    def _one_principal(self) -> Self:
        if (self.name is None) == (self.principal_id is None):
            raise ValueError("give either name (a new principal) or principal_id")
        return self


class RoleIn(BaseModel):
    role: Role


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
        try:
            key, secret = create_key(
                db, body.role, name=body.name, principal_id=body.principal_id, email=body.email
            )
        except PrincipalError as exc:
            raise invalid("body", "principal_id", str(exc), body.principal_id) from None
    return NewKey(**key.model_dump(), secret=secret)


@router.patch(
    "/{key_id}", response_model=KeyInfo, summary="Change a key's role", responses=problems(404)
)
def change_role(
    key_id: Annotated[int, id_path("key")], body: RoleIn, settings: SettingsDep
) -> KeyInfo:
    """The key may do what the new role may from its next request on; share links its
    principal made end if it may no longer share their reports."""
    with session(settings) as db:
        key = set_role(db, key_id, body.role)
    if key is None:
        raise HTTPException(status_code=404, detail=f"no API key {key_id}")
    return key


@router.delete("/{key_id}", response_model=KeyInfo, summary="Revoke a key", responses=problems(404))
def revoke(key_id: Annotated[int, id_path("key")], settings: SettingsDep) -> KeyInfo:
    """Requests with the key and sessions signed in with it get 401 from now on."""
    with session(settings) as db:
        key = revoke_key(db, key_id)
    if key is None:
        raise HTTPException(status_code=404, detail=f"no API key {key_id}")
    return key
