"""A guest's stdout and stderr: per-execution files, read back as bounded lines.

wasmtime writes WASI output to files we name (`WasiConfig.stdout_file`); the
`*_custom` callbacks run on other threads and have crashed the interpreter at
exit, so they are not used. Only the first MAX_OUTPUT_BYTES of each stream
are read, and at most MAX_LINES lines of MAX_LINE_CHARS are kept.

The files live in one private directory per process, two per thread, reused
by that thread's next execution (wasmtime truncates a file when it opens it),
and are emptied once read: no directory is made or removed per execution.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import threading
from functools import cache
from pathlib import Path

import wasmtime

MAX_OUTPUT_BYTES = 64 * 1024
MAX_LINES = 200
MAX_LINE_CHARS = 1000


@cache
def _directory() -> Path:
    directory = Path(tempfile.mkdtemp(prefix="extplane-wasm-out-"))
    atexit.register(shutil.rmtree, directory, ignore_errors=True)
    return directory


class GuestOutput:
    """The two files of one execution (of this thread), emptied by `close()`."""

    def __init__(self) -> None:
        slot = f"{os.getpid()}-{threading.get_ident()}"
        self.stdout = _directory() / f"{slot}.stdout"
        self.stderr = _directory() / f"{slot}.stderr"

    def wasi_config(self) -> wasmtime.WasiConfig:
        """WASI as guest runtimes need it: no preopens, no environment, no arguments."""
        config = wasmtime.WasiConfig()
        config.stdout_file = str(self.stdout)
        config.stderr_file = str(self.stderr)
        return config

    def lines(self) -> tuple[str, ...]:
        found: list[str] = []
        for path in (self.stdout, self.stderr):
            if not path.exists():
                continue
            with path.open("rb") as file:
                text = file.read(MAX_OUTPUT_BYTES).decode("utf-8", "replace")
            found.extend(line[:MAX_LINE_CHARS] for line in text.splitlines())
        return tuple(found[:MAX_LINES])

    def stderr_tail(self, size: int = 4096) -> tuple[str, ...]:
        """The last lines of stderr, where a runtime's dying words are."""
        if not self.stderr.exists():
            return ()
        with self.stderr.open("rb") as file:
            file.seek(max(0, self.stderr.stat().st_size - size))
            return tuple(file.read().decode("utf-8", "replace").splitlines())

    def close(self) -> None:
        for path in (self.stdout, self.stderr):
            if path.exists():
                os.truncate(path, 0)
