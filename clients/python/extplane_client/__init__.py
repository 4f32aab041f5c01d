"""Typed Python clients and helpers for the extplane services.

Generated stubs live in `extplane_protos`; this package wraps them for
runtimes and tools: typed clients, the Alga error mapping, test doubles
(`extplane_client.testing`).
"""

from extplane_client.capabilities import CapabilitiesClient, CapabilitiesError, CapabilitySnapshot
from extplane_client.errors import ExtplaneError

__all__ = [
    "CapabilitiesClient",
    "CapabilitiesError",
    "CapabilitySnapshot",
    "ExtplaneError",
]
