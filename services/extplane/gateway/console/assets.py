"""The console's files, read once from the installed package.

Only the files shipped in `static/` are served, by exact name: a request can
name nothing else (no path is ever joined from the URL).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from types import MappingProxyType

from extplane.gateway.etag import strong_etag

# What each kind of file is served as; a file of another kind is not shipped.
MEDIA_TYPES: Mapping[str, str] = MappingProxyType(
    {
        ".html": "text/html; charset=utf-8",
        ".js": "text/javascript; charset=utf-8",
        ".css": "text/css; charset=utf-8",
        ".svg": "image/svg+xml",
    }
)
INDEX = "index.html"


@dataclass(frozen=True)
class Asset:
    body: bytes
    media_type: str
    etag: str


@dataclass(frozen=True)
class ConsoleAssets:
    files: Mapping[str, Asset]

    def get(self, name: str) -> Asset | None:
        return self.files.get(name)


def load_assets(package: str = "extplane.gateway.console") -> ConsoleAssets:
    root = resources.files(package).joinpath("static")
    files: dict[str, Asset] = {}
    for entry in root.iterdir():
        suffix = entry.name[entry.name.rfind(".") :] if "." in entry.name else ""
        media_type = MEDIA_TYPES.get(suffix)
        if media_type is None or not entry.is_file():
            continue
        body = entry.read_bytes()
        files[entry.name] = Asset(body, media_type, strong_etag(body))
    if INDEX not in files:
        raise FileNotFoundError(f"the console's {INDEX} is not in the package {package}")
    return ConsoleAssets(MappingProxyType(files))
