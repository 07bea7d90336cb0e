"""Encryption at rest of the secrets the application database keeps: webhook URLs (a
Slack webhook URL lets whoever holds it post to the channel) and recipient lists.

Fernet (AES-CBC with an HMAC), keyed from RINGSIDE_SECRET_KEY, else from an installation
secret made once under the state directory; RINGSIDE_PREVIOUS_SECRET_KEYS keep what
former keys sealed readable (MultiFernet). A sealed value starts with `fernet:`, so a
value written before encryption (plain text) is told apart and still read.

One process may serve several installations (tests use several homes), so the key is
the settings' and not a global: `ringside.core.appdb.session(settings)` binds the
settings' keyring for the duration of the session (`keyring_bound`), and the sealed
column types (ringside/core/appdb/sealed.py) seal and open with the bound one."""

from __future__ import annotations

import base64
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from ringside.core.settings import Settings

PREFIX = "fernet:"
# Binds the derived keys to this use: the same secret may key something else elsewhere.
_PURPOSE = b"ringside application database secrets"

_bound: ContextVar[MultiFernet | None] = ContextVar("ringside_keyring", default=None)


class SecretKeyError(RuntimeError):
    """No keyring is bound, or a sealed value opens with none of the configured keys."""


@cache
def installation_secret(path: Path) -> str:
    """The secret kept at `path`, created on first use (mode 0600); read once per
    process."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        # O_EXCL: two processes starting at once keep the first one's secret.
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as out:
                out.write(secrets.token_urlsafe(48))
    return path.read_text().strip()


def keyring(settings: Settings) -> MultiFernet:
    """The settings' keys: the one that seals first, then the former ones."""
    current = (
        settings.secret_key.get_secret_value()
        if settings.secret_key is not None
        else installation_secret(settings.layout.secret_key_path)
    )
    former = (key.get_secret_value() for key in settings.previous_secret_keys)
    return _keyring((current, *former))


@cache
def _keyring(secret_keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(_fernet_key(secret)) for secret in secret_keys])


def _fernet_key(secret: str) -> bytes:
    # Any string may be configured; Fernet wants 32 random-looking bytes: HKDF makes them.
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_PURPOSE)
    return base64.urlsafe_b64encode(derived.derive(secret.encode()))


@contextmanager
def keyring_bound(settings: Settings) -> Iterator[None]:
    """Seal and open with the settings' keys inside the block (this thread or task)."""
    token = _bound.set(keyring(settings))
    try:
        yield
    finally:
        _bound.reset(token)


def _current() -> MultiFernet:
    found = _bound.get()
    if found is None:
        raise SecretKeyError(
            "no secret key bound: open the application database with "
            "ringside.core.appdb.session(settings)"
        )
    return found


def seal(text: str) -> str:
    return PREFIX + _current().encrypt(text.encode()).decode()


def is_sealed(value: str) -> bool:
    return value.startswith(PREFIX)


def unseal(value: str) -> str:
    """The text a sealed value holds; a value not sealed (stored before encryption) as
    it is."""
    if not is_sealed(value):
        return value
    try:
        return _current().decrypt(value.removeprefix(PREFIX).encode()).decode()
    except InvalidToken:
        raise SecretKeyError(
            "a stored secret opens with neither RINGSIDE_SECRET_KEY (or the installation's "
            "secret_key file) nor RINGSIDE_PREVIOUS_SECRET_KEYS: add the key it was "
            "sealed with to the latter"
        ) from None
