"""Delivering notifications: what each channel sends, and sending it with retries.

Every notification is a `NotificationDelivery` row written before the first attempt;
`deliver` updates it after each try, so a failure is recorded (status `failed`, the
attempts and the last error) and the next evaluation tries it again."""

from __future__ import annotations

import logging
import mimetypes
import smtplib
import time
from collections.abc import Callable
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx

from ringside.alerts.rules import Channels
from ringside.core.appdb import utcnow
from ringside.core.appdb.alerts import AlertTransition
from ringside.core.appdb.notifications import NotificationDelivery
from ringside.core.redaction import redact_text, redact_url
from ringside.core.settings import Settings

STATE_PREFIX = {"firing": "[FIRING]", "resolved": "[RESOLVED]"}


class _Redacted(logging.Filter):
    """httpx logs every request's URL (INFO); a webhook's is a credential."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = redact_text(record.getMessage()), None
        return True


logging.getLogger("httpx").addFilter(_Redacted())


class DeliveryError(RuntimeError):
    """A channel could not deliver (connection refused, HTTP error status, SMTP error)."""


def deliveries_for(transition: AlertTransition, channels: Channels) -> list[NotificationDelivery]:
    """One pending delivery per webhook and one per email message for a transition."""
    alert = {
        "rule": transition.rule_name,
        "rule_id": transition.rule_id,
        "state": transition.to_state,
        "previous_state": transition.from_state,
        "value": transition.value,
        "period_start": transition.period_start.isoformat() if transition.period_start else None,
        "message": transition.message,
        "at": transition.created_at.isoformat() + "Z",
    }
    headline = f"{STATE_PREFIX[transition.to_state]} {transition.rule_name}"
    deliveries = [
        NotificationDelivery(
            transition_id=transition.id,
            channel="webhook",
            address=webhook.url,
            payload={"text": f"{headline}: {transition.message}"}
            if webhook.format == "slack"
            else alert,
        )
        for webhook in channels.webhooks
    ]
    if channels.email:
        deliveries.append(
            NotificationDelivery(
                transition_id=transition.id,
                channel="email",
                address=", ".join(channels.email),
                payload={"subject": headline, "body": f"{transition.message}\n"},
            )
        )
    return deliveries


def deliver(
    settings: Settings,
    delivery: NotificationDelivery,
    sleep: Callable[[float], None] = time.sleep,
) -> bool:
    """Try a delivery up to `alert_delivery_attempts` times with exponential backoff;
    records the outcome on the row (the caller commits). True when delivered."""
    for attempt in range(settings.alert_delivery_attempts):
        if attempt:
            sleep(settings.alert_delivery_backoff_seconds * 2 ** (attempt - 1))
        delivery.attempts += 1
        delivery.last_attempt_at = utcnow()
        try:
            send(settings, delivery.channel, delivery.address, delivery.payload)
        except DeliveryError as exc:
            delivery.last_error = str(exc)
            continue
        delivery.status = "delivered"
        delivery.delivered_at = delivery.last_attempt_at
        return True
    delivery.status = "failed"
    return False


def send(settings: Settings, channel: str, destination: str, payload: dict[str, Any]) -> None:
    if channel == "webhook":
        _post(settings, destination, payload)
    else:
        _mail(settings, [a.strip() for a in destination.split(",")], payload)


def _post(settings: Settings, url: str, payload: dict[str, Any]) -> None:
    try:
        response = httpx.post(url, json=payload, timeout=settings.alert_delivery_timeout_seconds)
        response.raise_for_status()
    except httpx.HTTPError as exc:
        # Stored on the delivery, shown by the API, logged: without the URL's secret
        # part (httpx names the URL in its messages too). Same for mail below.
        raise DeliveryError(f"webhook {redact_url(url)}: {redact_text(str(exc))}") from exc


def _mail(settings: Settings, recipients: list[str], payload: dict[str, Any]) -> None:
    if not settings.smtp_host:
        raise DeliveryError("email: RINGSIDE_SMTP_HOST is not set")
    message = EmailMessage()
    message["From"] = settings.smtp_from
    message["To"] = ", ".join(recipients)
    message["Subject"] = payload["subject"]
    message.set_content(payload["body"])
    # Scheduled reports attach their files (paths written by the delivery); alerts do not.
    for name in payload.get("attachments", []):
        path = Path(name)
        media_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        maintype, subtype = media_type.split("/", 1)
        try:
            content = path.read_bytes()
        except OSError as exc:
            raise DeliveryError(f"email attachment {path}: {exc}") from exc
        message.add_attachment(content, maintype=maintype, subtype=subtype, filename=path.name)
    try:
        with smtplib.SMTP(
            settings.smtp_host, settings.smtp_port, timeout=settings.alert_delivery_timeout_seconds
        ) as smtp:
            if settings.smtp_starttls:
                smtp.starttls()
            if settings.smtp_user:
                smtp.login(settings.smtp_user, settings.smtp_password.get_secret_value())
            smtp.send_message(message)
    except (smtplib.SMTPException, OSError) as exc:
        raise DeliveryError(
            f"email via {settings.smtp_host}:{settings.smtp_port}: {redact_text(str(exc))}"
        ) from exc
