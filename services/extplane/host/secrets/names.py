"""What a secret may be called: 1 to 256 of `A-Z a-z 0-9 . _ - / :`, starting
with a letter, digit or `_`; INVALID_ARGUMENT naming the field otherwise."""

from __future__ import annotations

import re

from extplane.runtime import InvalidRequestError

MAX_KEY_CHARS = 256
_KEY = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._/:-]*")


def secret_key_problem(key: str) -> str | None:
    """Why `key` cannot name a secret, or None."""
    if not key:
        return "required"
    if len(key) > MAX_KEY_CHARS:
        return f"at most {MAX_KEY_CHARS} characters"
    if _KEY.fullmatch(key) is None:
        return "letters, digits, '.', '_', '-', '/' and ':' only, not starting with a symbol"
    return None


def check_secret_key(field: str, key: str) -> str:
    problem = secret_key_problem(key)
    if problem is not None:
        raise InvalidRequestError.field(field, problem)
    return key
