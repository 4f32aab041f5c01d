"""How benchmarks print: a header saying where and how they ran, then one row per
comparison, ending in its ratio, so a script can read the ratio from the last column.
"""

from __future__ import annotations

import datetime
import os
import platform
from collections.abc import Sequence

from _harness import Comparison, Plan

_COLUMNS = (
    "name",
    "ops/s",
    "p50 ms",
    "p99 ms",
    "base ops/s",
    "base p50",
    "base p99",
    "+cpu us/op",
    "ratio",
)

NOTES = (
    "ratio = ops/s / base ops/s (1.00: as fast as the bare baseline; higher is better)",
    "+cpu us/op = process CPU per call beyond the baseline's (what the subject adds)",
)


def run_header(title: str, plan: Plan, *, notes: Sequence[str] = ()) -> str:
    today = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        f"{title} — {today}",
        f"python {platform.python_version()} on {platform.system()} {platform.machine()}, "
        f"{os.cpu_count()} cpus; warm-up {plan.warmup.duration_s:g} s per side, "
        f"{plan.rounds} x {plan.run.duration_s:g} s timed per side (interleaved)",
        *notes,
    ]
    return "\n".join(lines)


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f}"


def format_table(rows: Sequence[Comparison]) -> str:
    cells = [_COLUMNS]
    for row in rows:
        cells.append(
            (
                row.name,
                f"{row.subject.ops_per_s:.0f}",
                _ms(row.subject.percentile_s(0.50)),
                _ms(row.subject.percentile_s(0.99)),
                f"{row.baseline.ops_per_s:.0f}",
                _ms(row.baseline.percentile_s(0.50)),
                _ms(row.baseline.percentile_s(0.99)),
                f"{row.added_cpu_per_op_s * 1e6:+.0f}",
                f"{row.ratio:.2f}",
            )
        )
    widths = [max(len(line[i]) for line in cells) for i in range(len(_COLUMNS))]

    def render(line: Sequence[str]) -> str:
        first = line[0].ljust(widths[0])
        rest = (cell.rjust(width) for cell, width in zip(line[1:], widths[1:], strict=True))
        return "  ".join((first, *rest))

    return "\n".join([*(render(line) for line in cells), *NOTES])
