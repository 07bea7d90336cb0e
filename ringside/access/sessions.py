"""Web app sessions: a signed, timed token naming the API key a person signed in with.
The cookie holds no secret of the key; the key is looked up on every request, so
revoking it (or its expiry) ends every session made from it."""

from __future__ import annotations

import os
import secrets
from functools import cache
from pathlib import Path

from itsdangerous import BadSignature, URLSafeTimedSerializer

from ringside.core.settings import Settings

COOKIE_NAME = "ringside_session"
_SALT = "ringside-session"


def session_secret(settings: Settings) -> str:
    """RINGSIDE_SESSION_SECRET, else the installation's generated secret (made once)."""
    if settings.session_secret is not None:
        return settings.session_secret.get_secret_value()
    return _installation_secret(settings.layout.session_secret_path)


@cache
def _installation_secret(path: Path) -> str:
    """The secret kept at `path`, created on first use; read once per process, since
    every cookie-authenticated request needs it."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        # O_EXCL: two workers starting at once keep the first one's secret.
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as out:
                out.write(secrets.token_urlsafe(48))
    return path.read_text().strip()


def _serializer(settings: Settings) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(session_secret(settings), salt=_SALT)


def session_token(settings: Settings, key_id: int) -> str:
    return _serializer(settings).dumps({"key_id": key_id})


def session_key_id(settings: Settings, token: str) -> int | None:
    """The key id a token names, or None if it is forged, altered or older than
    `session_hours`."""
    try:
        payload = _serializer(settings).loads(token, max_age=settings.session_hours * 3600)
    except BadSignature:  # SignatureExpired is a BadSignature too
        return None
    key_id = payload.get("key_id") if isinstance(payload, dict) else None
    return key_id if isinstance(key_id, int) else None
