"""What a storage request may name, checked before any store is touched.

A namespace is an identifier (1 to 64 of `A-Z a-z 0-9 . _ -`, starting with a
letter or digit); a key is 1 to 512 characters with no control characters, so
every key prints and sorts the same on both backends (byte order of UTF-8).
Breaking either is INVALID_ARGUMENT naming the field.
"""

from __future__ import annotations

import re

from extplane.runtime import InvalidRequestError

MAX_NAMESPACE_CHARS = 64
MAX_KEY_CHARS = 512
DEFAULT_PAGE_SIZE = 25
MAX_PAGE_SIZE = 100

_NAMESPACE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def check_namespace(field: str, namespace: str) -> str:
    if not namespace:
        raise InvalidRequestError.field(field, "required")
    if len(namespace) > MAX_NAMESPACE_CHARS:
        raise InvalidRequestError.field(field, f"at most {MAX_NAMESPACE_CHARS} characters")
    if _NAMESPACE.fullmatch(namespace) is None:
        raise InvalidRequestError.field(
            field, "letters, digits, '.', '_' and '-' only, starting with a letter or digit"
        )
    return namespace


def check_key(field: str, key: str) -> str:
    if not key:
        raise InvalidRequestError.field(field, "required")
    if len(key) > MAX_KEY_CHARS:
        raise InvalidRequestError.field(field, f"at most {MAX_KEY_CHARS} characters")
    if _CONTROL.search(key) is not None:
        raise InvalidRequestError.field(field, "no control characters")
    return key


def page_size(requested: int | None) -> int:
    """Unset or 0: the default; above the maximum: the maximum (the proto's rule)."""
    if not requested:
        return DEFAULT_PAGE_SIZE
    return min(requested, MAX_PAGE_SIZE)
