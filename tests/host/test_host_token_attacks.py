"""Every install-token attack, over the real wire: each is UNAUTHENTICATED with
a message that names the problem and never repeats the token."""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import grpc
import pytest
from host_support import compact, serve_host, sign, token_metadata, unverified_payload
from host_support import error_info as read_error_info

from extplane.host import MAX_TTL_S, InstallTokenIssuer, InstallTokenVerifier
from extplane.keys import KeyRing, SigningKey, rotate
from extplane.keys.ed25519 import raw_public_bytes
from extplane_client import alga_errors
from extplane_protos.alga.extension.v1 import context_pb2, context_pb2_grpc

CAPS = ["cap:context.read"]


def _issue(issuer: InstallTokenIssuer, **overrides: Any) -> str:
    claims: dict[str, Any] = {
        "tenant_id": "tenant-a",
        "extension_id": "ext",
        "install_id": "inst",
        "capabilities": CAPS,
    }
    claims.update(overrides)
    return issuer.issue(**claims)


def _payload(ring: KeyRing, **changes: Any) -> dict[str, Any]:
    """A valid payload, as the issuer would write it, with `changes` applied."""
    payload = unverified_payload(_issue(InstallTokenIssuer(ring)))
    for key, value in changes.items():
        if value is None:
            payload.pop(key, None)
        else:
            payload[key] = value
    return payload


async def _refusal(verifier: InstallTokenVerifier, metadata: Any) -> grpc.aio.AioRpcError:
    async with serve_host(verifier) as channel:
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await context_pb2_grpc.ContextServiceStub(channel).GetContext(
                context_pb2.GetContextRequest(), metadata=metadata
            )
    return raised.value


def _assert_unauthenticated(error: grpc.aio.AioRpcError, token: str, says: str) -> None:
    assert error.code() is grpc.StatusCode.UNAUTHENTICATED, error
    details = error.details() or ""
    assert says in details, details
    # Not the token, nor any of its three parts (the payload would leak claims).
    for part in [token, *token.split(".")]:
        if len(part) >= 8:
            assert part not in details
    # Refused before any interface: no Alga error variant is named.
    assert alga_errors.variant_from_error(error) is None
    info = read_error_info(error)
    assert info is None or info.domain != alga_errors.ERROR_DOMAIN


def _hs256(ring: KeyRing, secret: bytes) -> str:
    header = {"alg": "HS256", "typ": "JWT", "kid": ring.active.key_id}
    payload = _payload(ring)
    unsigned = compact(header, payload, b"").rsplit(".", 1)[0]
    signature = hmac.new(secret, unsigned.encode(), hashlib.sha256).digest()
    return compact(header, payload, signature)


def _tampered(ring: KeyRing) -> str:
    genuine = _issue(InstallTokenIssuer(ring))
    header_part, _, signature_part = genuine.split(".")
    payload = unverified_payload(genuine)
    payload["caps"] = [*payload["caps"], "cap:secrets.get"]
    forged_payload = compact({}, payload, b"").split(".")[1]
    return f"{header_part}.{forged_payload}.{signature_part}"


def _other_key_same_kid(ring: KeyRing) -> str:
    """Signed by a key the attacker made, claiming to be the ring's key."""
    return sign(_payload(ring), SigningKey.generate(), kid=ring.active.key_id)


def _unknown_kid(ring: KeyRing, tmp_path: Path) -> str:
    other = KeyRing.load(tmp_path / "other") if rotate(tmp_path / "other") else ring
    return _issue(InstallTokenIssuer(other))


def _from_now(offset_s: float) -> Callable[[], float]:
    """A clock `offset_s` from the moment the token is made (not from import: a long
    test session would age a fixed instant into another attack)."""
    made = time.time() + offset_s
    return lambda: made


ATTACKS: dict[str, tuple[Callable[[KeyRing, Path], str], str]] = {
    "garbage": (lambda ring, _: "not-a-jwt", "not a well-formed JWT"),
    "two-segments": (lambda ring, _: "eyJhbGciOiJFZERTQSJ9.e30", "not a well-formed JWT"),
    "expired": (
        lambda ring, _: _issue(InstallTokenIssuer(ring, clock=_from_now(-3600))),
        "expired",
    ),
    "expired-just-past-the-skew-allowance": (
        lambda ring, _: _issue(InstallTokenIssuer(ring, ttl_s=60, clock=_from_now(-95))),
        "expired",
    ),
    "not-yet-valid": (
        lambda ring, _: _issue(InstallTokenIssuer(ring, clock=_from_now(120))),
        "not valid yet",
    ),
    "forged-signature": (lambda ring, _: _other_key_same_kid(ring), "signature does not verify"),
    "alg-none": (
        lambda ring, _: compact({"alg": "none", "kid": ring.active.key_id}, _payload(ring), b""),
        "only algorithm accepted",
    ),
    "alg-none-with-signature": (
        lambda ring, _: compact({"alg": "none", "kid": ring.active.key_id}, _payload(ring), b"x"),
        "only algorithm accepted",
    ),
    "hs256-keyed-with-the-raw-public-key": (
        lambda ring, _: _hs256(ring, raw_public_bytes(ring.active.public_key)),
        "only algorithm accepted",
    ),
    "hs256-keyed-with-the-public-pem": (
        lambda ring, _: _hs256(ring, ring.active.public_key_pem.encode()),
        "only algorithm accepted",
    ),
    "wrong-audience": (
        lambda ring, _: _issue(InstallTokenIssuer(ring, audience="another-service")),
        "audience",
    ),
    "wrong-issuer": (lambda ring, _: sign(_payload(ring, iss="evil"), ring.active), "issuer"),
    "tampered-claims": (lambda ring, _: _tampered(ring), "signature does not verify"),
    "unknown-kid": (_unknown_kid, "does not know"),
    "no-kid": (lambda ring, _: sign(_payload(ring), ring.active, kid=None), "names no key"),
    "missing-exp": (lambda ring, _: sign(_payload(ring, exp=None), ring.active), "'exp'"),
    "missing-jti": (lambda ring, _: sign(_payload(ring, jti=None), ring.active), "'jti'"),
    "missing-tenant": (lambda ring, _: sign(_payload(ring, tenant=None), ring.active), "tenant"),
    "caps-not-a-list": (
        lambda ring, _: sign(_payload(ring, caps="cap:context.read"), ring.active),
        "caps",
    ),
    "subject-of-another-install": (
        lambda ring, _: sign(_payload(ring, sub="extension/ext@other"), ring.active),
        "sub",
    ),
    "lifetime-beyond-the-maximum": (
        lambda ring, _: sign(
            _payload(ring, exp=int(time.time()) + MAX_TTL_S + 600, nbf=int(time.time())),
            ring.active,
        ),
        "lives longer",
    ),
    "oversized": (lambda ring, _: "a" * 6_000, "longer than"),
}


