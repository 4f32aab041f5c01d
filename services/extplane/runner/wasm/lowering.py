"""A fix, applied from here, for how wasmtime-py 50 lowers a host function's `result`.

wasmtime-py picks the case of an untagged `result<T, E>` by the Python type
of the value returned, and for `option<...>` it counts `object` among the
types of the `none` case. So for `result<option<record>, enum>`
(`clients.get-client`, `services.get-service`) every value, the error's
enum string too, is taken for the `ok` case, fails to lower as an option
("value not valid for this variant"), and the guest traps instead of
receiving its error.

The runner returns every `result` as a `Case("ok" | "err", payload)`, and
`install()` makes wasmtime-py lower a `Case` by its tag, as it lowers the
`Variant` of a tagged type. `Case` is the runner's own class, so no value
wasmtime-py or a guest produces changes meaning; any other value is lowered
by the original code. Nothing in site-packages is edited.
"""

from __future__ import annotations

import ctypes
from typing import Any

from wasmtime import _ffi as ffi
from wasmtime.component import Variant
from wasmtime.component._types import VariantLikeType

_ORIGINAL = VariantLikeType._lower


class Case(Variant):
    """A `result` (or variant) case chosen by name: `Case("err", "not-allowed")`."""


def _lower_case(
    self: VariantLikeType, store: Any, val: Any
) -> tuple[str, ctypes._Pointer[ffi.wasmtime_component_val_t] | None]:
    if not isinstance(val, Case):
        return _ORIGINAL(self, store, val)
    for name, ty in self._cases():
        if name != val.tag:
            continue
        if ty is None:
            return (name, None)
        raw = ffi.wasmtime_component_val_t()
        ty.convert_to_c(store, val.payload, ctypes.pointer(raw))
        return (name, ffi.wasmtime_component_val_new(ctypes.byref(raw)))
    raise ValueError(f"{val.tag!r} is not a case of this type")


def install() -> None:
    """Idempotent; called before any host function can run."""
    VariantLikeType._lower = _lower_case  # type: ignore[method-assign]
