"""Two fixes, applied from here, for how wasmtime-py 50 converts component values.

1. `result` lowering.

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
by the original code.

2. `list<u8>`. wasmtime-py converts a byte list one Python call per byte, both
ways (about 2 s per MB here): an execution's request and response bodies and
every storage value would cost host CPU out of all proportion, outside the
guest's deadline. `install()` makes it copy the bytes in one pass: the C API
list of `u8` values is laid out here in a buffer with strided slice
assignment and copied in with one `memmove` (and read back the same way);
every other list is converted by the original code.

Nothing in site-packages is edited; `tests/runner/wasm` covers both.
"""

from __future__ import annotations

import ctypes
from typing import Any

from wasmtime import _ffi as ffi
from wasmtime.component import Variant
from wasmtime.component._types import ListType, VariantLikeType

_ORIGINAL = VariantLikeType._lower
_ORIGINAL_LIST_TO_C = ListType.convert_to_c
_ORIGINAL_LIST_FROM_C = ListType.convert_from_c
_VAL = ffi.wasmtime_component_val_t
_STRIDE = ctypes.sizeof(_VAL)
_KIND_AT: int = _VAL.kind.offset
_U8_AT: int = _VAL.of.offset
_U8_KIND = ffi.WASMTIME_COMPONENT_U8.value


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


def _bytes_to_c(
    self: ListType, store: Any, val: Any, ptr: ctypes._Pointer[ffi.wasmtime_component_val_t]
) -> None:
    if not (isinstance(val, bytes | bytearray) and self._is_bytes()):
        _ORIGINAL_LIST_TO_C(self, store, val, ptr)
        return
    count = len(val)
    raw = ffi.wasmtime_component_vallist_t()
    ffi.wasmtime_component_vallist_new_uninit(raw, count)
    if count:
        image = bytearray(count * _STRIDE)
        image[_KIND_AT::_STRIDE] = bytes([_U8_KIND]) * count
        image[_U8_AT::_STRIDE] = val
        ctypes.memmove(raw.data, bytes(image), len(image))
    ptr.contents.kind = ffi.WASMTIME_COMPONENT_LIST
    ptr.contents.of.list = raw


def _bytes_from_c(self: ListType, c: ffi.wasmtime_component_val_t) -> Any:
    if not self._is_bytes():
        return _ORIGINAL_LIST_FROM_C(self, c)
    try:
        count = c.of.list.size
        if not count:
            return b""
        image = ctypes.string_at(c.of.list.data, count * _STRIDE)
        if image[_KIND_AT::_STRIDE] != bytes([_U8_KIND]) * count:
            raise ValueError("a list<u8> holding other values")
        return image[_U8_AT::_STRIDE]
    finally:
        ffi.wasmtime_component_vallist_delete(ctypes.byref(c.of.list))


def install() -> None:
    """Idempotent; called before any host function can run."""
    VariantLikeType._lower = _lower_case  # type: ignore[method-assign]
    ListType.convert_to_c = _bytes_to_c  # type: ignore[method-assign]
    ListType.convert_from_c = _bytes_from_c  # type: ignore[method-assign]
