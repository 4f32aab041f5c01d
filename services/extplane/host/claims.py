"""What an install token says: who is calling (tenant, extension, install,
version, request, user) and what it was granted, as JSON claims and back.

The claim names are the token's wire format, read by hosts in any language;
docs/host.md lists them. Parsing is strict: a signed token whose claims have
the wrong shape is refused like a forged one, naming the claim, never its value.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from extplane.errors import UnauthenticatedError

ISSUER = "extplane"
DEFAULT_AUDIENCE = "extplane-host"

# Registered claims every install token must carry (RFC 7519 §4.1).
REGISTERED = ("iss", "aud", "sub", "iat", "nbf", "exp", "jti")


@dataclass(frozen=True)
class UserClaims:
    """The user an execution acts for (Alga `user-data` / `user-data-v2`)."""

    user_id: str
    user_name: str = ""
    user_email: str = ""
    user_type: str = ""
    client_name: str = ""
    client_id: str | None = None
    # In the platform's order; user-v2 sorts them by key when it answers.
    additional_fields: tuple[tuple[str, str], ...] = ()

    def to_claim(self) -> dict[str, Any]:
        claim: dict[str, Any] = {
            "id": self.user_id,
            "name": self.user_name,
            "email": self.user_email,
            "type": self.user_type,
            "client_name": self.client_name,
            "additional_fields": [list(pair) for pair in self.additional_fields],
        }
        if self.client_id is not None:
            claim["client_id"] = self.client_id
        return claim

    @classmethod
    def from_claim(cls, claim: object) -> UserClaims:
        if not isinstance(claim, Mapping):
            raise _bad("user", "an object")
        fields = claim.get("additional_fields", [])
        if not isinstance(fields, list) or not all(
            isinstance(pair, list) and len(pair) == 2 and all(isinstance(p, str) for p in pair)
            for pair in fields
        ):
            raise _bad("user.additional_fields", "a list of [name, value] string pairs")
        client_id = claim.get("client_id")
        if client_id is not None and not isinstance(client_id, str):
            raise _bad("user.client_id", "a string")
        return cls(
            user_id=_text(claim, "id", "user.id", required=True),
            user_name=_text(claim, "name", "user.name"),
            user_email=_text(claim, "email", "user.email"),
            user_type=_text(claim, "type", "user.type"),
            client_name=_text(claim, "client_name", "user.client_name"),
            client_id=client_id,
            additional_fields=tuple((pair[0], pair[1]) for pair in fields),
        )


@dataclass(frozen=True)
class InstallClaims:
    """A verified install token's content; what handlers read via `current_install()`."""

    tenant_id: str
    extension_id: str
    install_id: str
    capabilities: frozenset[str]
    version_id: str | None = None
    request_id: str | None = None
    user: UserClaims | None = None
    audience: str = DEFAULT_AUDIENCE
    # Seconds since the epoch; set by the issuer.
    issued_at: int = 0
    not_before: int = 0
    expires_at: int = 0
    token_id: str = ""

    @property
    def actor(self) -> str:
        """`extension/<id>@<install>`: how audit events and logs name the caller."""
        return f"extension/{self.extension_id}@{self.install_id}"

    def grants(self, capability: str) -> bool:
        return capability in self.capabilities

    def to_payload(self) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "iss": ISSUER,
            "aud": self.audience,
            "sub": self.actor,
            "iat": self.issued_at,
            "nbf": self.not_before,
            "exp": self.expires_at,
            "jti": self.token_id,
            "tenant": self.tenant_id,
            "extension": self.extension_id,
            "install": self.install_id,
            "caps": sorted(self.capabilities),
        }
        if self.version_id is not None:
            payload["version"] = self.version_id
        if self.request_id is not None:
            payload["request_id"] = self.request_id
        if self.user is not None:
            payload["user"] = self.user.to_claim()
        return payload

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> InstallClaims:
        """From a payload whose signature, times and audience were already checked."""
        capabilities = payload.get("caps")
        if not isinstance(capabilities, list) or not all(isinstance(c, str) for c in capabilities):
            raise _bad("caps", "a list of capability names")
        user = payload.get("user")
        claims = cls(
            tenant_id=_text(payload, "tenant", required=True),
            extension_id=_text(payload, "extension", required=True),
            install_id=_text(payload, "install", required=True),
            capabilities=frozenset(capabilities),
            version_id=_optional_text(payload, "version"),
            request_id=_optional_text(payload, "request_id"),
            user=None if user is None else UserClaims.from_claim(user),
            audience=_text(payload, "aud", required=True),
            issued_at=_number(payload, "iat"),
            not_before=_number(payload, "nbf"),
            expires_at=_number(payload, "exp"),
            token_id=_text(payload, "jti", required=True),
        )
        if payload.get("sub") != claims.actor:
            raise _bad("sub", "extension/<extension>@<install> of the token's own claims")
        return claims


def _bad(claim: str, expected: str) -> UnauthenticatedError:
    return UnauthenticatedError(f"the install token's claim {claim!r} must be {expected}")


def _text(claims: Mapping[str, Any], key: str, name: str = "", *, required: bool = False) -> str:
    value = claims.get(key, "")
    if not isinstance(value, str) or (required and not value):
        raise _bad(name or key, "a non-empty string" if required else "a string")
    return value


def _optional_text(claims: Mapping[str, Any], key: str) -> str | None:
    value = claims.get(key)
    if value is not None and not isinstance(value, str):
        raise _bad(key, "a string")
    return value


def _number(claims: Mapping[str, Any], key: str) -> int:
    value = claims.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _bad(key, "a number of seconds since the epoch")
    return int(value)
