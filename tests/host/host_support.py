"""What the host tests share: tokens, and the registry served on a real server."""

from __future__ import annotations

from dataclasses import dataclass

import grpc

from extplane.host.service import HostService
from extplane_client import InstallsClient

ADMIN_TOKEN = "installs-admin-token-0123456789"
READER_TOKEN = "installs-reader-token-0123456789"
OTHER_TOKEN = "metering-reader-token-0123456789"
AUTH = {
    "tokens": [
        {"name": "platform-admin", "token": ADMIN_TOKEN, "roles": ["installs.admin"]},
        {"name": "support-desk", "token": READER_TOKEN, "roles": ["installs.reader"]},
        {"name": "billing", "token": OTHER_TOKEN, "roles": ["metering.reader"]},
    ]
}


@dataclass
class Registry:
    service: HostService
    address: str
    channel: grpc.aio.Channel

    def client(self, token: str | None = ADMIN_TOKEN) -> InstallsClient:
        return InstallsClient(self.channel, token=token)
