"""A component built the way an extension author builds one — componentize-py
against the project's WIT — passes the registry's check: the Alga world's
interfaces and the WASI interfaces such a component imports are all allowed.

The build takes seconds and hundreds of MiB, so it runs once and is kept in
pytest's cache under the hash of its source and the WIT.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import pytest

from extplane.runner.component_check import check_component, validation_engine
from extplane.runner.world import alga_world, wit_path

GUEST = """\
import wit_world
from wit_world.imports import logging, storage
from wit_world.imports.types import ExecuteResponse


class WitWorld(wit_world.WitWorld):
    def handler(self, request):
        logging.info("called")
        storage.get("notes", "greeting")
        return ExecuteResponse(status=200, headers=[], body=b"ok")
"""


@pytest.fixture(scope="module")
def python_component(
    pytestconfig: pytest.Config, tmp_path_factory: pytest.TempPathFactory
) -> bytes:
    assert pytestconfig.cache is not None
    wit = wit_path()
    key = hashlib.sha256(GUEST.encode() + wit.read_bytes()).hexdigest()[:16]
    built = pytestconfig.cache.mkdir("extension-components") / f"python-{key}.wasm"
    if not built.exists():
        source = tmp_path_factory.mktemp("guest")
        (source / "app.py").write_text(GUEST)
        out = source / "app.wasm"
        componentize = Path(sys.executable).parent / "componentize-py"
        subprocess.run(
            [str(componentize), "-d", str(wit.parent), "-w", "runner", "componentize", "app",
             "-o", str(out)],
            cwd=source, check=True, capture_output=True, timeout=300,
        )  # fmt: skip
        out.replace(built)
    return built.read_bytes()


@pytest.mark.timeout(300)
def test_a_componentize_py_component_passes_the_check(python_component: bytes) -> None:
    checked = check_component(python_component, validation_engine())
    world = alga_world()
    alga = {world.import_name(name) for name in world.imports}
    imported = set(checked.imports)
    # componentize-py imports every interface of the world, and WASI besides.
    assert alga <= imported
    wasi = imported - alga
    assert {name.split("/")[0] for name in wasi} == {
        "wasi:cli", "wasi:clocks", "wasi:filesystem", "wasi:io", "wasi:random", "wasi:sockets",
    }  # fmt: skip
    assert checked.sha256 == hashlib.sha256(python_component).hexdigest()
