"""schemathesis against the live gateway: every operation of /openapi.json.

The suite runs as `extplane up` on loopback ports with a bearer token for both
query roles and seeded data. schemathesis (its own CLI, as a user would run
it) generates requests from the document, positive and negative, with a fixed
seed and a random one; the random seed is printed so a failure can be replayed:

    st run URL/openapi.json --seed N ...   (the command is printed too)

Checks: not_a_server_error, status_code_conformance, content_type_conformance,
response_schema_conformance, negative_data_rejection as
`protojson_negative_data_rejection` (a body's null is protojson's "unset"), and
positive_data_acceptance as `documented_positive_data_acceptance` (see
`attack_schemathesis_hooks`: it lets pass a 400 only for the cross-field and
state rules each operation's description states, checked from the request).
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.attack.live_suite import AUTHORIZATION, SEEDED_EVENTS, LiveSuite, live_suite

FIXED_SEED = 20261201
# Per operation and run; with the coverage phase's own cases this gives well
# over 1,000 cases a run across the 8 operations.
MAX_EXAMPLES = 130
MIN_TOTAL_CASES = 2000
RUN_TIMEOUT_S = 720
CHECKS = ",".join(
    (
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_schema_conformance",
        "protojson_negative_data_rejection",
        "documented_positive_data_acceptance",
    )
)
HOOKS_DIR = Path(__file__).parent
SCHEMATHESIS = Path(sys.executable).parent / "schemathesis"

pytestmark = pytest.mark.timeout(2 * RUN_TIMEOUT_S + 120)


@dataclass
class Run:
    seed: int
    command: list[str]
    exit_code: int
    generated: int
    output: str


@pytest.fixture(scope="module")
def suite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveSuite]:
    with live_suite(tmp_path_factory.mktemp("attack-openapi")) as running:
        yield running


def run_schemathesis(base_url: str, seed: int, report: Path) -> Run:
    command = [
        str(SCHEMATHESIS),
        "run",
        f"{base_url}/openapi.json",
        "--checks",
        CHECKS,
        "--seed",
        str(seed),
        "--max-examples",
        str(MAX_EXAMPLES),
        "--phases",
        "examples,coverage,fuzzing",
        # The extension route passes the guest's own status and body through: no
        # schema describes them. Its refusals are tests/runner/test_runner_gateway.py's.
        # (Known issue: one request schemathesis generates for it hangs until the
        # client's timeout; not yet diagnosed, see the closing note.)
        "--exclude-path-regex",
        "^/v1/extensions/",
        "--header",
        f"Authorization: {AUTHORIZATION}",
        "--request-timeout",
        "30",
        # The token is a test's own: keep reproductions runnable as printed.
        "--output-sanitize",
        "false",
        "--continue-on-failure",
        "--no-color",
        "--report",
        "json",
        "--report-json-path",
        str(report),
    ]
    env = {
        **os.environ,
        "PYTHONPATH": str(HOOKS_DIR),
        "SCHEMATHESIS_HOOKS": "attack_schemathesis_hooks",
        "ATTACK_AUDIT_HEAD": str(SEEDED_EVENTS),
    }
    finished = subprocess.run(
        command,
        capture_output=True,
        text=True,
        env=env,
        timeout=RUN_TIMEOUT_S,
        check=False,
        cwd=report.parent,  # schemathesis keeps a cache folder where it runs
    )
    generated = 0
    if report.exists():
        generated = json.loads(report.read_text())["test_cases"]["generated"]
    return Run(seed, command, finished.returncode, generated, finished.stdout + finished.stderr)


def test_every_operation_holds_to_its_schema(suite: LiveSuite, tmp_path: Path) -> None:
    seeds = [FIXED_SEED, random.SystemRandom().randrange(2**31)]
    print(f"schemathesis seeds: {seeds}")
    runs = [
        run_schemathesis(suite.running.http_base(), s, tmp_path / f"run-{s}.json") for s in seeds
    ]

    failed = [run for run in runs if run.exit_code != 0]
    for run in failed:
        print(f"\n===== seed {run.seed}: exit {run.exit_code}\n$ {' '.join(run.command)}")
        print(run.output)
    total = sum(run.generated for run in runs)
    print(f"schemathesis generated {total} cases: {[(r.seed, r.generated) for r in runs]}")
    assert [run.seed for run in failed] == [], "schemathesis found failures (printed above)"
    assert total >= MIN_TOTAL_CASES
    assert suite.running.process.poll() is None, "the suite stopped under the run"
