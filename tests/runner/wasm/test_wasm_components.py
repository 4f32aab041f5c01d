"""What `run_job` answers for components it cannot run (tiny components from WAT)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import wasmtime
from wasm_support import request

from extplane.runner.jobs import WasmJob
from extplane.runner.wasm import run_job


def job_of(tmp_path: Path, data: bytes, *, sha256: str | None = None) -> WasmJob:
    path = tmp_path / "component.wasm"
    path.write_bytes(data)
    digest = sha256 or hashlib.sha256(data).hexdigest()
    return WasmJob(digest, str(path), request(), "127.0.0.1:9", "unused")


def test_an_import_outside_the_world_is_refused_by_name(tmp_path: Path) -> None:
    data = bytes(wasmtime.wat2wasm('(component (import "evil:net/raw" (instance)))'))
    outcome = run_job(job_of(tmp_path, data))
    assert outcome.failure == "unsupported import: component imports evil:net/raw"


def test_a_component_without_a_handler_fails(tmp_path: Path) -> None:
    outcome = run_job(job_of(tmp_path, bytes(wasmtime.wat2wasm("(component)"))))
    assert outcome.failure == "trap: the component exports no handler"


def test_bytes_that_are_no_component_fail(tmp_path: Path) -> None:
    outcome = run_job(job_of(tmp_path, b"\x00asm not really"))
    assert outcome.failure is not None
    assert outcome.failure.startswith("component: cannot load: "), outcome


def test_a_file_that_is_not_the_hashed_component_fails(tmp_path: Path) -> None:
    outcome = run_job(job_of(tmp_path, bytes(wasmtime.wat2wasm("(component)")), sha256="0" * 64))
    assert outcome.failure is not None
    assert outcome.failure.startswith("component: component file "), outcome


def test_a_request_that_is_no_execute_request_fails(tmp_path: Path) -> None:
    good = job_of(tmp_path, bytes(wasmtime.wat2wasm("(component)")))
    bad = WasmJob(good.component_sha256, good.component_path, b"\xff\xff", "127.0.0.1:9", "x")
    assert run_job(bad).failure == "request: not an ExecuteRequest"
