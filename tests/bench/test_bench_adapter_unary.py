"""The adapter's unary-fallback benchmark runs end to end and reports a ratio for every sink.

Only the shape of the output is checked: figures from 2 shared cores are not
assertions. The TypeScript sink needs Node.js, as the polyglot tests do.
"""

from __future__ import annotations

import math
import os
import re
import subprocess
import sys

from tests.bench.test_bench_smoke import REPO

SCRIPT = REPO / "bench" / "adapter_unary.py"
ROWS = ("unary.python", "unary.python.1ms", "unary.python.5ms", "unary.typescript")
_NUMBER = r"\d+(?:\.\d+)?"
# name, events/s, base events/s, client us/ev, base, sink us/ev, base, sink max, ratio
_ROW = re.compile(rf"^(unary\.\S+)((?:\s+{_NUMBER}){{8}})$")


def test_quick_run_prints_a_ratio_for_each_sink() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EXTPLANE_")}
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick", "--concurrency", "8"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=100,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    rows = {
        match.group(1): [float(cell) for cell in match.group(2).split()]
        for match in map(_ROW.match, result.stdout.splitlines())
        if match
    }
    assert sorted(rows) == sorted(ROWS), result.stdout
    for name, cells in rows.items():
        events_per_s, base_events_per_s, ratio = cells[0], cells[1], cells[-1]
        assert events_per_s > 0, f"{name}: no event delivered\n{result.stdout}"
        assert base_events_per_s > 0, f"{name}: no baseline event delivered\n{result.stdout}"
        assert math.isfinite(ratio), f"{name}: ratio is {ratio}\n{result.stdout}"
        assert ratio > 0, f"{name}: ratio is {ratio}\n{result.stdout}"
    assert "subject unary_concurrency=8, baseline 1" in result.stdout
    assert "unary.typescript: 8 calls in flight deliver" in result.stdout
    assert "ratio = events/s at the window" in result.stdout
