"""`bench/_adapter_cost.py` runs alone and prints a cost for each sink.

Only the shape of the output is checked: figures from 2 shared cores are not
assertions.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "bench" / "_adapter_cost.py"
_COST = re.compile(
    r"^(adapter\.record\.\w+): median (\d+\.\d+) us, p99 (\d+\.\d+) us per call; "
    r"no-op call (\d+\.\d+) / (\d+\.\d+) us"
)


def test_quick_run_prints_the_record_cost_of_each_sink() -> None:
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=100,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    costs = {
        match.group(1): [float(match.group(i)) for i in range(2, 6)]
        for match in map(_COST.match, result.stdout.splitlines())
        if match
    }
    assert sorted(costs) == ["adapter.record.audit", "adapter.record.metering"], result.stdout
    for name, (median, p99, base_median, base_p99) in costs.items():
        assert 0 < median <= p99, f"{name}\n{result.stdout}"
        assert 0 < base_median <= base_p99, f"{name}\n{result.stdout}"
    assert "ratio = ops/s / base ops/s" in result.stdout
