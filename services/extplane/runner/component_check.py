"""Whether bytes are a WebAssembly component the runner can host: pure, so the
registry checks an upload with it and the runner could check again.

A component passes when

* it is a binary WebAssembly *component* (not a core module, not text) that
  wasmtime compiles;
* every import is an instance of an interface of the Alga world
  (`world.alga_world()`, read from `wit/alga-extension.wit`), holding only
  that interface's names, or a WASI 0.2 interface the runner links
  (`WASI_INTERFACES`: wasi:sockets is linked but denies everything, and
  wasi:http's outgoing handler refuses every request);
* it exports `handler`, a function of one parameter returning a record.

Anything else is refused with a `ComponentError` whose message names the
import or what is missing, in words an extension author can act on.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass

import wasmtime
from wasmtime import component

from extplane.runner.world import World, alga_world

MAX_COMPONENT_BYTES = 64 * 1024 * 1024
_MAGIC = b"\x00asm"
_CORE_LAYER = b"\x01\x00\x00\x00"
# The WASI 0.2 interfaces the runner's linker defines, by package. Versions
# 0.2.x all link (wasmtime matches semver-compatible imports).
WASI_INTERFACES: Mapping[str, frozenset[str]] = {
    "cli": frozenset(
        {
            "environment",
            "exit",
            "stdin",
            "stdout",
            "stderr",
            "terminal-input",
            "terminal-output",
            "terminal-stdin",
            "terminal-stdout",
            "terminal-stderr",
        }
    ),
    "clocks": frozenset({"monotonic-clock", "wall-clock"}),
    "filesystem": frozenset({"types", "preopens"}),
    "io": frozenset({"error", "poll", "streams"}),
    "random": frozenset({"random", "insecure", "insecure-seed"}),
    "sockets": frozenset(
        {
            "network",
            "instance-network",
            "ip-name-lookup",
            "tcp",
            "tcp-create-socket",
            "udp",
            "udp-create-socket",
        }
    ),
    "http": frozenset({"types", "outgoing-handler"}),
}
_WASI = re.compile(r"wasi:([a-z-]+)/([a-z-]+)@0\.2\.(0|[1-9][0-9]*)")
HANDLER = "handler"


class ComponentError(ValueError):
    """Why the bytes are not a component the runner hosts."""


@dataclass(frozen=True)
class CheckedComponent:
    sha256: str
    size_bytes: int
    # Every import's name, sorted.
    imports: tuple[str, ...]


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def validation_engine() -> wasmtime.Engine:
    """An engine for checking only: no optimisation (the runner compiles for real)."""
    config = wasmtime.Config()
    config.cranelift_opt_level = "none"
    return wasmtime.Engine(config)


def _header_problem(data: bytes) -> str | None:
    if not data:
        return "is empty"
    if len(data) > MAX_COMPONENT_BYTES:
        return f"is {len(data)} bytes; at most {MAX_COMPONENT_BYTES} bytes"
    if data[:4] != _MAGIC:
        return "is not a WebAssembly binary (no \\0asm header; WAT text is not accepted)"
    if data[4:8] == _CORE_LAYER:
        return (
            "is a core WebAssembly module, not a component: build a component against "
            "wit/alga-extension.wit (componentize-py, componentize-js, or wasm-tools component new)"
        )
    return None


def _wasi_problem(name: str) -> str | None:
    found = _WASI.fullmatch(name)
    if found is None:
        return f"import {name!r} is not a WASI 0.2 interface the runner provides"
    package, interface = found.group(1), found.group(2)
    if interface not in WASI_INTERFACES.get(package, frozenset()):
        return f"import {name!r} is not a WASI 0.2 interface the runner provides"
    return None


def _import_problem(name: str, item: object, world: World, engine: wasmtime.Engine) -> str | None:
    allowed = {world.import_name(i): i for i in world.imports}
    if name in allowed:
        if not isinstance(item, component.ComponentInstanceType):
            return f"import {name!r} must be an instance of the interface"
        interface = world.imports[allowed[name]]
        extra = sorted(set(item.exports(engine)) - interface.members)
        if extra:
            return (
                f"import {name!r} asks for {', '.join(repr(e) for e in extra)}, which the "
                f"interface does not have (it has: {', '.join(sorted(interface.members))})"
            )
        return None
    if name.startswith("wasi:"):
        if not isinstance(item, component.ComponentInstanceType):
            return f"import {name!r} must be an instance of the interface"
        return _wasi_problem(name)
    return (
        f"import {name!r} is neither an interface of the Alga world ({world.package}) "
        "nor a WASI interface the runner provides"
    )


def _handler_problem(exports: Mapping[str, object]) -> str | None:
    handler = exports.get(HANDLER)
    if not isinstance(handler, component.FuncType):
        return f"does not export the function {HANDLER!r} of the Alga world"
    if len(handler.params) != 1 or not isinstance(handler.result, component.RecordType):
        return (
            f"exports {HANDLER!r} with another signature than "
            "handler(request: execute-request) -> execute-response"
        )
    return None


class _Verdicts:
    """The last verdicts on the Alga world, by content hash: the same bytes always
    get the same answer, and compiling them again costs seconds (a retried upload,
    the same component uploaded as another version or to another replica's store)."""

    def __init__(self, capacity: int = 64) -> None:
        self._capacity = capacity
        self._seen: OrderedDict[str, CheckedComponent | str] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, sha256: str) -> CheckedComponent | str | None:
        with self._lock:
            verdict = self._seen.get(sha256)
            if verdict is not None:
                self._seen.move_to_end(sha256)
            return verdict

    def put(self, sha256: str, verdict: CheckedComponent | str) -> None:
        with self._lock:
            self._seen[sha256] = verdict
            self._seen.move_to_end(sha256)
            while len(self._seen) > self._capacity:
                self._seen.popitem(last=False)


_VERDICTS = _Verdicts()


def check_component(
    data: bytes, engine: wasmtime.Engine, world: World | None = None
) -> CheckedComponent:
    """`data` checked (it compiles: seconds for a large component, so call it off
    the event loop); ComponentError saying why not. Verdicts on the Alga world
    (`world` None) are remembered by content hash."""
    if world is not None:
        return _checked(data, engine, world)
    digest = sha256_hex(data)
    verdict = _VERDICTS.get(digest)
    if verdict is None:
        try:
            verdict = _checked(data, engine, alga_world())
        except ComponentError as refused:
            verdict = str(refused)
        _VERDICTS.put(digest, verdict)
    if isinstance(verdict, str):
        raise ComponentError(verdict)
    return verdict


def _checked(data: bytes, engine: wasmtime.Engine, world: World) -> CheckedComponent:
    problem = _header_problem(data)
    if problem is not None:
        raise ComponentError(problem)
    try:
        compiled = component.Component(engine, data)
    except wasmtime.WasmtimeError as error:
        # The first line says what; the rest is wasmtime's context chain.
        first = str(error).strip().splitlines()[0] if str(error).strip() else "invalid"
        raise ComponentError(f"does not compile as a WebAssembly component: {first}") from None
    try:
        kind = compiled.type
        imports = {name: extern.ty for name, extern in kind.imports(engine).items()}
        exports = {name: extern.ty for name, extern in kind.exports(engine).items()}
    finally:
        compiled.close()
    for name in sorted(imports):
        problem = _import_problem(name, imports[name], world, engine)
        if problem is not None:
            raise ComponentError(problem)
    problem = _handler_problem(exports)
    if problem is not None:
        raise ComponentError(problem)
    return CheckedComponent(sha256_hex(data), len(data), tuple(sorted(imports)))
