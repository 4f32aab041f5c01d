"""Key rotation without downtime, and the JWKS a host in another language uses."""

from __future__ import annotations

import json
from pathlib import Path

import grpc
import pytest
from host_support import serve_host, token_metadata

from extplane.host import InstallTokenIssuer, InstallTokenVerifier, keys_from_jwks
from extplane.keys import KeyRing, WatchedKeyRing, rotate
from extplane_protos.alga.extension.v1 import context_pb2, context_pb2_grpc


def _token(issuer: InstallTokenIssuer, install: str) -> str:
    return issuer.issue(
        tenant_id="t", extension_id="e", install_id=install, capabilities=["cap:context.read"]
    )


async def _install_of(channel: grpc.aio.Channel, token: str) -> str:
    reply = await context_pb2_grpc.ContextServiceStub(channel).GetContext(
        context_pb2.GetContextRequest(), metadata=token_metadata(token)
    )
    return reply.context.install_id


async def test_rotation_keeps_old_tokens_until_their_key_is_removed(tmp_path: Path) -> None:
    directory = tmp_path / "keys"
    old_key = rotate(directory)
    watched = WatchedKeyRing(KeyRing.load(directory))
    issuer = InstallTokenIssuer(lambda: watched.current)
    verifier = InstallTokenVerifier.from_ring(watched.current)
    before = _token(issuer, "before")

    async with serve_host(verifier) as channel:
        assert await _install_of(channel, before) == "before"  # now cached

        new_key = rotate(directory)
        assert watched.refresh()
        verifier.set_keys(watched.current)
        after = _token(issuer, "after")
        assert after.split(".")[0] != before.split(".")[0]  # a new kid in the header
        # Both verify: the old key is a retired verifier, the new one signs.
        assert await _install_of(channel, before) == "before"
        assert await _install_of(channel, after) == "after"

        # The old key is destroyed: its tokens fail at once, cached or not.
        (directory / f"{old_key.key_id}.pem").unlink()
        assert watched.refresh()
        verifier.set_keys(watched.current)
        assert verifier.key_ids == {new_key.key_id}
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await _install_of(channel, before)
        assert raised.value.code() is grpc.StatusCode.UNAUTHENTICATED
        assert "does not know" in (raised.value.details() or "")
        assert await _install_of(channel, after) == "after"


async def test_the_rings_jwks_verifies_in_a_fresh_verifier(tmp_path: Path) -> None:
    directory = tmp_path / "keys"
    rotate(directory)
    rotate(directory)  # two keys: the set carries both
    ring = KeyRing.load(directory)
    token = _token(InstallTokenIssuer(ring), "from-jwks")

    # What another language's host would fetch and parse: JSON text only.
    published = json.dumps(ring.jwks())
    verifier = InstallTokenVerifier.from_jwks(json.loads(published))

    assert verifier.key_ids == set(ring.keys)
    async with serve_host(verifier) as channel:
        assert await _install_of(channel, token) == "from-jwks"


def test_a_jwks_entry_whose_kid_is_not_its_key_is_refused(ring: KeyRing) -> None:
    entry = ring.active.jwk() | {"kid": "0" * 64}
    with pytest.raises(ValueError, match="kid"):
        keys_from_jwks({"keys": [entry]})


def test_a_jwks_with_another_algorithm_is_refused(ring: KeyRing) -> None:
    with pytest.raises(ValueError, match="EdDSA"):
        keys_from_jwks({"keys": [ring.active.jwk() | {"alg": "HS256"}]})
    with pytest.raises(ValueError, match="keys"):
        keys_from_jwks({})
