"""TLS settings: what a half-given configuration is told, and what the CLI says when a
certificate file cannot be served."""

from __future__ import annotations

from pathlib import Path

import grpc
import grpc.aio
import pytest
from pydantic import ValidationError

from extplane.config import Settings, describe_invalid
from extplane_client import AuditQueryClient, GrpcAuditSink
from extplane_client.tls import ClientTls
from tests.e2e.cli_process import run_extplane
from tests.tls_certs import Pki


def test_plaintext_is_the_default_and_requires_no_client_certificate() -> None:
    settings = Settings()
    assert not settings.tls.enabled
    assert not settings.tls.client_certificates_required
    assert settings.client_tls is None


def test_a_client_ca_turns_on_required_client_certificates(pki: Pki) -> None:
    assert pki.server_tls().enabled
    assert not pki.server_tls().client_certificates_required
    assert pki.server_tls(mtls=True).client_certificates_required


@pytest.mark.parametrize(
    ("tls", "problem"),
    [
        (
            {"cert_file": "a.crt"},
            "tls: cert_file and key_file: give both (TLS) or neither (plaintext)",
        ),
        (
            {"key_file": "a.key"},
            "tls: cert_file and key_file: give both (TLS) or neither (plaintext)",
        ),
        (
            {"client_ca_file": "ca.crt"},
            "tls: client_ca_file: mTLS needs the server's cert_file and key_file too",
        ),
    ],
)
def test_half_a_server_tls_configuration_is_refused(tls: dict[str, str], problem: str) -> None:
    with pytest.raises(ValidationError) as invalid:
        Settings(tls=tls)  # type: ignore[arg-type]
    assert describe_invalid(invalid.value) == problem


def test_a_client_certificate_needs_its_key() -> None:
    with pytest.raises(ValidationError, match="cert_file and key_file: give both"):
        ClientTls(cert_file=Path("client.crt"))


def test_a_client_tls_file_that_is_not_pem_is_named(pki: Pki) -> None:
    with pytest.raises(ValueError, match=r"ca_file: .*client\.key holds no PEM certificate"):
        ClientTls(ca_file=pki.client_key).channel_credentials()


async def test_a_server_whose_key_is_not_its_certificates_does_not_start(
    pki: Pki, tmp_path: Path
) -> None:
    env = {
        "EXTPLANE_DATA_DIR": str(tmp_path / "data"),
        "EXTPLANE_METERING__PORT": "0",
        "EXTPLANE_METRICS__ENABLED": "false",
        "EXTPLANE_TLS__CERT_FILE": str(pki.server_cert),
        "EXTPLANE_TLS__KEY_FILE": str(pki.client_key),
    }
    result = await run_extplane("serve", "metering", env=env)
    assert result.code == 2, result.stderr
    assert (
        f"extplane: cannot start: tls.key_file: {pki.client_key} is not the key of "
        f"{pki.server_cert}" in result.stderr
    )


async def test_a_gateway_with_a_missing_certificate_does_not_start(tmp_path: Path) -> None:
    missing = tmp_path / "gone.crt"
    env = {
        "EXTPLANE_DATA_DIR": str(tmp_path / "data"),
        "EXTPLANE_GATEWAY__PORT": "0",
        "EXTPLANE_METRICS__ENABLED": "false",
        "EXTPLANE_TLS__CERT_FILE": str(missing),
        "EXTPLANE_TLS__KEY_FILE": str(tmp_path / "gone.key"),
    }
    result = await run_extplane("serve", "gateway", env=env)
    assert result.code == 2, result.stderr
    assert f"extplane: cannot start: tls.cert_file: cannot read {missing}" in result.stderr


def test_a_sink_takes_tls_or_credentials_not_both(pki: Pki) -> None:
    with pytest.raises(ValueError, match="credentials, tls: give one of them"):
        GrpcAuditSink(
            "127.0.0.1:1", tls=pki.client_tls(), credentials=grpc.local_channel_credentials()
        )


async def test_a_client_given_a_channel_refuses_tls_it_could_not_apply(pki: Pki) -> None:
    async with grpc.aio.insecure_channel("127.0.0.1:1") as channel:
        with pytest.raises(ValueError, match="tls: only with an address"):
            AuditQueryClient(channel, tls=pki.client_tls())
