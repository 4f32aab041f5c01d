"""The bearer challenge on 401 answers (RFC 6750 section 3).

The gateway checks no token itself: it forwards `Authorization` and the
upstream service decides (UNAUTHENTICATED -> 401, PERMISSION_DENIED -> 403).
A 401 must say how to authenticate, so it carries
`WWW-Authenticate: Bearer realm="..."`, plus `error="invalid_token"` when the
client did send a bearer token (RFC 6750 wants no error code when the request
had no credentials at all).
"""

from __future__ import annotations

import re

import grpc

from extplane.gateway.errors import RequestError

WWW_AUTHENTICATE = "www-authenticate"
_BEARER_CREDENTIALS = re.compile(r"bearer\s+\S", re.IGNORECASE)


def sent_bearer_token(authorization: str | None) -> bool:
    return (
        authorization is not None and _BEARER_CREDENTIALS.match(authorization.strip()) is not None
    )


def bearer_challenge(realm: str, *, token_sent: bool) -> str:
    quoted = realm.replace("\\", "\\\\").replace('"', '\\"')
    challenge = f'Bearer realm="{quoted}"'
    if token_sent:
        challenge += ', error="invalid_token"'
    return challenge


def challenge_headers(
    error: RequestError, *, realm: str, authorization: str | None
) -> dict[str, str]:
    """The headers an error answer adds: a challenge for UNAUTHENTICATED, else none."""
    if error.code is not grpc.StatusCode.UNAUTHENTICATED:
        return {}
    return {WWW_AUTHENTICATE: bearer_challenge(realm, token_sent=sent_bearer_token(authorization))}
