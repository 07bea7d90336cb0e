"""Alert rules (create, read, update, delete) and the history of their transitions.

Rules are the admins': every key reads them, but only admins see their channels in full;
for everyone else webhook URLs (credentials) and recipient addresses are redacted, in
the rules and in the deliveries of the history alike."""

from datetime import UTC, date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Response
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.deps import Instant, SettingsDep, id_path, id_query
from api.errors import problems
from api.security import Admin, Viewer, require
from ringside.access.keys import Principal
from ringside.access.roles import allows
from ringside.alerts.rules import AlertState, Channels, RuleKind, RuleSpec
from ringside.alerts.service import rule_spec
from ringside.bi.kpis import Grain
from ringside.core.appdb import session
from ringside.core.appdb.alerts import AlertRule, AlertTransition
from ringside.core.appdb.notifications import NotificationDelivery
from ringside.core.timestamps import UtcDateTime

router = APIRouter(
    prefix="/api/analytics/alerts",
    tags=["alerts"],
    dependencies=[Depends(require("viewer"))],
    responses=problems(401, 403),
)

RuleId = Annotated[int, id_path("rule")]


class RuleOut(RuleSpec):
    id: int
    state: AlertState
    state_since: UtcDateTime | None
    last_evaluated_at: UtcDateTime | None
    created_at: UtcDateTime
    updated_at: UtcDateTime


class RulePatch(BaseModel):
    """Fields to change; the merged rule is validated as a whole."""

    name: str | None = None
    kind: RuleKind | None = None
    subject: str | None = None
    grain: Grain | None = None
    dimension: str | None = None
    dimension_value: str | None = None
    params: dict[str, Any] | None = None
    channels: Channels | None = None
    enabled: bool | None = None


class DeliveryOut(BaseModel):
    channel: str
    destination: str = Field(description="The URL or the recipients; redacted for non-admins.")
    status: str = Field(description="pending, delivered or failed (retried next evaluation).")
    attempts: int
    last_error: str | None
    delivered_at: UtcDateTime | None


class TransitionOut(BaseModel):
    id: int
    rule_id: int | None = Field(description="Null once the rule was deleted.")
    rule_name: str
    from_state: AlertState
    to_state: AlertState
    value: float | None
    period_start: date | None
    message: str
    created_at: UtcDateTime
    deliveries: list[DeliveryOut]


@router.get("/rules", response_model=list[RuleOut], summary="Every alert rule")
def list_rules(settings: SettingsDep, caller: Viewer) -> list[RuleOut]:
    with session(settings) as db:
        rules = db.scalars(select(AlertRule).order_by(AlertRule.id))
        return [_out(rule, caller) for rule in rules]


@router.post(
    "/rules",
    response_model=RuleOut,
    status_code=201,
    summary="Create an alert rule",
    responses=problems(400, 409),
)
def create_rule(body: RuleSpec, settings: SettingsDep, caller: Admin) -> RuleOut:
    with session(settings) as db:
        _unique_name(db, body.name)
        rule = AlertRule(**body.model_dump())
        db.add(rule)
        db.flush()
        return _out(rule, caller)


@router.get(
    "/rules/{rule_id}", response_model=RuleOut, summary="One alert rule", responses=problems(404)
)
def get_rule(rule_id: RuleId, settings: SettingsDep, caller: Viewer) -> RuleOut:
    with session(settings) as db:
        return _out(_rule(db, rule_id), caller)


@router.patch(
    "/rules/{rule_id}",
    response_model=RuleOut,
    summary="Change an alert rule",
    responses=problems(400, 404, 409),
)
def patch_rule(rule_id: RuleId, body: RulePatch, settings: SettingsDep, caller: Admin) -> RuleOut:
    with session(settings) as db:
        rule = _rule(db, rule_id)
        merged = rule_spec(rule).model_dump() | body.model_dump(exclude_unset=True)
        try:
            spec = RuleSpec.model_validate(merged)
        except ValidationError as exc:
            raise RequestValidationError(
                [
                    {**error, "loc": ("body", *error["loc"])}
                    for error in exc.errors(include_url=False, include_context=False)
                ]
            ) from None
        if spec.name != rule.name:
            _unique_name(db, spec.name)
        for field, value in spec.model_dump().items():
            setattr(rule, field, value)
        db.flush()
        return _out(rule, caller)


@router.delete(
    "/rules/{rule_id}",
    status_code=204,
    summary="Delete a rule (history stays)",
    dependencies=[Depends(require("admin"))],
    responses=problems(404),
)
def delete_rule(rule_id: RuleId, settings: SettingsDep) -> Response:
    with session(settings) as db:
        db.delete(_rule(db, rule_id))
    return Response(status_code=204)


@router.get("/history", response_model=list[TransitionOut], summary="Alert transitions")
def history(
    settings: SettingsDep,
    caller: Viewer,
    rule: Annotated[int | None, id_query("Only this rule's id.")] = None,
    state: Annotated[AlertState | None, Query(description="Only transitions to it.")] = None,
    since: Annotated[Instant | None, Query(description="From this UTC time on.")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[TransitionOut]:
    """Newest first, each with the outcome of its notifications."""
    query = select(AlertTransition).order_by(AlertTransition.id.desc()).limit(limit)
    if rule is not None:
        query = query.where(AlertTransition.rule_id == rule)
    if state is not None:
        query = query.where(AlertTransition.to_state == state)
    if since is not None:
        # Stored as naive UTC (ringside.core.appdb.utcnow).
        naive = since if since.tzinfo is None else since.astimezone(UTC).replace(tzinfo=None)
        query = query.where(AlertTransition.created_at >= naive)
    with session(settings) as db:
        transitions = db.scalars(query).all()
        deliveries: dict[int, list[DeliveryOut]] = {t.id: [] for t in transitions}
        for delivery in db.scalars(
            select(NotificationDelivery)
            .where(NotificationDelivery.transition_id.in_(deliveries))
            .order_by(NotificationDelivery.id)
        ):
            assert delivery.transition_id is not None  # selected by it
            shown = DeliveryOut.model_validate(delivery, from_attributes=True)
            if _sees_secrets(caller):
                shown.destination = delivery.address
            deliveries[delivery.transition_id].append(shown)
        return [
            TransitionOut.model_validate(
                {**_columns(t), "deliveries": deliveries[t.id]}, from_attributes=False
            )
            for t in transitions
        ]


def _rule(db: Session, rule_id: int) -> AlertRule:
    rule = db.get(AlertRule, rule_id)
    if rule is None:
        raise HTTPException(status_code=404, detail=f"no alert rule {rule_id}")
    return rule


def _unique_name(db: Session, name: str) -> None:
    if db.scalar(select(AlertRule.id).where(AlertRule.name == name)) is not None:
        raise HTTPException(status_code=409, detail=f"an alert rule named {name!r} exists")


def _sees_secrets(caller: Principal) -> bool:
    return allows(caller.role, "admin")


def _out(rule: AlertRule, caller: Principal) -> RuleOut:
    out = RuleOut.model_validate(_columns(rule))
    if _sees_secrets(caller):
        return out
    return out.model_copy(update={"channels": out.channels.redacted()})


def _columns(row: AlertRule | AlertTransition) -> dict[str, Any]:
    return {column.key: getattr(row, column.key) for column in row.__table__.columns}
