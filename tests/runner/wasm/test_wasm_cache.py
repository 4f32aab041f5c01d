"""Compile once: per process in memory, across processes on disk, keyed by engine.

The cache's own behaviour is shown on a tiny component (compiled in
milliseconds); `run_job` and a second Python process on a real guest.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import wasmtime
from wasm_support import HERE, guest, job, response, run

from extplane.runner.wasm import cache_stats
from extplane.runner.wasm.cache import CompileCache, ComponentContentError
from extplane.runner.wasm.engine import FUELED, PLAIN, EngineSpec

pytestmark = pytest.mark.timeout(900)
TINY = wasmtime.wat2wasm(
    '(component (core module $m (func (export "f"))) (core instance (instantiate $m)))'
)


@pytest.fixture
def tiny(tmp_path: Path) -> tuple[str, str]:
    path = tmp_path / "tiny.wasm"
    path.write_bytes(TINY)
    return hashlib.sha256(TINY).hexdigest(), str(path)


def load(cache: CompileCache, spec: EngineSpec, tiny: tuple[str, str]) -> None:
    cache.get(spec.engine(), spec, *tiny)


def test_compiled_once_then_from_memory_then_from_disk(
    tmp_path: Path, tiny: tuple[str, str]
) -> None:
    first = CompileCache(tmp_path / "cache")
    load(first, PLAIN, tiny)
    engine = PLAIN.engine()
    first.get(engine, PLAIN, *tiny)
    first.get(engine, PLAIN, *tiny)
    assert (first.stats.compiles, first.stats.memory_hits, first.stats.disk_writes) == (1, 2, 1)
    second = CompileCache(tmp_path / "cache")
    load(second, PLAIN, tiny)
    assert (second.stats.compiles, second.stats.disk_loads) == (0, 1)


def test_each_engine_configuration_has_its_own_artifact(
    tmp_path: Path, tiny: tuple[str, str]
) -> None:
    assert PLAIN.fingerprint != FUELED.fingerprint
    cache = CompileCache(tmp_path / "cache")
    load(cache, PLAIN, tiny)
    load(cache, FUELED, tiny)
    assert cache.stats.compiles == 2
    assert {p.name for p in (tmp_path / "cache").iterdir()} == {
        PLAIN.fingerprint,
        FUELED.fingerprint,
    }


def artifact_files(folder: Path, sha256: str) -> tuple[Path, Path]:
    meta = folder / f"{sha256}.json"
    return meta, folder / json.loads(meta.read_text())["artifact"]


def test_an_artifact_of_another_configuration_is_compiled_again(
    tmp_path: Path, tiny: tuple[str, str]
) -> None:
    sha256 = tiny[0]
    cache = CompileCache(tmp_path / "cache")
    load(cache, PLAIN, tiny)
    # The plain engine's artifact placed where the fueled engine looks for its own.
    meta, artifact = artifact_files(tmp_path / "cache" / PLAIN.fingerprint, sha256)
    fueled = tmp_path / "cache" / FUELED.fingerprint
    fueled.mkdir()
    (fueled / meta.name).write_bytes(meta.read_bytes())
    (fueled / artifact.name).write_bytes(artifact.read_bytes())
    again = CompileCache(tmp_path / "cache")
    load(again, FUELED, tiny)
    assert (again.stats.disk_rejects, again.stats.compiles, again.stats.disk_loads) == (1, 1, 0)
    # Rewritten: the next process loads the fueled engine's own artifact.
    third = CompileCache(tmp_path / "cache")
    load(third, FUELED, tiny)
    assert (third.stats.compiles, third.stats.disk_loads) == (0, 1)


@pytest.mark.parametrize("damage", ["truncate", "flip", "garbage-with-matching-digest", "meta"])
def test_a_corrupt_artifact_is_compiled_again(
    tmp_path: Path, tiny: tuple[str, str], damage: str
) -> None:
    sha256 = tiny[0]
    load(CompileCache(tmp_path / "cache"), PLAIN, tiny)
    meta, artifact = artifact_files(tmp_path / "cache" / PLAIN.fingerprint, sha256)
    data = bytearray(artifact.read_bytes())
    if damage == "truncate":
        artifact.write_bytes(data[: len(data) // 2])
    elif damage == "flip":
        data[len(data) // 2] ^= 0xFF
        artifact.write_bytes(data)
    elif damage == "garbage-with-matching-digest":
        garbage = b"\x7fELF" + os.urandom(200)
        artifact.write_bytes(garbage)
        digest = hashlib.sha256(garbage).hexdigest()
        meta.write_text(json.dumps({"artifact": artifact.name, "sha256": digest, "size": 204}))
    else:
        meta.write_text("{not json")
    cache = CompileCache(tmp_path / "cache")
    load(cache, PLAIN, tiny)
    assert (cache.stats.disk_rejects, cache.stats.compiles) == (1, 1)


def test_a_component_file_that_does_not_match_its_hash_is_refused(
    tmp_path: Path, tiny: tuple[str, str]
) -> None:
    with pytest.raises(ComponentContentError):
        load(CompileCache(None), PLAIN, ("0" * 64, tiny[1]))


async def test_a_second_execution_compiles_nothing() -> None:
    await run(job("noop"))
    before = (cache_stats().compiles, cache_stats().disk_loads, cache_stats().memory_hits)
    assert response(await run(job("noop"))).status == 204
    after = (cache_stats().compiles, cache_stats().disk_loads, cache_stats().memory_hits)
    assert after == (before[0], before[1], before[2] + 1)


async def test_a_second_process_loads_the_disk_artifact(tmp_path: Path) -> None:
    noop = guest("noop")
    cache_dir = tmp_path / "shared-cache"
    script = f"""
import json, sys
sys.path.insert(0, {str(HERE)!r})
from wasm_support import job
from extplane.runner.wasm import cache_stats, run_job
outcome = run_job(job("noop"))
stats = cache_stats()
print(json.dumps({{"failure": outcome.failure, "compiles": stats.compiles,
                  "disk_loads": stats.disk_loads}}))
"""
    env = {**os.environ, "EXTPLANE_WASM_CACHE_DIR": str(cache_dir)}

    def process() -> dict[str, object]:
        done = subprocess.run(
            [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=800
        )
        assert done.returncode == 0, done.stderr[-3000:]
        found: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
        return found

    # The first process compiles (or finds) the artifact; seeding the directory
    # from the session's cache keeps the test from compiling a second time.
    seed = Path(os.environ["EXTPLANE_WASM_CACHE_DIR"]) / PLAIN.fingerprint
    meta = seed / f"{noop.sha256}.json"
    if meta.is_file():
        target = cache_dir / PLAIN.fingerprint
        target.mkdir(parents=True)
        artifact = seed / json.loads(meta.read_text())["artifact"]
        (target / artifact.name).write_bytes(artifact.read_bytes())
        (target / meta.name).write_bytes(meta.read_bytes())
    else:
        assert process() == {"failure": None, "compiles": 1, "disk_loads": 0}
    assert process() == {"failure": None, "compiles": 0, "disk_loads": 1}
