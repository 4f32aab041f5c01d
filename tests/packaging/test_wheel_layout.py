"""The wheel a user installs: our three import packages and nothing that could collide."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from configparser import ConfigParser
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
OUR_PACKAGES = {"extplane", "extplane_protos", "extplane_client"}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> zipfile.ZipFile:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(out), str(ROOT)],
        check=True,
        timeout=300,
    )
    (built,) = out.glob("extplane-*.whl")
    return zipfile.ZipFile(built)


def test_only_our_import_packages_are_top_level(wheel: zipfile.ZipFile) -> None:
    top_level = {name.split("/", 1)[0] for name in wheel.namelist()}
    packages = {name for name in top_level if not name.endswith(".dist-info")}
    assert packages == OUR_PACKAGES
    assert not {"alga", "orloj", "google", "services", "clients"} & top_level


def test_generated_stubs_ship_with_their_type_stubs(wheel: zipfile.ZipFile) -> None:
    names = set(wheel.namelist())
    for module in ("orloj/extensions/v1/capabilities", "alga/extension/v1/storage"):
        for suffix in ("_pb2.py", "_pb2.pyi", "_pb2_grpc.py", "_pb2_grpc.pyi"):
            assert f"extplane_protos/{module}{suffix}" in names
    assert {f"{package}/py.typed" for package in OUR_PACKAGES} <= names
    assert "extplane_protos/source_info.binpb" in names  # proto comments, for docs


def test_the_console_script_is_extplane(wheel: zipfile.ZipFile) -> None:
    (entry_points,) = [n for n in wheel.namelist() if n.endswith("entry_points.txt")]
    parser = ConfigParser()
    parser.read_string(wheel.read(entry_points).decode())
    assert parser["console_scripts"]["extplane"] == "extplane.cli:main"


def test_the_console_ships_its_files(wheel: zipfile.ZipFile) -> None:
    names = set(wheel.namelist())
    static = "extplane/gateway/console/static/"
    for name in ("index.html", "console.css", "app.js", "chart.js", "usage.js", "audit.js"):
        assert static + name in names


def test_the_alga_world_ships_beside_the_module_that_reads_it(wheel: zipfile.ZipFile) -> None:
    # extplane.runner.world reads it there when installed from the wheel.
    shipped = wheel.read("extplane/runner/alga-extension.wit")
    assert shipped == (ROOT / "wit" / "alga-extension.wit").read_bytes()
