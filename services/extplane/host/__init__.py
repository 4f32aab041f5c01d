"""The `host` service, the Alga host providers' ground: the install registry
(service.py, installs/), install tokens, capability enforcement, the interfaces.

Tokens: `InstallTokenIssuer` signs (over a `KeyRing`), `InstallTokenVerifier`
verifies (over a JWKS-shaped key set, with a cache and an enabled-check hook).
Enforcement: `CapabilityEnforcement`, one grpc.aio interceptor for every host
RPC; handlers read `current_install()`. docs/host.md is the guide.
"""

from extplane.host.claims import DEFAULT_AUDIENCE, InstallClaims, UserClaims
from extplane.host.contract import HOST_REQUIREMENTS, Requirement
from extplane.host.definition import HostProviders
from extplane.host.denial import CAPABILITY_DENIED, CapabilityDeniedError
from extplane.host.enforcement import TOKEN_METADATA_KEY, CapabilityEnforcement, current_install
from extplane.host.issuer import DEFAULT_TTL_S, MAX_TTL_S, InstallTokenIssuer
from extplane.host.verifier import (
    DEFAULT_LEEWAY_S,
    InstallTokenVerifier,
    always_enabled,
    keys_from_jwks,
)

__all__ = [
    "CAPABILITY_DENIED",
    "DEFAULT_AUDIENCE",
    "DEFAULT_LEEWAY_S",
    "DEFAULT_TTL_S",
    "HOST_REQUIREMENTS",
    "MAX_TTL_S",
    "TOKEN_METADATA_KEY",
    "CapabilityDeniedError",
    "CapabilityEnforcement",
    "HostProviders",
    "InstallClaims",
    "InstallTokenIssuer",
    "InstallTokenVerifier",
    "Requirement",
    "UserClaims",
    "always_enabled",
    "current_install",
    "keys_from_jwks",
]
