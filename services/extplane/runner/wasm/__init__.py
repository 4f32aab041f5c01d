"""The in-process WebAssembly host a runner worker process runs.

`run_job(job: WasmJob) -> WasmOutcome` (worker.py) is the entry point; the
rest, one idea per module: engine (configuration and fingerprint), ticker
(epoch deadlines), cache (compile once: memory and disk), bindings (the Alga
imports over `HostImports`), host_imports (the gRPC default), values (WIT <->
protobuf), lowering (a wasmtime-py fix), output (guest stdout/stderr),
failures (naming a failed execution), execute (one execution).
"""

from extplane.runner.wasm.cache import CacheStats
from extplane.runner.wasm.worker import CACHE_DIR_ENV, cache_stats, run_job

__all__ = ["CACHE_DIR_ENV", "CacheStats", "cache_stats", "run_job"]
