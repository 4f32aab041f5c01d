"""What the runner sends a gRPC `alga.extension.v1.HandlerService` (an extension
written in any language) with each `Execute`, so the handler can call the host
providers itself, as the install, exactly as a component's imports do."""

from __future__ import annotations

# The install token issued for this execution (send it back to the host
# providers in the same metadata key: `extplane.host.enforcement.TOKEN_METADATA_KEY`).
INSTALL_TOKEN_KEY = "x-extplane-install-token"
# The host providers' gRPC address, host:port.
HOST_ADDRESS_KEY = "x-extplane-host-address"
