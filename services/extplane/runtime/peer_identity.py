"""The identity a verified client certificate gives a call (mTLS)."""

from __future__ import annotations

from typing import Any

import grpc


def _first(values: Any) -> str | None:
    if not values:
        return None
    value = values[0]
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def client_certificate_subject(context: grpc.aio.ServicerContext[Any, Any]) -> str | None:
    """The subject of the client certificate the server verified for this call
    (e.g. `CN=runtime-a,O=team-a`), or None when the call presented none.

    gRPC puts the certificate's fields in the auth context only after the
    handshake verified it against the server's client CA, so a name here is
    one the CA vouched for; a plaintext call or a TLS call without a client
    certificate has none.
    """
    auth = context.auth_context() or {}
    subject = _first(auth.get("x509_subject"))
    if subject:
        return subject
    common_name = _first(auth.get("x509_common_name"))
    return f"CN={common_name}" if common_name else None
