"""Test clients of the app that authenticate: each carries a fresh API key of a role,
created in the application database the app will read."""

from fastapi.testclient import TestClient

from api.main import create_app
from ringside.access.keys import create_key
from ringside.access.roles import Role
from ringside.core.appdb import session
from ringside.core.settings import Settings, get_settings


def new_key(settings: Settings | None = None, role: Role = "viewer") -> str:
    """The secret of a new key of `role` in the app DB of `settings` (default: the
    environment's, as `get_settings()` sees it now)."""
    with session(settings or get_settings()) as db:
        _, secret = create_key(db, role, name=f"test-{role}")
    return secret


def api_client(settings: Settings | None = None, role: Role = "viewer") -> TestClient:
    """A client sending a new `role` key. With `settings`, the app reads those instead of
    the environment's (and the key is made in their app DB)."""
    app = create_app()
    if settings is not None:
        app.dependency_overrides[get_settings] = lambda: settings
    return TestClient(app, headers={"Authorization": f"Bearer {new_key(settings, role)}"})
