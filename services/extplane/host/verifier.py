"""Verifying install tokens: signature by a known key, `alg` exactly EdDSA,
issuer, audience, times with a small clock-skew allowance, the claims' shape,
and that the install is still enabled.

Every refusal is an `UnauthenticatedError` whose message says what is wrong
and never repeats the token or any part of it. The key set is JWKS-shaped and
may hold several keys: during a rotation both the new signer and the retired
one verify, so no token in flight fails. Replacing the key set empties the
cache, so a token of a removed key stops working at once.

pyjwt checks the signature, algorithm, issuer, audience and the presence of
the registered claims; the times are checked here against one clock, the same
one the cache expires entries by.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import jwt

from extplane.errors import UnauthenticatedError
from extplane.host.claims import DEFAULT_AUDIENCE, ISSUER, REGISTERED, InstallClaims
from extplane.host.issuer import MAX_TTL_S
from extplane.host.token_cache import DEFAULT_CACHE_SIZE, VerifiedTokenCache, token_digest
from extplane.keys import JWS_ALGORITHM, KeyRing, VerificationKey

# Hosts and the issuer run on different machines; NTP keeps them well within this.
DEFAULT_LEEWAY_S = 30
# A JWT of ours is well under 2 KiB, user fields included; anything far larger
# is refused unparsed. (gRPC's own default metadata limit is 8 KiB in all.)
MAX_TOKEN_BYTES = 4 * 1024

IsEnabled = Callable[[str, str], bool]


def always_enabled(tenant_id: str, install_id: str) -> bool:
    """The default enabled-check: every install is enabled.

    Until the install registry wires its own check, a disabled install's
    tokens keep working until they expire (at most `MAX_TTL_S`).
    """
    return True


class InstallTokenVerifier:
    """Verifies install tokens signed by any key in `keys`.

    `is_enabled(tenant_id, install_id)` is consulted on every call, cached
    token or not, so it must be cheap (an in-memory lookup the registry keeps
    fresh); a disabled install's tokens stop working as soon as it says so.
    """

    def __init__(
        self,
        keys: Iterable[VerificationKey],
        *,
        audience: str = DEFAULT_AUDIENCE,
        leeway_s: int = DEFAULT_LEEWAY_S,
        max_lifetime_s: int = MAX_TTL_S,
        is_enabled: IsEnabled = always_enabled,
        cache_size: int = DEFAULT_CACHE_SIZE,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not 0 <= leeway_s <= 300:
            raise ValueError(f"leeway_s must be 0 to 300 seconds, not {leeway_s}")
        self._audience = audience
        self._leeway_s = leeway_s
        self._max_lifetime_s = max_lifetime_s
        self._is_enabled = is_enabled
        self._clock = clock
        self._cache = VerifiedTokenCache(cache_size)
        self._keys: dict[str, VerificationKey] = {}
        self.set_keys(keys)

    @classmethod
    def from_ring(cls, ring: KeyRing, **options: Any) -> InstallTokenVerifier:
        return cls(ring, **options)

    @classmethod
    def from_jwks(cls, jwks: Mapping[str, Any], **options: Any) -> InstallTokenVerifier:
        return cls(keys_from_jwks(jwks), **options)

    @property
    def key_ids(self) -> frozenset[str]:
        return frozenset(self._keys)

    def set_keys(self, keys: Iterable[VerificationKey]) -> None:
        """Verify with exactly `keys` from now on (a rotation, a key removed)."""
        self._keys = {key.key_id: key for key in keys}
        self._cache.clear()

    def verify(self, token: str) -> InstallClaims:
        now = self._clock()
        digest = token_digest(token)
        claims = self._cache.get(digest, now)
        if claims is None:
            claims = self._verify_uncached(token, now)
            self._cache.put(digest, claims, claims.expires_at + self._leeway_s)
        if not self._is_enabled(claims.tenant_id, claims.install_id):
            raise UnauthenticatedError("install token: the install is disabled")
        return claims

    def _verify_uncached(self, token: str, now: float) -> InstallClaims:
        if not token:
            raise UnauthenticatedError("install token: missing")
        if len(token) > MAX_TOKEN_BYTES:
            raise UnauthenticatedError(f"install token: longer than {MAX_TOKEN_BYTES} bytes")
        key = self._signing_key(token)
        try:
            payload = jwt.decode(
                token,
                key.public_key,
                algorithms=[JWS_ALGORITHM],
                audience=self._audience,
                issuer=ISSUER,
                options={
                    "require": list(REGISTERED),
                    "verify_exp": False,  # checked below against self._clock
                    "verify_nbf": False,
                    "verify_iat": False,
                },
            )
        except jwt.PyJWTError as error:
            raise UnauthenticatedError(f"install token: {_reason(error)}") from None
        claims = InstallClaims.from_payload(payload)
        self._check_times(claims, now)
        return claims

    def _signing_key(self, token: str) -> VerificationKey:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise UnauthenticatedError("install token: not a well-formed JWT") from None
        if header.get("alg") != JWS_ALGORITHM:
            raise UnauthenticatedError(
                f"install token: not signed with {JWS_ALGORITHM}, the only algorithm accepted"
            )
        key_id = header.get("kid")
        if not isinstance(key_id, str) or not key_id:
            raise UnauthenticatedError("install token: its header names no key (kid)")
        key = self._keys.get(key_id)
        if key is None:
            raise UnauthenticatedError(
                "install token: signed by a key this host does not know (rotated out, or forged)"
            )
        return key

    def _check_times(self, claims: InstallClaims, now: float) -> None:
        leeway = self._leeway_s
        if now >= claims.expires_at + leeway:
            raise UnauthenticatedError("install token: expired")
        if now + leeway < claims.not_before or now + leeway < claims.issued_at:
            raise UnauthenticatedError("install token: not valid yet")
        if claims.expires_at - claims.not_before > self._max_lifetime_s:
            raise UnauthenticatedError(
                f"install token: lives longer than {self._max_lifetime_s} seconds"
            )


def keys_from_jwks(jwks: Mapping[str, Any]) -> list[VerificationKey]:
    """The Ed25519 keys of an RFC 7517 key set; ValueError for any other key."""
    entries = jwks.get("keys")
    if not isinstance(entries, list):
        raise ValueError("a JWKS needs a 'keys' list")
    keys = []
    for index, entry in enumerate(entries):
        if not isinstance(entry, Mapping) or entry.get("alg", JWS_ALGORITHM) != JWS_ALGORITHM:
            raise ValueError(f"keys[{index}] is not an {JWS_ALGORITHM} key")
        try:
            public = jwt.PyJWK(dict(entry), algorithm=JWS_ALGORITHM).key
            key = VerificationKey(public)
        except (jwt.PyJWKError, jwt.InvalidKeyError, TypeError) as error:
            raise ValueError(f"keys[{index}] is not an Ed25519 public key: {error}") from None
        if entry.get("kid") != key.key_id:
            raise ValueError(f"keys[{index}]: its kid is not the key's id (SHA-256 of the key)")
        keys.append(key)
    return keys


def _reason(error: jwt.PyJWTError) -> str:
    """What is wrong, in our words: pyjwt's own messages could quote the token."""
    if isinstance(error, jwt.InvalidSignatureError):
        return "the signature does not verify"
    if isinstance(error, jwt.InvalidAudienceError):
        return "not issued for this host (audience)"
    if isinstance(error, jwt.InvalidIssuerError):
        return "not issued by extplane (issuer)"
    if isinstance(error, jwt.MissingRequiredClaimError):
        return f"lacks the required claim {error.claim!r}"
    if isinstance(error, jwt.InvalidAlgorithmError):
        return f"not signed with {JWS_ALGORITHM}, the only algorithm accepted"
    if isinstance(error, jwt.DecodeError):
        return "not a well-formed JWT"
    return "not valid"
