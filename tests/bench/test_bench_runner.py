"""The runner's WebAssembly benchmark runs end to end and prints each ratio and its
target's verdict. Only the shape of the output is checked: figures from 2 shared
cores are not assertions. Its cold row compiles the no-op guest once (a minute on
a busy machine), hence the long timeout."""

from __future__ import annotations

import math
import os
import re
import subprocess
import sys

import pytest

from tests.bench.test_bench_smoke import REPO, table_rows

SCRIPT = REPO / "bench" / "runner.py"
ROWS = ("wasm.run_job", "wasm.storage_get.x50")


@pytest.mark.timeout(900)
def test_quick_run_prints_each_ratio_and_the_targets() -> None:
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
        assert cells[0] > 0, f"{name}: nothing completed\n{result.stdout}"
        assert math.isfinite(cells[-1]), f"{name}: ratio is {cells[-1]}\n{result.stdout}"
    for row, bound in (("wasm.warm_vs_cold", r"\(>= 1000x\)"), ("wasm.storage_get", r"\(<= 1.5\)")):
        verdict = re.search(
            rf"^  {re.escape(row)}: (\d+\.?\d*)x? {bound}: (met|MISSED)$",
            result.stdout,
            re.MULTILINE,
        )
        assert verdict is not None, result.stdout
