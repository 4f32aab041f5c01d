"""The WIT bindings fixture, shared by the contract tests."""

from __future__ import annotations

import importlib
import pkgutil
import sys
from collections.abc import Iterator

import pytest
from contract_support import WitBindings, generate_bindings


@pytest.fixture(scope="session")
def wit_bindings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WitBindings]:
    out = tmp_path_factory.mktemp("wit-bindings")
    result = generate_bindings(out)
    assert result.returncode == 0, result.stderr
    sys.path.insert(0, str(out))
    try:
        world = importlib.import_module("wit_world")
        names = [i.name for i in pkgutil.iter_modules([str(out / "wit_world" / "imports")])]
        interfaces = {
            name.replace("_", "-"): importlib.import_module(f"wit_world.imports.{name}")
            for name in names
            if name != "__init__"
        }
        yield WitBindings(root=out, world=world, interfaces=interfaces)
    finally:
        sys.path.remove(str(out))
        for name in [n for n in sys.modules if n == "wit_world" or n.startswith("wit_world.")]:
            del sys.modules[name]
