"""Issuing install tokens: EdDSA-signed JWTs over the key ring's active key.

The registry's `IssueInstallToken` calls `InstallTokenIssuer.issue` for a
trusted caller (the runner, a polyglot extension host); nothing else here
decides who may hold a token. The ring is read at each issue, so a rotation
picked up by a `WatchedKeyRing` signs the next token with the new key.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from extplane.host.claims import DEFAULT_AUDIENCE, InstallClaims, UserClaims
from extplane.keys import JWS_ALGORITHM, KeyRing, SigningKey

DEFAULT_TTL_S = 300
# A token outlives a disabled install by at most its lifetime when no
# enabled-check is wired, so the lifetime is kept short whatever is asked.
MAX_TTL_S = 900
TOKEN_TYPE = "JWT"


@dataclass(frozen=True)
class IssuedToken:
    token: str
    claims: InstallClaims
    key_id: str


class InstallTokenIssuer:
    def __init__(
        self,
        ring: KeyRing | Callable[[], KeyRing],
        *,
        audience: str = DEFAULT_AUDIENCE,
        ttl_s: int = DEFAULT_TTL_S,
        clock: Callable[[], float] = time.time,
    ) -> None:
        _check_ttl(ttl_s)
        self._ring = ring if callable(ring) else (lambda: ring)
        self._audience = audience
        self._ttl_s = ttl_s
        self._clock = clock
        self._loaded: tuple[str, Ed25519PrivateKey] | None = None

    def issue(
        self,
        *,
        tenant_id: str,
        extension_id: str,
        install_id: str,
        capabilities: Iterable[str],
        version_id: str | None = None,
        request_id: str | None = None,
        user: UserClaims | None = None,
        ttl_s: int | None = None,
    ) -> str:
        """A signed token for one install; `ttl_s` at most MAX_TTL_S."""
        return self.mint(
            tenant_id=tenant_id,
            extension_id=extension_id,
            install_id=install_id,
            capabilities=capabilities,
            version_id=version_id,
            request_id=request_id,
            user=user,
            ttl_s=ttl_s,
        ).token

    def mint(
        self,
        *,
        tenant_id: str,
        extension_id: str,
        install_id: str,
        capabilities: Iterable[str],
        version_id: str | None = None,
        request_id: str | None = None,
        user: UserClaims | None = None,
        ttl_s: int | None = None,
        audience: str | None = None,
    ) -> IssuedToken:
        """`issue`, with the claims signed and the signing key's id; `audience`
        None: the issuer's own."""
        lifetime = self._ttl_s if ttl_s is None else ttl_s
        _check_ttl(lifetime)
        for name, value in (
            ("tenant_id", tenant_id),
            ("extension_id", extension_id),
            ("install_id", install_id),
        ):
            if not value:
                raise ValueError(f"{name} must not be empty")
        now = int(self._clock())
        claims = InstallClaims(
            tenant_id=tenant_id,
            extension_id=extension_id,
            install_id=install_id,
            capabilities=frozenset(capabilities),
            version_id=version_id,
            request_id=request_id,
            user=user,
            audience=self._audience if audience is None else audience,
            issued_at=now,
            not_before=now,
            expires_at=now + lifetime,
            token_id=str(uuid.uuid4()),
        )
        key_id, private_key = self._signing_key()
        token = jwt.encode(
            claims.to_payload(),
            private_key,
            algorithm=JWS_ALGORITHM,
            headers={"kid": key_id, "typ": TOKEN_TYPE},
        )
        return IssuedToken(token, claims, key_id)

    def _signing_key(self) -> tuple[str, Ed25519PrivateKey]:
        active: SigningKey = self._ring().active
        if self._loaded is None or self._loaded[0] != active.key_id:
            # The ring holds the key as PEM-loadable bytes only; parse once per key.
            private = serialization.load_pem_private_key(active.private_pem(), password=None)
            assert isinstance(private, Ed25519PrivateKey)
            self._loaded = (active.key_id, private)
        return self._loaded


def _check_ttl(ttl_s: int) -> None:
    if not 1 <= ttl_s <= MAX_TTL_S:
        raise ValueError(f"an install token lives 1 to {MAX_TTL_S} seconds, not {ttl_s}")
