"""The wasmtime engines a worker process runs components on, and their fingerprints.

Epoch interruption is always on (every execution has a wall-clock deadline).
Fuel metering costs about a third of a CPU-bound guest's speed, so it lives in
a second engine, used only by jobs that ask for fuel. An artifact compiled by
one engine cannot be loaded by the other ("Module was compiled without fuel
support"), so the compile cache keys every artifact by `EngineSpec.fingerprint`.
"""

from __future__ import annotations

import hashlib
import json
import platform
import sys
from dataclasses import asdict, dataclass
from functools import cached_property
from importlib import metadata

import wasmtime

# Bumped when this module changes how it configures an engine in a way the
# fields below do not show, so old disk artifacts stop matching.
_LAYOUT = 1


@dataclass(frozen=True)
class EngineSpec:
    """Everything that shapes compiled code; two equal specs share artifacts."""

    fuel: bool = False
    cranelift_opt_level: str = "speed"
    # Guest stack bytes; a deeper recursion traps ("call stack exhausted").
    max_wasm_stack: int = 1024 * 1024

    @cached_property
    def fingerprint(self) -> str:
        """A short digest of the spec, the wasmtime version and the host target."""
        described = {
            **asdict(self),
            "epoch_interruption": True,
            "layout": _LAYOUT,
            "wasmtime": metadata.version("wasmtime"),
            "machine": platform.machine(),
            "platform": sys.platform,
        }
        text = json.dumps(described, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:20]

    def config(self) -> wasmtime.Config:
        config = wasmtime.Config()
        config.epoch_interruption = True
        config.consume_fuel = self.fuel
        config.cranelift_opt_level = self.cranelift_opt_level
        config.max_wasm_stack = self.max_wasm_stack
        # wasmtime's own directory cache stays off (its default): the compile cache
        # is ours, keyed by content and fingerprint, and bounded by what is installed.
        return config

    def engine(self) -> wasmtime.Engine:
        return wasmtime.Engine(self.config())


PLAIN = EngineSpec(fuel=False)
FUELED = EngineSpec(fuel=True)
