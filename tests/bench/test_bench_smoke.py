"""The capability benchmark runs end to end and reports a ratio for every row.

Only the shape of the output is checked: figures from 2 shared cores are not
assertions (a ratio must be a positive number, nothing more).
"""

from __future__ import annotations

import math
import os
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "bench" / "capabilities.py"
ROWS = ("grpc.Capabilities", "http.GET", "http.GET.304", "http.GET.serial")
_NUMBER = r"[+-]?\d+(?:\.\d+)?"
# name, ops/s, p50, p99, base ops/s, base p50, base p99, +cpu us/op, ratio
_ROW = re.compile(rf"^(\S+)((?:\s+{_NUMBER}){{8}})$")


def run_quick() -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EXTPLANE_")}
    return subprocess.run(
        [sys.executable, str(SCRIPT), "--quick"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=100,
        check=False,
    )


def table_rows(stdout: str) -> dict[str, list[float]]:
    rows: dict[str, list[float]] = {}
    for line in stdout.splitlines():
        match = _ROW.match(line)
        if match:
            rows[match.group(1)] = [float(cell) for cell in match.group(2).split()]
    return rows


def test_quick_run_prints_a_ratio_for_each_measurement() -> None:
    result = run_quick()

    assert result.returncode == 0, result.stderr
    rows = table_rows(result.stdout)
    assert sorted(rows) == sorted(ROWS), result.stdout
    for name, cells in rows.items():
        ops_per_s, base_ops_per_s, ratio = cells[0], cells[3], cells[-1]
        assert ops_per_s > 0, f"{name}: no calls completed\n{result.stdout}"
        assert base_ops_per_s > 0, f"{name}: no baseline calls completed\n{result.stdout}"
        assert math.isfinite(ratio), f"{name}: ratio is {ratio}\n{result.stdout}"
        assert ratio > 0, f"{name}: ratio is {ratio}\n{result.stdout}"
    assert "ratio = ops/s / base ops/s" in result.stdout


def test_bad_option_is_refused_naming_it() -> None:
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--seconds", "0"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 2
    assert "--seconds" in result.stderr
    assert "must be > 0" in result.stderr
