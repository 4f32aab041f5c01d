"""The job function a worker runs, named as `module:function` so a spawned process
can import it (a function object cannot cross into a fresh interpreter)."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

JobFunction = Callable[[Any], Any]


def parse_target(target: str) -> tuple[str, str]:
    """(module, attribute) of `module:function`; ValueError naming what is wrong."""
    module, sep, name = target.partition(":")
    parts = module.split(".") if module else []
    if (
        not sep
        or not parts
        or not all(part.isidentifier() for part in parts)
        or not name.isidentifier()
    ):
        raise ValueError(
            f"target: expected an importable 'module:function' (such as "
            f"'extplane.runner.wasm.worker:run_job'), got {target!r}"
        )
    return module, name


def load_target(target: str) -> JobFunction:
    """Import `module:function` and return the function (raises what the import raised)."""
    module_name, name = parse_target(target)
    module = importlib.import_module(module_name)
    function = getattr(module, name, None)
    if function is None:
        raise ValueError(f"target: module {module_name!r} has no attribute {name!r}")
    if not callable(function):
        raise ValueError(f"target: {target!r} is not callable")
    return function  # type: ignore[no-any-return]
