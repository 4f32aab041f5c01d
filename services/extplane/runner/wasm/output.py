"""A guest's stdout and stderr: per-execution files, read back as bounded lines.

wasmtime writes WASI output to files we name (`WasiConfig.stdout_file`); the
`*_custom` callbacks run on other threads and have crashed the interpreter at
exit, so they are not used. Only the first MAX_OUTPUT_BYTES of each stream
are read, and at most MAX_LINES lines of MAX_LINE_CHARS are kept.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import wasmtime

MAX_OUTPUT_BYTES = 64 * 1024
MAX_LINES = 200
MAX_LINE_CHARS = 1000


class GuestOutput:
    """The two files of one execution, removed by `close()`."""

    def __init__(self) -> None:
        self._directory = Path(tempfile.mkdtemp(prefix="extplane-wasm-out-"))
        self.stdout = self._directory / "stdout"
        self.stderr = self._directory / "stderr"

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
        shutil.rmtree(self._directory, ignore_errors=True)
