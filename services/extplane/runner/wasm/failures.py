"""A failed execution's cause, in the words the caller sees (WasmOutcome.failure).

wasmtime reports traps as `WasmtimeError` text without a trap code; its cause is
the text after "Caused by:". An epoch deadline reads "interrupt", exhausted
fuel "all fuel consumed". Running out of memory is not a trap of its own: past
`Store.set_limits` the guest's `memory.grow` fails, and its runtime aborts
(a Python guest raises MemoryError and hits `unreachable`), so a trap is
named "memory" when the guest's last output says it ran out of memory, or
when instantiating already exceeded the limit.
"""

from __future__ import annotations

from collections.abc import Sequence

_OUT_OF_MEMORY = ("MemoryError", "out of memory", "memory allocation of", "OutOfMemory")
_MAX_CAUSE = 300


def cause_of(error: BaseException) -> str:
    """The line of a wasmtime error that says what happened."""
    text = str(error)
    if "Caused by:" in text:
        text = text.split("Caused by:", 1)[1]
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    cause = lines[0] if lines else type(error).__name__
    return cause[:_MAX_CAUSE]


def classify(error: BaseException, *, timed_out: bool, guest_output: Sequence[str]) -> str:
    text = str(error)
    if timed_out or "wasm trap: interrupt" in text or text.strip().endswith("interrupt"):
        return "timeout"
    if "all fuel consumed" in text:
        return "fuel"
    if "exceeds memory limits" in text or "memory limit" in text:
        return "memory"
    tail = guest_output[-20:]
    if any(marker in line for line in tail for marker in _OUT_OF_MEMORY):
        return "memory"
    return f"trap: {cause_of(error)}"
