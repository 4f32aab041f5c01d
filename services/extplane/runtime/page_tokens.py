"""Page tokens of every list RPC: opaque to callers, signed, bound to their request.

A token carries a position (a few integers: the sort key of the last item
returned) and a fingerprint of the request's scope (its filters, range and
order), and is signed with HMAC-SHA256 under a per-deployment key. So a
client can neither forge nor edit one (the position cannot be moved to rows
the filters exclude), and a token replayed with other filters is refused
instead of silently paging a different result. Both refusals are
INVALID_ARGUMENT on `page_token`, never a crash.

Replicas behind one load balancer must share the key (`page_token_key`), or a
token issued by one is refused by the next.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import struct
from collections.abc import Sequence

from extplane.runtime.bad_request import FieldViolation, InvalidRequestError

KEY_BYTES = 32
# Longer than any token this module issues: refused before decoding.
MAX_TOKEN_CHARS = 256
_VERSION = 1
_FINGERPRINT_BYTES = 8
_MAC_BYTES = 16
_HEADER = struct.Struct(">BB")  # version, number of position integers
_POSITION_ITEM = struct.Struct(">q")
_FIELD = "page_token"


class BadPageTokenError(InvalidRequestError):
    """The page token was not issued by this deployment for this request."""

    def __init__(self, description: str) -> None:
        super().__init__([FieldViolation(_FIELD, description)])


def _fingerprint(kind: str, scope: Sequence[object]) -> bytes:
    text = json.dumps([kind, *scope], separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).digest()[:_FINGERPRINT_BYTES]


class PageTokens:
    """Issues and reads the page tokens of one deployment (one key)."""

    def __init__(self, key: bytes) -> None:
        if len(key) < 16:
            raise ValueError("a page token key needs at least 16 bytes")
        self._key = key

    @classmethod
    def ephemeral(cls) -> PageTokens:
        """A random key: tokens stay valid only as long as this process runs."""
        return cls(secrets.token_bytes(KEY_BYTES))

    def _mac(self, body: bytes) -> bytes:
        return hmac.new(self._key, body, hashlib.sha256).digest()[:_MAC_BYTES]

    def issue(self, kind: str, scope: Sequence[object], position: Sequence[int]) -> str:
        """A token for the page after `position`, valid only for `kind` and `scope`.

        `kind` names the list (e.g. "audit.records"); `scope` holds every request
        field that must stay the same from page to page.
        """
        body = _HEADER.pack(_VERSION, len(position)) + b"".join(
            _POSITION_ITEM.pack(value) for value in position
        )
        body += _fingerprint(kind, scope)
        return base64.urlsafe_b64encode(body + self._mac(body)).decode("ascii").rstrip("=")

    def read(self, token: str, kind: str, scope: Sequence[object], arity: int) -> tuple[int, ...]:
        """The position in `token`; raises `BadPageTokenError` when it was not issued
        by this deployment, or was issued for another list or other filters."""
        not_ours = BadPageTokenError("not a page token this API issued")
        if len(token) > MAX_TOKEN_CHARS:
            raise not_ours
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        except (binascii.Error, ValueError):
            raise not_ours from None
        size = _HEADER.size + arity * _POSITION_ITEM.size + _FINGERPRINT_BYTES
        if len(raw) != size + _MAC_BYTES:
            raise not_ours
        body, mac = raw[:size], raw[size:]
        if not hmac.compare_digest(mac, self._mac(body)):
            raise not_ours
        version, count = _HEADER.unpack_from(body)
        if version != _VERSION or count != arity:
            raise not_ours
        if body[-_FINGERPRINT_BYTES:] != _fingerprint(kind, scope):
            raise BadPageTokenError(
                "issued for another filter, range or order; keep them as on the first page"
            )
        return tuple(
            _POSITION_ITEM.unpack_from(body, _HEADER.size + i * _POSITION_ITEM.size)[0]
            for i in range(arity)
        )
