"""`GET /console` and its files, `GET /console/static/<name>`."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from extplane.gateway.console.assets import INDEX, Asset, ConsoleAssets, load_assets
from extplane.gateway.console.headers import CONSOLE_HEADERS
from extplane.gateway.etag import CACHE_CONTROL, not_modified

PREFIX = "/console"


def _answer(request: Request, asset: Asset) -> Response:
    headers = {**CONSOLE_HEADERS, "etag": asset.etag, "cache-control": CACHE_CONTROL}
    if not_modified(request.headers.get("if-none-match"), asset.etag):
        return Response(status_code=304, headers=headers)
    return Response(asset.body, headers={**headers, "content-type": asset.media_type})


def _not_found() -> Response:
    return Response("not found\n", status_code=404, headers=dict(CONSOLE_HEADERS))


def console_routes(enabled: bool, assets: ConsoleAssets | None = None) -> list[BaseRoute]:
    """The console's routes, or none when it is turned off (its paths then answer 404)."""
    if not enabled:
        return []
    files = load_assets() if assets is None else assets

    async def page(request: Request) -> Response:
        index = files.get(INDEX)
        assert index is not None  # load_assets refuses a package without it
        return _answer(request, index)

    async def slash(request: Request) -> Response:
        # One spelling of the page, so the browser keeps one session origin and path.
        return RedirectResponse(PREFIX, status_code=308, headers=dict(CONSOLE_HEADERS))

    async def static(request: Request) -> Response:
        asset = files.get(request.path_params["name"])
        return _not_found() if asset is None else _answer(request, asset)

    return [
        Route(PREFIX, page, methods=["GET"]),
        Route(f"{PREFIX}/", slash, methods=["GET"]),
        Route(PREFIX + "/static/{name}", static, methods=["GET"]),
    ]
