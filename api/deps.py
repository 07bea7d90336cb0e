"""FastAPI dependencies shared by the routers (swap them in tests via dependency_overrides)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from ringside.settings import Settings, get_settings

SettingsDep = Annotated[Settings, Depends(get_settings)]
