"""The retention loop every stateful service runs: prune now, then every interval.

What to prune is the service's (`prune_once`); when and how often, and that a
failed round is logged and retried at the next one rather than ending the
loop, is the same for all.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from extplane.runtime.lifecycle import AsyncLifecycle

_logger = logging.getLogger(__name__)


class RetentionLoop(AsyncLifecycle):
    """Runs `prune_once()` at start and then every `interval_s` until stopped."""

    def __init__(
        self, name: str, prune_once: Callable[[], Awaitable[object]], *, interval_s: float
    ) -> None:
        self._name = name
        self._prune_once = prune_once
        self._interval_s = interval_s
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=f"{self._name}-retention")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        while True:
            try:
                await self._prune_once()
            except Exception:
                # Ingest is unaffected; the next round tries again.
                _logger.exception(
                    "%s retention failed; it runs again in %.0f s", self._name, self._interval_s
                )
            await asyncio.sleep(self._interval_s)
