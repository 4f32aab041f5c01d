"""The operator console: a static page, served by the gateway, that reads the
gateway's own public HTTP APIs with the operator's bearer token (docs/console.md)."""

from extplane.gateway.console.assets import ConsoleAssets, load_assets
from extplane.gateway.console.headers import CONSOLE_HEADERS, CONTENT_SECURITY_POLICY
from extplane.gateway.console.routes import console_routes

__all__ = [
    "CONSOLE_HEADERS",
    "CONTENT_SECURITY_POLICY",
    "ConsoleAssets",
    "console_routes",
    "load_assets",
]
