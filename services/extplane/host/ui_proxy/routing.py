"""Which of an install's routes a call selects, and the HTTP URL it goes to.

The longest configured route whose segments begin the call's path wins
(`reports` matches `reports/summary`, never `reportsx`); the segments after it
are appended to the upstream URL's path, and the call's query to its query.
The URL is put together from the upstream's own scheme and authority and
checked segments only, so no call can change the host it reaches.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from extplane.host.installs.model import Route
from extplane.host.installs.shapes import EXTENSION_UPSTREAM
from extplane.host.ui_proxy.paths import CalledRoute, route_segments


@dataclass(frozen=True, slots=True)
class Selected:
    route: Route
    # The call's segments after the route's, its query, and its trailing '/'.
    remainder: tuple[str, ...]
    query: str | None
    trailing_slash: bool = False

    def _appended(self, base: str) -> str:
        """`base` (a path) with the remainder, and the call's trailing '/', after it."""
        if not self.remainder:
            return base.rstrip("/") + "/" if self.trailing_slash else (base or "/")
        path = f"{base.rstrip('/')}/{'/'.join(self.remainder)}"
        return path + "/" if self.trailing_slash else path

    @property
    def extension_install(self) -> str | None:
        """The install id of an `extension:<id>` upstream; None for an HTTP one."""
        url = self.route.upstream_url
        return url.removeprefix(EXTENSION_UPSTREAM) if url.startswith(EXTENSION_UPSTREAM) else None

    def path_and_query(self) -> str:
        """`/<remainder>[?query]`: what a handler upstream is asked for."""
        path = self._appended("/")
        return path if self.query is None else f"{path}?{self.query}"

    def http_url(self) -> str:
        """The upstream URL with the remainder appended to its path and the query to its query."""
        base = urlsplit(self.route.upstream_url)
        queries = [q for q in (base.query, self.query) if q]
        return urlunsplit(
            (base.scheme, base.netloc, self._appended(base.path), "&".join(queries), "")
        )


def select(routes: Iterable[Route], called: CalledRoute) -> Selected | None:
    """The route the call selects, or None when none of them begins its path."""
    best: tuple[int, Route] | None = None
    for route in routes:
        prefix = route_segments(route.route)
        if called.segments[: len(prefix)] == prefix and (best is None or len(prefix) > best[0]):
            best = (len(prefix), route)
    if best is None:
        return None
    return Selected(best[1], called.after(best[0]), called.query, called.trailing_slash)
