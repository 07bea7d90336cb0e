"""Column types stored encrypted (ringside/core/crypto.py), with the key the session
bound. Values stored before encryption (plain) still read."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import JSON, Dialect, Text
from sqlalchemy.types import TypeDecorator

from ringside.core.crypto import is_sealed, seal, unseal


class SealedJSON(TypeDecorator[Any]):
    """A JSON document, stored as a JSON string holding it sealed: the column stays JSON
    on both engines, and a plain document (an object, not a string) is one from before."""

    impl = JSON
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        return None if value is None else seal(json.dumps(value))

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        return json.loads(unseal(value)) if isinstance(value, str) and is_sealed(value) else value


class SealedText(TypeDecorator[str]):
    impl = Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else seal(value)

    def process_result_value(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else unseal(value)
