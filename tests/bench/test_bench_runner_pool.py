"""The worker-pool benchmark runs end to end and reports each row with its ratio
and the no-op rates in full. Only the shape of the output is checked: figures
from 2 shared cores are not assertions."""

from __future__ import annotations

import math
import os
import re
import subprocess
import sys

from tests.bench.test_bench_smoke import REPO, table_rows

SCRIPT = REPO / "bench" / "runner_pool.py"
ROWS = ("noop.pool1", "noop.pool2", "cpu.pool2")


def test_quick_run_prints_each_row_and_the_noop_rates() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EXTPLANE_")}
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=100,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    rows = table_rows(result.stdout)
    assert sorted(rows) == sorted(ROWS), result.stdout
    for name, cells in rows.items():
        ops_per_s, base_ops_per_s, ratio = cells[0], cells[3], cells[-1]
        assert ops_per_s > 0, f"{name}: nothing completed\n{result.stdout}"
        assert base_ops_per_s > 0, f"{name}: no baseline op completed\n{result.stdout}"
        assert math.isfinite(ratio), f"{name}: ratio is {ratio}\n{result.stdout}"
    rates = re.search(
        r"^noop round trips/s: [\d,]+ with 1 worker \((\d\.\d{5}) of inline\), "
        r"[\d,]+ with 2 \((\d\.\d{5})\); inline [\d,]+/s$",
        result.stdout,
        re.MULTILINE,
    )
    assert rates is not None, result.stdout
    assert float(rates.group(1)) > 0
    assert float(rates.group(2)) > 0
    assert re.search(r"^cpu jobs: 2 workers \d+\.\d\dx the rate of 1$", result.stdout, re.MULTILINE)