@pytest.mark.parametrize("attack", sorted(ATTACKS))
async def test_attack_is_unauthenticated(
    attack: str, ring: KeyRing, verifier: InstallTokenVerifier, tmp_path: Path
) -> None:
    make, says = ATTACKS[attack]
    token = make(ring, tmp_path)

    error = await _refusal(verifier, token_metadata(token))

    _assert_unauthenticated(error, token, says)


async def test_missing_token_is_unauthenticated(verifier: InstallTokenVerifier) -> None:
    error = await _refusal(verifier, ())
    assert error.code() is grpc.StatusCode.UNAUTHENTICATED
    assert "missing" in (error.details() or "")


async def test_an_operator_bearer_token_is_not_an_install_token(
    issuer: InstallTokenIssuer, verifier: InstallTokenVerifier
) -> None:
    token = _issue(issuer)
    error = await _refusal(verifier, (("authorization", f"Bearer {token}"),))
    _assert_unauthenticated(error, token, "missing")


async def test_two_tokens_in_one_call_are_refused(
    issuer: InstallTokenIssuer, verifier: InstallTokenVerifier
) -> None:
    token = _issue(issuer)
    error = await _refusal(verifier, token_metadata(token) + token_metadata(token))
    _assert_unauthenticated(error, token, "exactly one")


async def test_a_token_within_the_clock_skew_allowance_is_accepted(
    ring: KeyRing, verifier: InstallTokenVerifier
) -> None:
    # Issued by a host whose clock runs 10 s ahead (the allowance is 30 s).
    token = _issue(InstallTokenIssuer(ring, clock=lambda: time.time() + 10))
    async with serve_host(verifier) as channel:
        reply = await context_pb2_grpc.ContextServiceStub(channel).GetContext(
            context_pb2.GetContextRequest(), metadata=token_metadata(token)
        )
    assert reply.context.tenant_id == "tenant-a"


async def test_a_cached_token_stops_working_when_it_expires(ring: KeyRing) -> None:
    now = [time.time()]
    verifier = InstallTokenVerifier.from_ring(ring, leeway_s=0, clock=lambda: now[0])
    token = _issue(InstallTokenIssuer(ring, ttl_s=60, clock=lambda: now[0]))
    async with serve_host(verifier) as channel:
        stub = context_pb2_grpc.ContextServiceStub(channel)
        await stub.GetContext(context_pb2.GetContextRequest(), metadata=token_metadata(token))
        now[0] += 61
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await stub.GetContext(context_pb2.GetContextRequest(), metadata=token_metadata(token))
    _assert_unauthenticated(raised.value, token, "expired")


async def test_a_disabled_install_is_refused_even_with_a_cached_token(ring: KeyRing) -> None:
    disabled: set[tuple[str, str]] = set()
    verifier = InstallTokenVerifier.from_ring(
        ring, is_enabled=lambda tenant, install: (tenant, install) not in disabled
    )
    token = _issue(InstallTokenIssuer(ring))
    async with serve_host(verifier) as channel:
        stub = context_pb2_grpc.ContextServiceStub(channel)
        await stub.GetContext(context_pb2.GetContextRequest(), metadata=token_metadata(token))
        disabled.add(("tenant-a", "inst"))
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await stub.GetContext(context_pb2.GetContextRequest(), metadata=token_metadata(token))
        _assert_unauthenticated(raised.value, token, "disabled")
        disabled.clear()
        reply = await stub.GetContext(
            context_pb2.GetContextRequest(), metadata=token_metadata(token)
        )
    assert reply.context.install_id == "inst"


def test_the_issuer_bounds_the_lifetime(ring: KeyRing) -> None:
    with pytest.raises(ValueError, match="seconds"):
        InstallTokenIssuer(ring, ttl_s=MAX_TTL_S + 1)
    with pytest.raises(ValueError, match="seconds"):
        _issue(InstallTokenIssuer(ring), ttl_s=0)
    with pytest.raises(ValueError, match="tenant_id"):
        _issue(InstallTokenIssuer(ring), tenant_id="")


def test_the_token_header_names_the_signing_key_and_eddsa(
    ring: KeyRing, issuer: InstallTokenIssuer
) -> None:
    import jwt

    header = jwt.get_unverified_header(_issue(issuer))
    assert header == {"alg": "EdDSA", "kid": ring.active.key_id, "typ": "JWT"}
