"""The audit benchmark runs end to end and reports a ratio for every row and
a line per target. Only the shape of the output is checked: figures from 2
shared cores are not assertions."""

from __future__ import annotations

import math
import os
import re
import subprocess
import sys

from tests.bench.test_bench_smoke import REPO, table_rows

SCRIPT = REPO / "bench" / "audit.py"
ROWS = ("store.batch.c8", "store.batch.c1", "verify")


def test_quick_run_prints_a_ratio_for_each_measurement_and_the_targets() -> None:
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
    for name in ("store.batch.c8", "store.batch.c1"):
        assert re.search(rf"{name}: ingest ratio \d+\.\d\d \(>= 0.5\): (met|MISSED)", result.stdout)
    assert re.search(r"verify: \d+ events/s over \d+ records \(>= 200000\)", result.stdout)


def test_bad_option_is_refused_naming_it() -> None:
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--rounds", "0"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 2
    assert "--rounds" in result.stderr
