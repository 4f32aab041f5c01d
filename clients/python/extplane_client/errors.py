"""The one root of every exception extplane_client raises."""

from __future__ import annotations

import grpc


class ExtplaneError(Exception):
    """A call to an extplane service failed; `code` is its gRPC status code."""

    def __init__(self, code: grpc.StatusCode, details: str) -> None:
        super().__init__(f"{code.name}: {details}" if details else code.name)
        self.code = code
        self.details = details
