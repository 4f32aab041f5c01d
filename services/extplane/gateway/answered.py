"""One request's answer, or the error response that stands for it: what every
gateway endpoint does around its own work, in one place.

A `RequestError` becomes its status body (with the bearer challenge on a 401);
anything else is logged and answered 500 `internal error`, never a traceback.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping

import grpc
from starlette.requests import Request
from starlette.responses import Response

from extplane.gateway.challenge import challenge_headers
from extplane.gateway.errors import RequestError
from extplane.gateway.responses import error_response

logger = logging.getLogger(__name__)


async def answered(
    request: Request,
    produce: Callable[[], Awaitable[Response]],
    *,
    realm: str,
    echo: Mapping[str, str],
) -> Response:
    try:
        return await produce()
    except RequestError as error:
        challenge = challenge_headers(
            error, realm=realm, authorization=request.headers.get("authorization")
        )
        return error_response(error, {**echo, **challenge})
    except Exception:
        logger.exception("gateway failed on %s %s", request.method, request.url.path)
        return error_response(RequestError(grpc.StatusCode.INTERNAL, "internal error"), dict(echo))
