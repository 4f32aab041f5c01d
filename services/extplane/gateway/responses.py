"""The gateway's HTTP answers: whole bodies (with a strong ETag and 304 on GET)
and `google.rpc.Status` error bodies; used by the proxy and the app's own routes."""

from __future__ import annotations

from collections.abc import Mapping

from starlette.requests import Request
from starlette.responses import Response

from extplane.gateway.errors import RequestError
from extplane.gateway.etag import CACHE_CONTROL, not_modified, strong_etag
from extplane.gateway.routes import MethodNotAllowedError

JSON = "application/json"
# An HttpBody's bytes are whatever the upstream says they are; a browser must not
# guess otherwise (a CSV of audit details sniffed as HTML would run its script).
RAW_BODY_HEADERS = {"x-content-type-options": "nosniff"}


def body_response(
    request: Request,
    body: bytes,
    headers: Mapping[str, str],
    *,
    content_type: str,
    status_code: int = 200,
) -> Response:
    """A whole answer; a successful GET gets a strong ETag and may be answered 304."""
    # Content-Type as a header, not media_type: Starlette would append a charset to
    # text/* types, and an upstream's HttpBody content type must reach the client as is.
    out = {**headers, "content-type": content_type}
    if request.method == "GET" and status_code == 200:
        etag = strong_etag(body)
        out["etag"] = etag
        out["cache-control"] = CACHE_CONTROL
        if not_modified(request.headers.get("if-none-match"), etag):
            del out["content-type"]
            return Response(status_code=304, headers=out)
    return Response(body, status_code=status_code, headers=out)


def json_response(
    request: Request, body: bytes, headers: Mapping[str, str], *, status_code: int = 200
) -> Response:
    return body_response(request, body, headers, content_type=JSON, status_code=status_code)


def error_response(error: RequestError, headers: Mapping[str, str]) -> Response:
    out = dict(headers)
    if isinstance(error, MethodNotAllowedError):
        out["allow"] = ", ".join(error.allowed)
    retry_after = error.retry_after_s()
    if retry_after is not None:
        # RFC 9110 section 10.2.3: how long to wait before retrying (a 429 or 503).
        out["retry-after"] = str(retry_after)
    return Response(error.body(), status_code=error.http_status, headers=out, media_type=JSON)
