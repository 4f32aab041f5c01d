"""The metering benchmark runs end to end and reports a ratio for every row.

Only the shape of the output is checked, as for the capability benchmark:
figures from 2 shared cores are not assertions.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys

from tests.bench.test_bench_smoke import REPO, table_rows

SCRIPT = REPO / "bench" / "metering.py"
ROWS = (
    "grpc.RecordMetering",
    "grpc.RecordMetering.servicer",
    "store.batch.c1",
    "store.batch.c8",
    "grpc.Batch.c8",
    "adapter.record.metering",
    "adapter.record.audit",
)


def test_quick_run_prints_a_ratio_for_each_measurement() -> None:
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
        assert ops_per_s > 0, f"{name}: no calls completed\n{result.stdout}"
        assert base_ops_per_s > 0, f"{name}: no baseline calls completed\n{result.stdout}"
        assert math.isfinite(ratio), f"{name}: ratio is {ratio}\n{result.stdout}"
        assert ratio > 0, f"{name}: ratio is {ratio}\n{result.stdout}"
    assert "events/s (target >= 50,000)" in result.stdout
    assert "(c) adapter.record.metering: median" in result.stdout
