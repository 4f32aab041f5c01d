"""Run the real `extplane` command as a subprocess and read the addresses it prints."""

from __future__ import annotations

import asyncio
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

_ADDRESS_LINE = re.compile(r"^\s+(\S+)\s+(\S+://\S+)$")


@dataclass
class RunningCli:
    process: subprocess.Popen[str]
    addresses: dict[str, str] = field(default_factory=dict)
    stdout_lines: list[str] = field(default_factory=list)
    # The last lines of stderr (the JSON logs), kept as they arrive.
    stderr_tail: list[str] = field(default_factory=list)

    def grpc_target(self, name: str) -> str:
        return self.addresses[name].removeprefix("grpc://").removeprefix("grpcs://")

    def http_base(self, name: str = "gateway") -> str:
        return self.addresses[name]

    def terminate(self, timeout: float = 30.0) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=timeout)


def ephemeral_env(tmp_path: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """Every port ephemeral, data in a temp dir: tests never collide with `make run`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("EXTPLANE_")}
    env.update(
        {
            "EXTPLANE_DATA_DIR": str(tmp_path / "data"),
            "EXTPLANE_GATEWAY__PORT": "0",
            "EXTPLANE_CAPABILITIES__PORT": "0",
            "EXTPLANE_METERING__PORT": "0",
            "EXTPLANE_AUDIT__PORT": "0",
            "EXTPLANE_HOST_PROVIDERS__PORT": "0",
            "EXTPLANE_RUNNER__PORT": "0",
            "EXTPLANE_METRICS__PORT": "0",
            "EXTPLANE_LOGGING__LEVEL": "INFO",
        }
    )
    env.update(extra or {})
    return env


CLI_MODULE = (sys.executable, "-m", "extplane.cli")


def start_cli(
    args: list[str],
    env: Mapping[str, str],
    expect: set[str],
    *,
    command: Sequence[str] = CLI_MODULE,
    cwd: Path | None = None,
) -> RunningCli:
    """Start `extplane ARGS` and wait until it has printed an address for each of `expect`.

    `command` is how `extplane` is spelled (the installed console script, say).
    """
    process = subprocess.Popen(
        [*command, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(env),
        cwd=cwd,
    )
    running = RunningCli(process)
    lines: queue.Queue[str | None] = queue.Queue()
    threading.Thread(target=_pump, args=(process.stdout, lines), daemon=True).start()
    stderr_tail = running.stderr_tail
    threading.Thread(target=_keep_tail, args=(process.stderr, stderr_tail), daemon=True).start()
    deadline = time.monotonic() + 60
    while not expect <= running.addresses.keys():
        try:
            line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            line = None
        if line is None:
            process.kill()
            process.wait(timeout=10)
            raise AssertionError(
                f"extplane {args} did not come up: {running.stdout_lines} {stderr_tail[-20:]}"
            )
        running.stdout_lines.append(line)
        match = _ADDRESS_LINE.match(line.rstrip("\n"))
        if match:
            running.addresses[match.group(1)] = match.group(2)
    return running


def _pump(stream: IO[str] | None, lines: queue.Queue[str | None]) -> None:
    assert stream is not None
    for line in stream:
        lines.put(line)
    lines.put(None)


def _keep_tail(stream: IO[str] | None, tail: list[str]) -> None:
    # Drained continuously so a chatty child never blocks on a full stderr pipe.
    assert stream is not None
    for line in stream:
        tail.append(line)
        del tail[:-50]


@dataclass(frozen=True)
class CliResult:
    code: int
    stdout: str
    stderr: str


async def run_extplane(
    *args: str, env: Mapping[str, str] | None = None, stdin: bytes = b"", cwd: Path | None = None
) -> CliResult:
    """`extplane ARGS` to completion, as a user's shell runs it; no EXTPLANE_* leaks in."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("EXTPLANE_")}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "extplane.cli",
        *args,
        env={**clean, **(env or {})},
        cwd=cwd,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(stdin), timeout=60)
    assert process.returncode is not None
    return CliResult(process.returncode, out.decode(), err.decode())
