"""Test components built from source against the project's WIT, once per source hash.

Python guests with componentize-py, the JavaScript one with componentize-js
(`tools/guests/componentize.mjs`, its library API). A build takes seconds and
hundreds of MB, so each is kept under `build/test-guests/` (gitignored) by the
sha256 of its source, the WIT and the builder's version: a later session
reuses it, a changed source or WIT rebuilds it.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
WIT = ROOT / "wit"
WORLD = "runner"
GUESTS = Path(__file__).resolve().parent / "guests"
CACHE = ROOT / "build" / "test-guests"
JS_BUILDER = ROOT / "tools" / "guests" / "componentize.mjs"


@dataclass(frozen=True)
class Guest:
    """A built component: its file and the sha256 of its bytes (the cache key)."""

    name: str
    path: Path
    sha256: str


def _wit_digest() -> bytes:
    digest = hashlib.sha256()
    for path in sorted(WIT.rglob("*.wit")):
        digest.update(path.read_bytes())
    return digest.digest()


def _built(name: str, source: Path, builder: str, command: list[str], cwd: Path) -> Guest:
    key = hashlib.sha256(source.read_bytes() + _wit_digest() + builder.encode()).hexdigest()
    out = CACHE / f"{name}-{key[:20]}.wasm"
    if not out.is_file():
        CACHE.mkdir(parents=True, exist_ok=True)
        partial = out.with_suffix(f".{os.getpid()}.partial")
        completed = subprocess.run(
            [*command, str(partial)], cwd=cwd, capture_output=True, text=True, timeout=300
        )
        if completed.returncode != 0:
            raise RuntimeError(f"building guest {name} failed:\n{completed.stderr[-4000:]}")
        partial.replace(out)
    data = out.read_bytes()
    return Guest(name, out, hashlib.sha256(data).hexdigest())


def python_guest(name: str) -> Guest:
    """`guests/<name>/app.py` as a component of the Alga world."""
    folder = GUESTS / name
    tool = str(Path(sys.executable).parent / "componentize-py")
    command = [tool, "-d", str(WIT), "-w", WORLD, "componentize", "app", "-o"]
    version = f"componentize-py {metadata.version('componentize-py')}"
    return _built(name, folder / "app.py", version, command, folder)


def js_guest(name: str) -> Guest:
    """`guests/<name>/app.js` as a component of the Alga world."""
    source = GUESTS / name / "app.js"
    lock = (ROOT / "tools" / "guests" / "package-lock.json").read_bytes()
    builder = "componentize-js " + hashlib.sha256(lock + JS_BUILDER.read_bytes()).hexdigest()
    command = ["node", str(JS_BUILDER), str(source), str(WIT), WORLD]
    return _built(name, source, builder, command, ROOT)
