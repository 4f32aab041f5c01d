"""`extplane` query commands against services that require mTLS: the --tls-* flags,
the client_tls settings from the environment, and the errors a bad flag gets."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.e2e.cli_process import run_extplane
from tests.query_suite import BILLING_TOKEN, QuerySuite, query_suite
from tests.tls_certs import Pki

BILLING = {"EXTPLANE_TOKEN": BILLING_TOKEN}
START = "2026-01-01T00:00:00Z"


@pytest.fixture
async def mtls_suite(pki: Pki, tmp_path: Path) -> AsyncIterator[QuerySuite]:
    async with query_suite(tmp_path / "suite", tls=pki.server_tls(mtls=True)) as running:
        yield running


def _flags(pki: Pki, who: str = "client") -> list[str]:
    return [
        "--tls-ca", str(pki.ca_file),
        "--tls-cert", str(pki.directory / f"{who}.crt"),
        "--tls-key", str(pki.directory / f"{who}.key"),
    ]  # fmt: skip


async def test_the_tls_flags_reach_a_service_that_requires_mtls(
    pki: Pki, mtls_suite: QuerySuite
) -> None:
    result = await run_extplane(
        "metering",
        "usage",
        "--start",
        START,
        "--json",
        "--address",
        mtls_suite.metering,
        *_flags(pki),
        env=BILLING,
    )
    assert result.code == 0, result.stderr
    assert "buckets" in json.loads(result.stdout)


async def test_client_tls_from_the_environment_works_like_the_flags(
    pki: Pki, mtls_suite: QuerySuite
) -> None:
    env = {
        **BILLING,
        "EXTPLANE_CLIENT_TLS__CA_FILE": str(pki.ca_file),
        "EXTPLANE_CLIENT_TLS__CERT_FILE": str(pki.client_cert),
        "EXTPLANE_CLIENT_TLS__KEY_FILE": str(pki.client_key),
    }
    result = await run_extplane(
        "metering", "usage", "--start", START, "--json", "--address", mtls_suite.metering, env=env
    )
    assert result.code == 0, result.stderr


@pytest.mark.parametrize("flags", [[], ["--tls-ca", "CA"], "stranger"])
async def test_without_a_good_client_certificate_the_service_cannot_be_asked(
    pki: Pki, mtls_suite: QuerySuite, flags: list[str] | str
) -> None:
    given = (
        _flags(pki, flags)
        if isinstance(flags, str)
        else [str(pki.ca_file) if flag == "CA" else flag for flag in flags]
    )
    result = await run_extplane(
        "metering", "usage", "--start", START, "--address", mtls_suite.metering,
        "--timeout", "3", *given, env=BILLING,
    )  # fmt: skip
    assert result.code == 3, result.stderr
    assert f"metering service at {mtls_suite.metering}: UNAVAILABLE" in result.stderr


async def test_an_unreadable_ca_file_is_a_usage_error_naming_the_flag(
    mtls_suite: QuerySuite, tmp_path: Path
) -> None:
    missing = tmp_path / "nowhere.crt"
    result = await run_extplane(
        "metering", "usage", "--start", START, "--address", mtls_suite.metering,
        "--tls-ca", str(missing), env=BILLING,
    )  # fmt: skip
    assert result.code == 2
    assert (
        result.stderr.strip()
        == f"extplane: --tls-ca: cannot read {missing}: No such file or directory"
    )


async def test_a_client_certificate_without_its_key_is_a_usage_error(pki: Pki) -> None:
    result = await run_extplane(
        "audit", "verify", "--tls-ca", str(pki.ca_file), "--tls-cert", str(pki.client_cert)
    )
    assert result.code == 2
    assert (
        result.stderr.strip() == "extplane: --tls-cert and --tls-key: give both (mTLS) or neither"
    )


async def test_capabilities_takes_the_tls_flags(pki: Pki, tmp_path: Path) -> None:
    # Not running: the flags are read and checked before the call (a bad key file is named).
    result = await run_extplane(
        "capabilities", "--address", "127.0.0.1:1", "--tls-ca", str(pki.ca_file),
        "--tls-cert", str(pki.client_cert), "--tls-key", str(pki.ca_file),
    )  # fmt: skip
    assert result.code == 2
    assert "--tls-key:" in result.stderr
    assert "holds no unencrypted PEM private key" in result.stderr
