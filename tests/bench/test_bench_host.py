"""The host storage benchmark runs end to end and reports a ratio for each row, the
per-call token cost with and without the cache, and its target's verdict. Only the
shape of the output is checked: figures from 2 shared cores are not assertions."""

from __future__ import annotations

import math
import os
import re
import subprocess
import sys

from tests.bench.test_bench_smoke import REPO, table_rows

SCRIPT = REPO / "bench" / "host.py"
ROWS = ("grpc.StorageGet.c64", "verify.cached")


def test_quick_run_prints_a_ratio_for_each_row_the_token_cost_and_the_target() -> None:
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
        assert ratio > 0, f"{name}: ratio is {ratio}\n{result.stdout}"
    cost = re.search(
        r"^verify: (\d+\.\d+) us per call with the cache, "
        r"(\d+\.\d+) us without \((\d+\.\d)x faster\)$",
        result.stdout,
        re.MULTILINE,
    )
    assert cost is not None, result.stdout
    assert float(cost.group(1)) > 0
    assert float(cost.group(2)) > 0
    verdict = re.search(
        r"^  grpc\.StorageGet\.c64: ratio (\d+\.\d\d) \(>= 0\.6\): (met|MISSED)$",
        result.stdout,
        re.MULTILINE,
    )
    assert verdict is not None, result.stdout
    assert (verdict.group(2) == "met") == (float(verdict.group(1)) >= 0.6)
