"""What an HTTP request forwards to its upstream call as gRPC metadata.

Like grpc-gateway: `Grpc-Metadata-<key>` headers go upstream as `<key>`
(a `-bin` key's value is base64-decoded), `Authorization` goes as is, the
client's address is appended to `x-forwarded-for`, and every call carries an
`x-request-id` (the client's own when it is sane, else a new one). Trace
context is added by the caller, from the span it starts.
"""

from __future__ import annotations

import base64
import binascii
import re
import uuid
from collections.abc import Iterable

from extplane.gateway.errors import invalid_argument
from extplane.gateway.types import HeaderMatcher

REQUEST_ID_HEADER = "x-request-id"
FORWARDED_FOR_HEADER = "x-forwarded-for"
METADATA_HEADER_PREFIX = "grpc-metadata-"

Metadata = list[tuple[str, str | bytes]]

_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:+=/-]{1,128}")
_METADATA_KEY = re.compile(r"[0-9a-z_.-]+")
_PRINTABLE_ASCII = re.compile(r"[\x20-\x7e]*")
# Keys the gateway sets itself, or that gRPC reserves; a client cannot forge them.
_RESERVED_KEYS = frozenset(
    {
        REQUEST_ID_HEADER,
        FORWARDED_FOR_HEADER,
        "traceparent",
        "tracestate",
        "baggage",
        "content-type",
        "user-agent",
        "te",
        "host",
        "connection",
    }
)


def request_id_from(header_value: str | None) -> str:
    """The client's request id if it is short and plain, else a fresh one."""
    if header_value is not None and _SANE_REQUEST_ID.fullmatch(header_value):
        return header_value
    return uuid.uuid4().hex


def default_header_matcher(name: str) -> str | None:
    if name == "authorization":
        return name
    if name.startswith(METADATA_HEADER_PREFIX):
        key = name[len(METADATA_HEADER_PREFIX) :]
        if key and not key.startswith("grpc-") and key not in _RESERVED_KEYS:
            return key
    return None


def _metadata_value(header: str, key: str, value: str) -> str | bytes:
    if key.endswith("-bin"):
        try:
            return base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise invalid_argument(f'header "{header}": not valid base64') from None
    if not _PRINTABLE_ASCII.fullmatch(value):
        raise invalid_argument(f'header "{header}": only printable ASCII can be forwarded')
    return value


def outgoing_metadata(
    headers: Iterable[tuple[str, str]],
    *,
    request_id: str,
    client_host: str | None,
    matcher: HeaderMatcher,
) -> Metadata:
    """Metadata for the upstream call; `headers` are (lower-case name, value) pairs."""
    metadata: Metadata = [(REQUEST_ID_HEADER, request_id)]
    forwarded_for: list[str] = []
    for name, value in headers:
        if name == FORWARDED_FOR_HEADER:
            forwarded_for.append(value)
            continue
        key = matcher(name)
        if key is None:
            continue
        if not _METADATA_KEY.fullmatch(key):
            raise invalid_argument(f'header "{name}": {key!r} is not a valid gRPC metadata key')
        metadata.append((key, _metadata_value(name, key, value)))
    if client_host:
        forwarded_for.append(client_host)
    if forwarded_for:
        joined = ", ".join(forwarded_for)
        metadata.append((FORWARDED_FOR_HEADER, _metadata_value(FORWARDED_FOR_HEADER, "", joined)))
    return metadata


def response_metadata_headers(
    initial: Iterable[tuple[str, str | bytes]], trailing: Iterable[tuple[str, str | bytes]]
) -> dict[str, str]:
    """Upstream metadata as `Grpc-Metadata-*` / `Grpc-Trailer-*` headers, like grpc-gateway.

    Binary values and gRPC's own keys stay behind: they mean nothing to an HTTP client.
    """
    headers: dict[str, str] = {}
    for prefix, pairs in (("grpc-metadata-", initial), ("grpc-trailer-", trailing)):
        for key, value in pairs:
            if isinstance(value, bytes) or key.startswith("grpc-") or key in _RESERVED_KEYS:
                continue
            if _PRINTABLE_ASCII.fullmatch(value):
                headers[prefix + key] = value
    return headers
