"""The runner's Execute benchmark runs end to end (host, registry upload, runners
with 1 and 2 workers, gateway) and prints each row, the CPU breakdown and each
target's verdict. Only the shape of the output is checked: figures from 2 shared
cores are not assertions. The upload's component check and a first compile of the
no-op guest take minutes on a busy machine, hence the long timeout."""

from __future__ import annotations

import math
import os
import re
import subprocess
import sys

import pytest

from tests.bench.test_bench_smoke import REPO, table_rows

SCRIPT = REPO / "bench" / "runner_execute.py"
ROWS = ("execute.w1", "execute.w2", "gateway.w2")


@pytest.mark.timeout(900)
def test_quick_run_prints_each_row_and_the_targets() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EXTPLANE_")}
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=880,
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
    assert re.search(
        r"^cpu per execution: guest \d+\.\d\d ms \(bare loop\), front \d+\.\d\d ms .* "
        r"2 workers ~ \d+\.\d\dx 1 worker$",
        result.stdout,
        re.MULTILINE,
    ), result.stdout
    for row, bound in (("execute.w1", "0.5"), ("execute.w2", "1.4"), ("gateway.w2", "0.5")):
        verdict = re.search(
            rf"^  {re.escape(row)}: ratio \d+\.\d\d of .+ \(>= {re.escape(bound)}\): (met|MISSED)$",
            result.stdout,
            re.MULTILINE,
        )
        assert verdict is not None, f"{row}\n{result.stdout}"
