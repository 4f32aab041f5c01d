"""What every benchmark shares: a bounded timing loop under concurrency, and the
comparison of a subject with its baseline, both run in this process, interleaved.

    plan = plan_from(bench_arguments("...").parse_args())
    row = await compare("grpc.Capabilities", [call] * 64, [bare_call] * 64, plan=plan)
    print(format_table([row]))

An `Op` is one request: an awaitable that raises when the request failed, so a
broken server stops the run instead of being timed as fast. A workload is one
`Op` per concurrent worker: the same op repeated, or one per connection.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace

Op = Callable[[], Awaitable[object]]


class BenchmarkError(Exception):
    """An operation answered wrongly; the figures of this run mean nothing."""


@dataclass(frozen=True)
class Budget:
    """The bounds of one timed run: it ends at whichever limit comes first."""

    duration_s: float
    max_ops: int


@dataclass(frozen=True)
class Plan:
    """Warm-up, then `rounds` timed runs of each side, alternating which goes first."""

    warmup: Budget
    run: Budget
    rounds: int


FULL = Plan(warmup=Budget(1.0, 100_000), run=Budget(2.0, 200_000), rounds=3)
QUICK = Plan(warmup=Budget(0.2, 5_000), run=Budget(0.4, 20_000), rounds=1)


@dataclass(frozen=True)
class Measurement:
    """Calls completed, wall time, CPU time of the whole process, and each call's latency."""

    ops: int
    elapsed_s: float
    cpu_s: float
    latencies_s: tuple[float, ...]

    @property
    def ops_per_s(self) -> float:
        return self.ops / self.elapsed_s if self.elapsed_s > 0 else 0.0

    @property
    def cpu_per_op_s(self) -> float:
        return self.cpu_s / self.ops if self.ops else math.nan

    def percentile_s(self, q: float) -> float:
        """Nearest-rank percentile (`q` in 0..1) of the per-call latencies."""
        if not self.latencies_s:
            return math.nan
        ordered = sorted(self.latencies_s)
        rank = max(1, math.ceil(q * len(ordered)))
        return ordered[rank - 1]

    def __add__(self, other: Measurement) -> Measurement:
        return Measurement(
            self.ops + other.ops,
            self.elapsed_s + other.elapsed_s,
            self.cpu_s + other.cpu_s,
            self.latencies_s + other.latencies_s,
        )


NOTHING = Measurement(0, 0.0, 0.0, ())


@dataclass(frozen=True)
class Comparison:
    """One row of the report: the subject against the baseline it is measured by."""

    name: str
    subject: Measurement
    baseline: Measurement

    @property
    def ratio(self) -> float:
        """Subject throughput as a fraction of the baseline's (1.0: as fast)."""
        base = self.baseline.ops_per_s
        return self.subject.ops_per_s / base if base > 0 else math.nan

    @property
    def added_cpu_per_op_s(self) -> float:
        """Process CPU per call beyond the baseline's: the client's share cancels out."""
        return self.subject.cpu_per_op_s - self.baseline.cpu_per_op_s


async def drive(workload: Sequence[Op], *, budget: Budget) -> Measurement:
    """Run each op of `workload` in its own task until the budget's time or count runs out.

    Each task starts its next call as soon as the last one answered (a closed
    loop), so throughput is what the server sustains at that many calls in flight.
    """
    if not workload:
        raise ValueError("workload: at least one op is required")
    remaining = budget.max_ops
    latencies: list[float] = []
    cpu_started = time.process_time()
    started = time.perf_counter()
    deadline = started + budget.duration_s

    async def worker(op: Op) -> None:
        nonlocal remaining
        clock = time.perf_counter
        while remaining > 0 and clock() < deadline:
            remaining -= 1
            t0 = clock()
            await op()
            latencies.append(clock() - t0)

    workers = [asyncio.create_task(worker(op)) for op in workload]
    try:
        await asyncio.gather(*workers)
    finally:
        # On a failed call the other workers stop too, before anyone closes the servers.
        for task in workers:
            task.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    return Measurement(len(latencies), elapsed, cpu, tuple(latencies))


async def compare(
    name: str, subject: Sequence[Op], baseline: Sequence[Op], *, plan: Plan
) -> Comparison:
    """Warm both sides up, then time them in alternating rounds.

    Rounds alternate which side goes first (S B, B S, ...), so a neighbour's load
    or a drifting clock speed on shared cores falls on both sides alike.
    """
    if len(subject) != len(baseline):
        raise ValueError("subject and baseline must run at the same concurrency")
    await drive(subject, budget=plan.warmup)
    await drive(baseline, budget=plan.warmup)
    measured = {"subject": NOTHING, "baseline": NOTHING}
    workloads = {"subject": subject, "baseline": baseline}
    for round_index in range(plan.rounds):
        order = ("subject", "baseline") if round_index % 2 == 0 else ("baseline", "subject")
        for side in order:
            run = await drive(workloads[side], budget=plan.run)
            measured[side] = measured[side] + run
    return Comparison(name, measured["subject"], measured["baseline"])


def _positive(kind: Callable[[str], float]) -> Callable[[str], float]:
    def parse(text: str) -> float:
        value = kind(text)
        if value <= 0:
            raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
        return value

    return parse


def bench_arguments(description: str) -> argparse.ArgumentParser:
    """The options every benchmark takes; a script may add its own."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument(
        "--quick", action="store_true", help="a few-second smoke run (figures are rough)"
    )
    parser.add_argument("--seconds", type=_positive(float), help="length of each timed run")
    parser.add_argument("--rounds", type=_positive(int), help="timed runs of each side")
    return parser


def plan_from(args: argparse.Namespace) -> Plan:
    plan = QUICK if args.quick else FULL
    if args.seconds is not None:
        plan = replace(plan, run=replace(plan.run, duration_s=args.seconds))
    if args.rounds is not None:
        plan = replace(plan, rounds=int(args.rounds))
    return plan
