"""The pytest face of the kit, as an implementer's CI uses it: a test module of
their own, run by pytest in a subprocess, reporting one test per check."""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

IMPLEMENTER_TESTS = """
import pytest

from extplane_client.conformance.pytest_plugin import conformance_tests
from extplane_client.testing import serve_capability_provider


@pytest.fixture
async def provider_address():
    async with serve_capability_provider(FEATURES, {"acme.tier": "gold"}) as served:
        yield served.address


test_my_provider = conformance_tests("capabilities", target="provider_address", level="full")
"""


def run_pytest(tmp_path: Path, features: str, *extra: str) -> tuple[int, ET.Element, str]:
    module = tmp_path / "test_implementer.py"
    module.write_text(f"FEATURES = {features}\n" + IMPLEMENTER_TESTS)
    junit = tmp_path / "junit.xml"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            str(module),
            "-q",
            "-p",
            "no:cacheprovider",
            "-o",
            "asyncio_mode=auto",
            f"--junitxml={junit}",
            f"--rootdir={tmp_path}",
            *extra,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        check=False,
    )
    return done.returncode, ET.parse(junit).getroot(), done.stdout


def outcomes(root: ET.Element) -> dict[str, str]:
    found = {}
    for case in root.iter("testcase"):
        name = case.get("name", "").removeprefix("test_my_provider[").removesuffix("]")
        kinds = [child.tag for child in case if child.tag in ("failure", "skipped")]
        found[name] = kinds[0] if kinds else "passed"
    return found


def test_a_conformant_provider_passes_each_check_as_its_own_test(tmp_path: Path) -> None:
    status, root, out = run_pytest(tmp_path, '{"acme.invoicing": True}')
    assert status == 0, out
    results = outcomes(root)
    assert results["capabilities.no_core_features"] == "passed"
    assert results["capabilities.answers_in_time"] == "passed"
    # No health service on the test double: advisory, an xfail (a skip in JUnit).
    assert results["capabilities.health"] == "skipped"
    assert len(results) == 10


def test_a_provider_replacing_a_core_feature_fails_that_test(tmp_path: Path) -> None:
    status, root, out = run_pytest(tmp_path, '{"metering": False}')
    assert status == 1
    results = outcomes(root)
    assert [name for name, kind in results.items() if kind == "failure"] == [
        "capabilities.no_core_features"
    ]
    # `metering` carries no provider prefix either: advisory, so an xfail.
    assert results["capabilities.keys_prefixed"] == "skipped"
    assert "contract: providers add, never replace" in out


def test_the_level_can_be_lowered_from_the_command_line(tmp_path: Path) -> None:
    status, root, out = run_pytest(
        tmp_path,
        '{"metering": False}',
        "-p",
        "extplane_client.conformance.pytest_plugin",
        "--conformance-level",
        "seed",
    )
    assert status == 0, out
    assert outcomes(root)["capabilities.no_core_features"] == "skipped"
