"""Strong ETags for GET responses, and the `If-None-Match` check (RFC 9110 13.1.2)."""

from __future__ import annotations

import hashlib

CACHE_CONTROL = "no-cache"  # clients may store a response but must revalidate it


def strong_etag(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def _opaque_tag(tag: str) -> str:
    # If-None-Match compares weakly: W/"x" matches "x".
    return tag[2:] if tag.startswith("W/") else tag


def not_modified(if_none_match: str | None, etag: str) -> bool:
    """True when the client's copy (named by If-None-Match) is still current."""
    if if_none_match is None:
        return False
    candidates = [part.strip() for part in if_none_match.split(",")]
    return any(c == "*" or _opaque_tag(c) == _opaque_tag(etag) for c in candidates if c)
