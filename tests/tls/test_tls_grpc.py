"""TLS and mTLS on a real GrpcServer, dialled over loopback with real channels."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import grpc.aio
import pytest
from tls_whoami import WhoAmIDefinition, ask

from extplane.errors import StartupError
from extplane.runtime.channels import create_channel
from extplane.runtime.server import GrpcServer
from extplane.runtime.tls import TlsSettings
from tests.tls_certs import CLIENT_SUBJECT, CLIENT_URI, Pki, served_common_name


async def _serving(tls: TlsSettings) -> GrpcServer:
    server = GrpcServer(WhoAmIDefinition(), host="127.0.0.1", port=0, shutdown_grace_s=0, tls=tls)
    await server.start()
    return server


@pytest.fixture
async def tls_server(pki: Pki) -> AsyncIterator[GrpcServer]:
    server = await _serving(pki.server_tls())
    yield server
    await server.stop(0)


@pytest.fixture
async def mtls_server(pki: Pki) -> AsyncIterator[GrpcServer]:
    server = await _serving(pki.server_tls(mtls=True))
    yield server
    await server.stop(0)


async def _refused(channel: grpc.aio.Channel) -> grpc.StatusCode:
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await ask(channel, timeout=3.0)
    return refused.value.code()


async def test_a_tls_client_that_trusts_the_ca_is_served(pki: Pki, tls_server: GrpcServer) -> None:
    async with create_channel(tls_server.address, tls=pki.client_tls()) as channel:
        answer = await ask(channel)
    # TLS without a client CA asks for no certificate: nobody is identified.
    assert answer["subject"] == ""


async def test_a_plaintext_client_gets_nothing_from_a_tls_server(tls_server: GrpcServer) -> None:
    async with create_channel(tls_server.address) as channel:
        assert await _refused(channel) == grpc.StatusCode.UNAVAILABLE


async def test_a_client_that_does_not_trust_the_servers_ca_refuses_it(
    pki: Pki, tls_server: GrpcServer
) -> None:
    # The stranger's certificate is another CA's leaf: the server's does not chain to it.
    async with create_channel(
        tls_server.address, tls=pki.client_tls().model_copy(update={"ca_file": pki.stranger_cert})
    ) as channel:
        assert await _refused(channel) == grpc.StatusCode.UNAVAILABLE


async def test_mtls_serves_a_good_client_certificate_and_names_its_subject(
    pki: Pki, mtls_server: GrpcServer
) -> None:
    async with create_channel(mtls_server.address, tls=pki.client_tls("client")) as channel:
        answer = await ask(channel)
    assert answer["subject"] == CLIENT_SUBJECT
    assert answer["common_name"] == "billing-writer"
    assert answer["uris"] == CLIENT_URI


@pytest.mark.parametrize("who", [None, "expired", "stranger"])
async def test_mtls_refuses_no_expired_or_foreign_client_certificate(
    pki: Pki, mtls_server: GrpcServer, who: str | None
) -> None:
    async with create_channel(mtls_server.address, tls=pki.client_tls(who)) as channel:
        assert await _refused(channel) == grpc.StatusCode.UNAVAILABLE


async def test_mtls_refuses_a_plaintext_client(mtls_server: GrpcServer) -> None:
    async with create_channel(mtls_server.address) as channel:
        assert await _refused(channel) == grpc.StatusCode.UNAVAILABLE


async def test_a_tls_only_server_names_nobody_even_when_offered_a_certificate(
    pki: Pki, tls_server: GrpcServer
) -> None:
    # Without a client CA the server never asks for (so never trusts) a client certificate.
    async with create_channel(tls_server.address, tls=pki.client_tls("client")) as channel:
        assert (await ask(channel))["subject"] == ""


async def test_a_rotated_certificate_is_served_to_new_connections_without_a_restart(
    pki: Pki, tmp_path: Path
) -> None:
    cert, key = pki.rotated_server(tmp_path, "before.localhost")
    tls = TlsSettings(cert_file=cert, key_file=key, client_ca_file=pki.ca_file)
    server = await _serving(tls)
    try:
        client = pki.client_tls("client")
        async with create_channel(server.address, tls=client) as before:
            assert (await ask(before))["subject"] == CLIENT_SUBJECT
            assert await served_common_name(server.port, pki, client) == "before.localhost"

            pki.rotated_server(tmp_path, "after.localhost")
            assert await served_common_name(server.port, pki, client) == "after.localhost"
            async with create_channel(server.address, tls=client) as after:
                assert (await ask(after))["subject"] == CLIENT_SUBJECT
            # The connection made before the rotation keeps working.
            assert (await ask(before))["subject"] == CLIENT_SUBJECT
    finally:
        await server.stop(0)


async def test_a_half_written_rotation_keeps_serving_the_old_pair(pki: Pki, tmp_path: Path) -> None:
    cert, key = pki.rotated_server(tmp_path, "before.localhost")
    server = await _serving(TlsSettings(cert_file=cert, key_file=key))
    try:
        key.write_bytes(pki.client_key.read_bytes())  # a key that is not the certificate's
        assert await served_common_name(server.port, pki) == "before.localhost"
        pki.rotated_server(tmp_path, "after.localhost")  # both files again, agreeing
        assert await served_common_name(server.port, pki) == "after.localhost"
    finally:
        await server.stop(0)


async def test_a_server_with_a_missing_certificate_file_does_not_start(tmp_path: Path) -> None:
    tls = TlsSettings(cert_file=tmp_path / "none.crt", key_file=tmp_path / "none.key")
    with pytest.raises(StartupError, match=r"tls\.cert_file: cannot read .*none\.crt"):
        await _serving(tls)


async def test_server_name_is_the_name_the_certificate_is_checked_against(
    pki: Pki, tls_server: GrpcServer
) -> None:
    named = pki.client_tls().model_copy(update={"server_name": "localhost"})
    async with create_channel(tls_server.address, tls=named) as channel:
        assert (await ask(channel))["subject"] == ""
    elsewhere = pki.client_tls().model_copy(update={"server_name": "elsewhere.example"})
    async with create_channel(tls_server.address, tls=elsewhere) as channel:
        assert await _refused(channel) == grpc.StatusCode.UNAVAILABLE
