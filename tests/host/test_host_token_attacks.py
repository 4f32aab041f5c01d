"""Every install-token attack, over the real wire: each is UNAUTHENTICATED with
a message that names the problem and never repeats the token.

Each runs against the test host (a verifier of the test's ring) and against
the real host service on both backends (its ring, verifier and providers);
the real host also follows a key rotation (the retired key verifying until it
is removed) and refuses a disabled install on another replica once its
refresh bound has passed (clocks driven by the test).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import os
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import grpc
import jwt
import pytest
from host_support import ADMIN_TOKEN, compact, serve_host, sign, token_metadata, unverified_payload
from host_support import error_info as read_error_info
from real_host import RealHost, serve_real_host

from extplane.host import MAX_TTL_S, InstallTokenIssuer, InstallTokenVerifier
from extplane.keys import KeyRing, SigningKey, rotate
from extplane.keys.ed25519 import raw_public_bytes
from extplane_client import InstallsClient, alga_errors
from extplane_protos.alga.extension.v1 import (
    context_pb2,
    context_pb2_grpc,
    storage_pb2,
    storage_pb2_grpc,
)

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
    header = jwt.get_unverified_header(_issue(issuer))
    assert header == {"alg": "EdDSA", "kid": ring.active.key_id, "typ": "JWT"}


# The same attacks against the real host service, on both backends: its own key
# ring, verifier and enforcement, in front of its real providers (context, and
# storage with its store), tokens of a registered install issued by its registry.


@pytest.fixture
async def real_host(database_url: str, tmp_path: Path) -> AsyncIterator[RealHost]:
    async with serve_real_host(database_url, tmp_path / "data") as host:
        yield host


async def _real_calls(host: RealHost, metadata: Any) -> list[Any]:
    """A context read and a storage list: each answer, or each refusal."""
    context = context_pb2_grpc.ContextServiceStub(host.channel).GetContext(
        context_pb2.GetContextRequest(), metadata=metadata
    )
    storage = storage_pb2_grpc.StorageServiceStub(host.channel).List(
        storage_pb2.StorageServiceListRequest(namespace="ns"), metadata=metadata
    )
    return list(await asyncio.gather(context, storage, return_exceptions=True))


REAL_CAPS = ["cap:context.read", "cap:storage.kv"]


@pytest.mark.parametrize("attack", sorted(ATTACKS))
async def test_attack_on_the_real_host_is_unauthenticated(
    attack: str, real_host: RealHost, tmp_path: Path
) -> None:
    assert real_host.service.token_keys is not None
    ring = real_host.service.token_keys.ring
    # The genuine token of the same claims passes both: the attack alone is refused.
    genuine = _issue(InstallTokenIssuer(ring), capabilities=REAL_CAPS)
    context, listed = await _real_calls(real_host, token_metadata(genuine))
    assert context.context.tenant_id == "tenant-a"
    assert list(listed.entries) == []

    make, says = ATTACKS[attack]
    token = make(ring, tmp_path)
    for refusal in await _real_calls(real_host, token_metadata(token)):
        assert isinstance(refusal, grpc.aio.AioRpcError), refusal
        _assert_unauthenticated(refusal, token, says)


async def test_a_missing_token_on_the_real_host_is_unauthenticated(real_host: RealHost) -> None:
    for refusal in await _real_calls(real_host, ()):
        assert isinstance(refusal, grpc.aio.AioRpcError), refusal
        assert refusal.code() is grpc.StatusCode.UNAUTHENTICATED
        assert "missing" in (refusal.details() or "")


async def test_the_real_host_follows_a_rotation_and_a_retired_key_still_verifies(
    real_host: RealHost,
) -> None:
    service = real_host.service
    assert service.token_keys is not None
    old = await real_host.install("tenant-r", "rotated", REAL_CAPS)
    old_kid = service.token_keys.ring.active.key_id

    new_key = rotate(service.token_key_dir)
    # What the refresher does every enabled_refresh_s (distinct mtimes, however coarse).
    os.utime(service.token_key_dir / "active", ns=(1, 1))
    assert await asyncio.to_thread(service.token_keys.refresh)
    new = await real_host.token("tenant-r", "rotated")
    assert jwt.get_unverified_header(new[0][1])["kid"] == new_key.key_id != old_kid

    for metadata in (old, new):  # the retired key still verifies what it signed
        context, _ = await _real_calls(real_host, metadata)
        assert context.context.install_id == "rotated"

    # The retired key removed: its tokens stop at the next refresh, the new ones go on.
    (service.token_key_dir / f"{old_kid}.pem").unlink()
    assert await asyncio.to_thread(service.token_keys.refresh)
    for refusal in await _real_calls(real_host, old):
        assert isinstance(refusal, grpc.aio.AioRpcError), refusal
        _assert_unauthenticated(refusal, old[0][1], "does not know")
    context, _ = await _real_calls(real_host, new)
    assert context.context.install_id == "rotated"


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_a_disabled_install_is_refused_by_another_replica_after_the_refresh_bound(
    real_host: RealHost, database_url: str, tmp_path: Path
) -> None:
    """Two real hosts on one store and one key ring: the one that disables refuses at
    once; the other within its refresh bound (its clock and refresh driven here)."""
    service = real_host.service
    clock = _Clock()
    async with serve_real_host(
        database_url,
        tmp_path / "replica",
        enabled_clock=clock,
        token_key_dir=service.token_key_dir,
    ) as replica:
        metadata = await real_host.install("tenant-d", "disabled", REAL_CAPS)
        bound = replica.service.enabled.refresh_s
        context, _ = await _real_calls(replica, metadata)
        assert context.context.install_id == "disabled"

        async with InstallsClient(real_host.address, token=ADMIN_TOKEN) as admin:
            await admin.disable_install(tenant="tenant-d", install_id="disabled")
        for refusal in await _real_calls(real_host, metadata):  # at once where disabled
            assert isinstance(refusal, grpc.aio.AioRpcError), refusal
            _assert_unauthenticated(refusal, metadata[0][1], "disabled")
        # The replica has not re-read the store: within the bound it may still serve it.
        context, _ = await _real_calls(replica, metadata)
        assert context.context.install_id == "disabled"

        clock.now += bound
        await replica.service.enabled.refresh()  # its refresher's next round
        for refusal in await _real_calls(replica, metadata):
            assert isinstance(refusal, grpc.aio.AioRpcError), refusal
            _assert_unauthenticated(refusal, metadata[0][1], "disabled")

        # A snapshot older than twice the bound fails closed for every install.
        other = await real_host.install("tenant-d", "enabled", REAL_CAPS)
        context, _ = await _real_calls(replica, other)
        assert context.context.install_id == "enabled"
        clock.now += 2 * bound + 0.01
        for refusal in await _real_calls(replica, other):
            assert isinstance(refusal, grpc.aio.AioRpcError), refusal
            assert refusal.code() is grpc.StatusCode.UNAUTHENTICATED
