"""The one "is this service serving?" state every stateful service keeps.

A service opens it at the end of `start()` with what its servicers need (its
store, its recorder, …) and closes it at the start of `stop()`; servicers ask
`current` and get that, or a `NotServingError` the runtime turns into
UNAVAILABLE, so a call that arrives before start or while stopping is told to
retry rather than touching a closed store.
"""

from __future__ import annotations

from typing import Generic, TypeVar

from extplane.errors import NotServingError

T = TypeVar("T")


class Serving(Generic[T]):
    def __init__(self, service: str) -> None:
        self._service = service
        self._value: T | None = None

    def open(self, value: T) -> None:
        self._value = value

    def close(self) -> T | None:
        """Stop serving; returns what was open (None when nothing was)."""
        value, self._value = self._value, None
        return value

    @property
    def is_open(self) -> bool:
        return self._value is not None

    @property
    def current(self) -> T:
        value = self._value
        if value is None:
            raise NotServingError(f"the {self._service} service is not serving")
        return value
