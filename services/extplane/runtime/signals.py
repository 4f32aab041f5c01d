"""Run components until SIGTERM or SIGINT, then drain and stop them in reverse order.

A second signal during the drain means "now": the component draining is told to
stop at once, and the rest stop without a grace period.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Awaitable, Callable, Iterable, Sequence

from extplane.runtime.lifecycle import Drainable, Lifecycle

_logger = logging.getLogger("extplane.signals")

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class _Signals:
    """Counts stop signals: the first asks for a drain, the second for haste."""

    def __init__(self) -> None:
        self.stop_requested = asyncio.Event()
        self.hurry = asyncio.Event()

    def received(self, signum: int) -> None:
        name = signal.Signals(signum).name
        if not self.stop_requested.is_set():
            _logger.info("%s received: draining", name)
            self.stop_requested.set()
        else:
            _logger.warning("%s received again: stopping now", name)
            self.hurry.set()


async def run_until_signal(
    components: Sequence[Lifecycle],
    *,
    grace: float,
    on_started: Callable[[], Awaitable[None]] | None = None,
) -> None:
    """Start `components` in order, wait for SIGTERM/SIGINT, stop them in reverse.

    `on_started` runs once everything started (to announce addresses, say).
    `Drainable` components (servers) get up to `grace` seconds to finish calls in
    flight. A signal while starting abandons the start. Returns normally after a
    signal; raises if a component (or `on_started`) failed, after stopping the others.
    """
    loop = asyncio.get_running_loop()
    signals = _Signals()
    for signum in STOP_SIGNALS:
        loop.add_signal_handler(signum, signals.received, signum)
    started: list[Lifecycle] = []
    try:
        for component in components:
            started.append(component)
            if not await _start_unless_signalled(component, signals):
                break
        else:
            if on_started is not None:
                await on_started()
        await signals.stop_requested.wait()
    finally:
        try:
            await _stop_all(reversed(started), grace, signals)
        finally:
            for signum in STOP_SIGNALS:
                loop.remove_signal_handler(signum)


async def _start_unless_signalled(component: Lifecycle, signals: _Signals) -> bool:
    starting = asyncio.ensure_future(component.start())
    signalled = asyncio.ensure_future(signals.stop_requested.wait())
    try:
        await asyncio.wait({starting, signalled}, return_when=asyncio.FIRST_COMPLETED)
    except BaseException:
        await _cancel(starting)
        raise
    finally:
        signalled.cancel()
    if not starting.done():
        await _cancel(starting)
        return False
    starting.result()
    return True


async def _cancel(task: asyncio.Future[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def _stop_all(components: Iterable[Lifecycle], grace: float, signals: _Signals) -> None:
    for component in components:
        try:
            if isinstance(component, Drainable):
                await _drain(component, grace, signals)
            else:
                await component.stop()
        except Exception:
            _logger.exception("failed to stop %r", component)


async def _drain(component: Drainable, grace: float, signals: _Signals) -> None:
    if signals.hurry.is_set():
        await component.drain(0)
        return
    draining = asyncio.ensure_future(component.drain(grace))
    hurried = asyncio.ensure_future(signals.hurry.wait())
    try:
        await asyncio.wait({draining, hurried}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        hurried.cancel()
    if not draining.done():
        await component.drain(0)
    await draining
