"""The log budget: a burst, then a steady rate, and a count of what was held back."""

from __future__ import annotations

import logging

import grpc
import pytest

from extplane.runtime.log_budget import LogBudget
from extplane.runtime.observing import RpcCall, RpcOutcome
from extplane.runtime.rpc_log import RpcLog


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_burst_goes_out_then_one_line_per_token_with_the_held_back_count() -> None:
    clock = FakeClock()
    budget = LogBudget(rate_per_s=2.0, burst=3, clock=clock)

    assert [budget.admit("k") for _ in range(5)] == [0, 0, 0, None, None]
    clock.now += 0.5  # one token back
    assert budget.admit("k") == 2
    assert budget.admit("k") is None
    clock.now += 10  # refills to the burst, no further
    assert [budget.admit("k") for _ in range(4)] == [1, 0, 0, None]


def test_keys_have_their_own_buckets_and_the_oldest_is_forgotten() -> None:
    clock = FakeClock()
    budget = LogBudget(rate_per_s=1.0, burst=1, max_keys=2, clock=clock)

    assert budget.admit("a") == 0
    assert budget.admit("a") is None
    assert budget.admit("b") == 0
    assert budget.admit("c") == 0  # "a" is forgotten: a fresh bucket next time
    assert budget.admit("a") == 0


@pytest.mark.parametrize(
    ("rate", "burst", "keys"), [(0.0, 1, 1), (1.0, 0, 1), (1.0, 1, 0)], ids=str
)
def test_a_budget_that_admits_nothing_is_refused(rate: float, burst: int, keys: int) -> None:
    with pytest.raises(ValueError, match="positive"):
        LogBudget(rate_per_s=rate, burst=burst, max_keys=keys)


def test_the_rpc_log_says_how_many_lines_it_held_back(caplog: pytest.LogCaptureFixture) -> None:
    clock = FakeClock()
    log = RpcLog(budget=LogBudget(rate_per_s=1.0, burst=2, clock=clock))
    call = RpcCall("pkg.Service", "Method")
    crash = RpcOutcome(call, grpc.StatusCode.INTERNAL, 0.001, RuntimeError("boom"))
    down = RpcOutcome(call, grpc.StatusCode.UNAVAILABLE, 0.001)
    caplog.set_level(logging.WARNING, logger="extplane.rpc")

    for _ in range(7):
        log.rpc_finished(crash)
        log.rpc_finished(down)
    clock.now += 1.0
    log.rpc_finished(crash)

    crashes = [r for r in caplog.records if r.levelno == logging.ERROR]
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(crashes) == 3
    assert len(warnings) == 2  # a key of its own: the crashes do not use up its budget
    assert [getattr(r, "suppressed", None) for r in crashes] == [0, 0, 5]
    assert crashes[-1].getMessage().endswith("(5 more like it not logged)")
    assert all(r.exc_info for r in crashes)
