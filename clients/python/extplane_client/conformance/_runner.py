"""Running a suite: the checks of its level in order, each bounded in time.

A check that raises or outlasts its budget is a failure of that check, never
of the run; after an unanswered first call the rest are skipped, so a hanging
implementation costs one deadline, not one per check.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import grpc

from extplane_client._rpc import ChannelClient
from extplane_client.conformance import audit, capabilities, handler, metering
from extplane_client.conformance._model import (
    Check,
    CheckResult,
    Finding,
    Level,
    Report,
    failed,
    skipped,
    unverifiable,
)
from extplane_client.conformance._probe import Counter, CounterError, Probe
from extplane_client.conformance.liveness import UNRESPONSIVE
from extplane_client.tls import ClientTls

SUITES: dict[str, Callable[[dict[str, Any]], tuple[Check, ...]]] = {
    "metering": lambda settings: metering.CHECKS,
    "audit": lambda settings: audit.CHECKS,
    "capabilities": lambda settings: capabilities.checks(settings.get("role", "provider")),
    "handler": lambda settings: handler.CHECKS,
}
"""Every suite by name; `settings` are the suite's own (capabilities `role`,
handler `echo_path`)."""

DEFAULT_DEADLINE_S = 2.0
# A check makes a handful of calls, each bounded by the deadline; this bounds the
# check as a whole, whatever it does.
_CALLS_PER_CHECK = 12


@dataclass(frozen=True)
class Options:
    level: Level = Level.SEED
    deadline_s: float = DEFAULT_DEADLINE_S
    counter: Counter | None = None
    settings: dict[str, Any] = field(default_factory=dict)


def suite_checks(suite: str, options: Options) -> tuple[Check, ...]:
    """The checks `suite` runs at `options.level` (full includes seed)."""
    if suite not in SUITES:
        raise ValueError(f"suite: {suite!r} is not one of {', '.join(SUITES)}")
    chosen = SUITES[suite](options.settings)
    return tuple(c for c in chosen if options.level is Level.FULL or c.level is Level.SEED)


async def _run_one(check: Check, probe: Probe) -> Finding:
    if probe.facts.get(UNRESPONSIVE):
        return skipped("the implementation did not answer the first call (see answers_in_time)")
    if check.applies_when:
        fact = probe.facts.get(check.applies_when)
        if fact is False:
            return skipped(check.not_applicable)
        if fact is None:
            return skipped(f"moot: the check deciding {check.applies_when!r} did not pass")
    budget = probe.deadline_s * _CALLS_PER_CHECK + 5
    try:
        return await asyncio.wait_for(check.probe(probe), budget)
    except TimeoutError:
        return failed(f"the check did not finish within {budget:g}s")
    except CounterError as error:
        return unverifiable(f"the counter failed: {error}")
    except Exception as error:  # a probe tripped over an answer it did not expect
        return failed(f"the check could not judge the answer: {type(error).__name__}: {error}")


class ConformanceClient(ChannelClient):
    """Runs conformance suites against one implementation (an address or a channel).

    `token` goes with every call as a bearer token, like every extplane client's.
    """

    def __init__(
        self,
        target: str | grpc.aio.Channel,
        *,
        token: str | None = None,
        tls: ClientTls | None = None,
    ) -> None:
        super().__init__(target, token=token, tls=tls)
        self._target = target if isinstance(target, str) else "channel"

    async def run(self, suite: str, options: Options | None = None) -> Report:
        self._check_open()
        options = options or Options()
        checks = suite_checks(suite, options)
        probe = Probe(
            self._channel,
            self._metadata,
            options.deadline_s,
            counter=options.counter,
            settings=dict(options.settings),
        )
        results = []
        for check in checks:
            began = time.monotonic()
            finding = await _run_one(check, probe)
            results.append(CheckResult(check, finding, time.monotonic() - began))
        return Report(suite, self._target, options.level, tuple(results))


async def run_conformance(
    suite: str,
    target: str | grpc.aio.Channel,
    *,
    token: str | None = None,
    options: Options | None = None,
) -> Report:
    """One suite against one implementation; see ConformanceClient."""
    async with ConformanceClient(target, token=token) as client:
        return await client.run(suite, options)
