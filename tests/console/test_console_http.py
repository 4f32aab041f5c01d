"""The console over HTTP, without a browser: what is served, with which headers,
and that the page itself holds no inline script or style for the CSP to forbid."""

from __future__ import annotations

from html.parser import HTMLParser

import httpx
import pytest

from extplane.gateway import GatewaySettings, create_app
from extplane.gateway.console import CONTENT_SECURITY_POLICY, load_assets

MODULES = {
    "app.js",
    "api.js",
    "audit.js",
    "capabilities.js",
    "chart.js",
    "dom.js",
    "extensions.js",
    "format.js",
    "usage.js",
}


def _unreachable(service: str) -> str:
    raise AssertionError(f"the console must not call {service} from the server side")


def _client(**settings: object) -> httpx.AsyncClient:
    app = create_app(GatewaySettings(**settings), _unreachable)  # type: ignore[arg-type]
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gateway")


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[dict[str, str | None]] = []
        self.urls: list[str] = []
        self.inline: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs)
        if tag == "script":
            self.scripts.append(named)
            self._in_script = True
        if tag == "style":
            self.inline.append("<style>")
        for name, value in attrs:
            if name == "style" or name.startswith("on"):
                self.inline.append(f"{tag} {name}={value}")
            if name in {"src", "href"} and value and not value.startswith("#"):
                self.urls.append(value)

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False if tag == "script" else self._in_script

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.inline.append(f"script body {data.strip()[:40]}")


async def test_the_page_and_its_files_carry_the_strict_policy() -> None:
    async with _client() as client:
        page = await client.get("/console")
        assert page.status_code == 200
        assert page.headers["content-type"] == "text/html; charset=utf-8"
        policy = page.headers["content-security-policy"]
        assert policy == CONTENT_SECURITY_POLICY
        directives = dict(d.split(" ", 1) for d in policy.split("; "))
        assert directives["default-src"] == "'self'"
        assert directives["script-src"] == "'self'"  # no 'unsafe-inline', no 'unsafe-eval'
        assert directives["style-src"] == "'self'"
        assert directives["frame-ancestors"] == "'none'"
        assert directives["object-src"] == "'none'"
        assert page.headers["x-frame-options"] == "DENY"
        assert page.headers["x-content-type-options"] == "nosniff"
        assert page.headers["referrer-policy"] == "no-referrer"

        parsed = _Page()
        parsed.feed(page.text)
        assert parsed.inline == []
        assert parsed.scripts == [{"type": "module", "src": "/console/static/app.js"}]
        assert parsed.urls, "the page loads its files"
        for url in parsed.urls:
            assert url.startswith("/console/static/"), url  # nothing from another origin
            asset = await client.get(url)
            assert asset.status_code == 200, url
            assert asset.headers["content-security-policy"] == CONTENT_SECURITY_POLICY

        for module in MODULES:
            answer = await client.get(f"/console/static/{module}")
            assert answer.headers["content-type"] == "text/javascript; charset=utf-8"
            # Modules import each other by relative path only: never another origin.
            for line in answer.text.splitlines():
                if line.startswith("import "):
                    assert ' from "./' in line, line

        again = await client.get("/console", headers={"If-None-Match": page.headers["etag"]})
        assert again.status_code == 304


@pytest.mark.parametrize(
    "path", ["/console/static/nope.js", "/console/static/..%2Fassets.py", "/console/static/"]
)
async def test_only_the_shipped_files_are_served(path: str) -> None:
    async with _client() as client:
        answer = await client.get(path)
    assert answer.status_code == 404
    assert "print(" not in answer.text


async def test_a_trailing_slash_goes_to_the_one_page() -> None:
    async with _client() as client:
        answer = await client.get("/console/")
    assert answer.status_code == 308
    assert answer.headers["location"] == "/console"


async def test_the_setting_turns_the_console_off() -> None:
    async with _client(console=False) as client:
        page = await client.get("/console")
        asset = await client.get("/console/static/app.js")
        health = await client.get("/healthz")
    assert page.status_code == 404
    assert asset.status_code == 404
    assert "content-security-policy" not in page.headers
    assert health.status_code == 200


def test_every_shipped_file_is_one_the_console_serves() -> None:
    names = set(load_assets().files)
    assert {"index.html", "console.css", "favicon.svg"} | MODULES == names
