"""The one lifecycle every extplane component shares (servers, stores, providers).

`start()` returns once the component is ready; `stop()` is safe without `start()`
and safe twice. `async with component:` runs both.
"""

from __future__ import annotations

from types import TracebackType
from typing import Protocol, Self, runtime_checkable


@runtime_checkable
class Lifecycle(Protocol):
    async def start(self) -> None: ...

    async def stop(self) -> None: ...


@runtime_checkable
class Drainable(Protocol):
    """A lifecycle whose work in flight may finish before it stops (a server).

    `drain(grace)` stops taking new work, waits at most `grace` seconds for the
    work already running, then stops. Called again while draining with a smaller
    grace, it cuts the wait short; `drain(0)` stops at once.
    """

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def drain(self, grace: float) -> None: ...


class AsyncLifecycle:
    """Mixin: `async with` for anything that has `start()` and `stop()`."""

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()
