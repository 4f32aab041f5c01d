"""Shared by the polyglot tests: Node.js, and the TypeScript examples built once per session."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

TYPESCRIPT_DIR = Path(__file__).resolve().parents[2] / "clients" / "typescript"
EXAMPLES_DIST = TYPESCRIPT_DIR / "dist" / "examples"


def _require(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        pytest.fail(f"{tool} not found on PATH: the polyglot tests need Node.js and npm")
    return path


@pytest.fixture(scope="session")
def node() -> str:
    """The `node` executable, once the examples are freshly built from the current stubs."""
    npm = _require("npm")
    node_path = _require("node")
    if not (TYPESCRIPT_DIR / "node_modules").is_dir():
        pytest.fail(f"npm dependencies missing: run `npm ci --prefix {TYPESCRIPT_DIR}`")
    build = subprocess.run(
        [npm, "run", "--silent", "build"],
        cwd=TYPESCRIPT_DIR,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if build.returncode != 0:
        pytest.fail(f"npm run build failed:\n{build.stdout}\n{build.stderr}")
    return node_path
