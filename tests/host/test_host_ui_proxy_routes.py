"""The registry side of ui-proxy routes: the secret fields stored and answered on
both backends, every bad route refused naming its field, change events naming
a route's secret key but never a value; and, for any route the proxy accepts,
the URL httpx dials has the upstream's own scheme, host and port, its base path,
and no dot segment."""

from __future__ import annotations

import json
from urllib.parse import urlsplit

import grpc
import httpx
import pytest
from host_support import ADMIN_TOKEN, Registry
from hypothesis import given
from hypothesis import strategies as st

from extplane.host.installs.changes import settings_details
from extplane.host.installs.model import Route, Settings
from extplane.host.ui_proxy.paths import BadRouteError, parse_route
from extplane.host.ui_proxy.routing import select
from extplane_client import InstallsClient, InstallsError
from extplane_protos.extplane.admin.v1 import installs_pb2 as pb

UPSTREAM = "https://api.example.com:8443/base/v1?key=fixed"


async def _register(registry: Registry, *routes: pb.UiProxyRoute) -> pb.Install:
    async with InstallsClient(registry.address, token=ADMIN_TOKEN) as admin:
        return await admin.register_install(
            tenant="t", install_id="i", extension_id="e", version="1", ui_proxy_routes=routes
        )


async def test_secret_fields_are_stored_and_answered(registry: Registry) -> None:
    routes = [
        pb.UiProxyRoute(route="a", upstream_url="https://a.example/x", secret_key="API_KEY"),
        pb.UiProxyRoute(
            route="b/c",
            upstream_url="https://b.example",
            secret_key="svc/token",
            secret_header="X-Api-Key",
        ),
        pb.UiProxyRoute(route="d", upstream_url="extension:other-install"),
    ]
    registered = await _register(registry, *routes)
    async with InstallsClient(registry.address, token=ADMIN_TOKEN) as admin:
        read = await admin.get_install(tenant="t", install_id="i")
        updated = await admin.update_install(
            tenant="t", install_id="i", revision=read.revision, ui_proxy_routes=routes[1:]
        )
    assert list(registered.ui_proxy_routes) == list(read.ui_proxy_routes) == routes
    assert list(updated.ui_proxy_routes) == routes[1:]
    audited = settings_details(
        Settings("1", ui_proxy_routes=(Route("b", "https://b", "K", "X-K"),))
    )
    assert json.loads(audited["ui_proxy_routes"]) == [
        {"route": "b", "upstream_url": "https://b", "secret_key": "K", "secret_header": "X-K"}
    ]


BAD_ROUTES = [
    (pb.UiProxyRoute(route="a//b", upstream_url="https://x.example"), "route"),
    (pb.UiProxyRoute(route="/a", upstream_url="https://x.example"), "route"),
    (pb.UiProxyRoute(route="a/..", upstream_url="https://x.example"), "route"),
    (pb.UiProxyRoute(route="a/./b", upstream_url="https://x.example"), "route"),
    (pb.UiProxyRoute(route="a/", upstream_url="https://x.example"), "route"),
    (pb.UiProxyRoute(route="a", upstream_url="extension:"), "upstream_url"),
    (pb.UiProxyRoute(route="a", upstream_url="extension:a/b"), "upstream_url"),
    (pb.UiProxyRoute(route="a", upstream_url="ftp://x.example"), "upstream_url"),
    (
        pb.UiProxyRoute(route="a", upstream_url="https://x.example", secret_key="-bad"),
        "secret_key",
    ),
    (
        pb.UiProxyRoute(route="a", upstream_url="https://x.example", secret_header="X-Key"),
        "secret_header",
    ),
    *(
        (
            pb.UiProxyRoute(
                route="a", upstream_url="https://x.example", secret_key="K", secret_header=header
            ),
            "secret_header",
        )
        for header in (
            "Host",
            "content-length",
            "Transfer-Encoding",
            "X-Extplane-Tenant",
            "x-request-id",
            "Cookie",
            "X Key",
            "X-Key:",
            "Ünï",
        )
    ),
]


@pytest.mark.parametrize(("bad", "field"), BAD_ROUTES)
async def test_a_bad_route_is_refused_naming_its_field(
    registry: Registry, bad: pb.UiProxyRoute, field: str
) -> None:
    with pytest.raises(InstallsError) as raised:
        await _register(registry, bad)
    assert raised.value.code is grpc.StatusCode.INVALID_ARGUMENT
    assert f"ui_proxy_routes[0].{field}" in raised.value.field_violations


# Any ASCII a guest may send, weighted towards the characters that matter.
_PIECES = st.sampled_from(
    ["r", "a", ".", "..", "/", "%", "%2e", "%2f", "%25", "%5c", "\\", "?", "#", ";", ":", "@",
     "&", "=", "~", "-", "_", "%41", "%c0%ae", " ", "\t", "+"]
)  # fmt: skip
_ROUTES = st.lists(_PIECES | st.text(st.characters(max_codepoint=0x7F), max_size=3), max_size=12)


@given(_ROUTES)
def test_an_accepted_route_never_leaves_its_upstream(pieces: list[str]) -> None:
    called_text = "r/" + "".join(pieces)
    try:
        called = parse_route(called_text)
    except BadRouteError:
        return
    selected = select([Route("r", UPSTREAM)], called)
    if selected is None:
        return
    built = urlsplit(selected.http_url())
    url = httpx.URL(selected.http_url())
    assert (url.scheme, url.host, url.port) == ("https", "api.example.com", 8443)
    # httpx sends the path exactly as built and checked: no re-normalising.
    assert url.raw_path.decode() == f"{built.path}?{built.query}"
    assert url.path.startswith("/base/v1")
    segments = url.raw_path.split(b"?", 1)[0].split(b"/")
    # Only the last segment may be empty: the call's one trailing '/'.
    assert not {b".", b"..", b""} & set(segments[1:-1])
    assert segments[-1] not in (b".", b"..")
    assert b"%2f" not in url.raw_path.lower()
    assert b"\\" not in url.raw_path
    assert "key=fixed" in (url.query.decode() if url.query else "")
    assert url.fragment == ""
