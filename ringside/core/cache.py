"""Results computed from the warehouse, kept until the next build: every successful build
stamps a new data version (ringside.core.warehouse.data_version), so an entry keyed on the
version it was computed from can never be served for newer data."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable
from typing import Generic, TypeVar

V = TypeVar("V")


class VersionedCache(Generic[V]):
    """A bounded, thread-safe LRU keyed on (question, data version). Before the first
    build (version None) nothing is cached."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._lock = threading.Lock()
        self._entries: OrderedDict[tuple[Hashable, str], V] = OrderedDict()

    def get(self, key: Hashable, version: str | None) -> V | None:
        if version is None:
            return None
        with self._lock:
            value = self._entries.get((key, version))
            if value is not None:
                self._entries.move_to_end((key, version))
            return value

    def put(self, key: Hashable, version: str | None, value: V) -> None:
        if version is None:
            return
        with self._lock:
            self._entries[(key, version)] = value
            self._entries.move_to_end((key, version))
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)
