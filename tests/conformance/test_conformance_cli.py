"""`extplane conformance` as a user runs it: the real command in a subprocess,
against implementations served by the test over loopback."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

from extplane.metering.config import MeteringSettings
from extplane.metering.service import MeteringService
from extplane.runtime import GrpcServer, ServiceKit
from tests.conformance.reference import MemoryMeteringSink, serve_metering
from tests.query_suite import BILLING_TOKEN, query_suite
from tests.tls_certs import Pki

CLI = (sys.executable, "-m", "extplane.cli", "conformance")


async def extplane(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("EXTPLANE_")}
    process = await asyncio.create_subprocess_exec(
        *CLI,
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**environment, **(env or {})},
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_our_metering_service_conforms_with_its_query_service_counting(
    tmp_path: Path,
) -> None:
    junit = tmp_path / "metering.xml"
    async with query_suite(tmp_path) as suite:
        status, out, err = await extplane(
            "metering",
            suite.metering,
            "--level",
            "full",
            "--query-address",
            suite.metering,
            "--query-token",
            BILLING_TOKEN,
            "--junit",
            str(junit),
        )
    assert status == 0, out + err
    assert "metering.idempotency.counted_once" in out
    assert out.strip().splitlines()[-1].startswith(f"metering at {suite.metering}, level full: ")
    assert "conformant (31 pass, 0 fail, 0 skip, 0 unverifiable)" in out
    cases = ET.parse(junit).getroot()
    assert cases.get("failures") == "0"
    assert len(cases.findall("testcase")) == 31


async def test_a_failure_shows_what_was_sent_what_came_back_and_the_clause() -> None:
    async with serve_metering(MemoryMeteringSink(accepts_negative=True)) as address:
        status, out, _ = await extplane("metering", address, "--level", "full")
    assert status == 1
    lines = out.splitlines()
    row = next(i for i, line in enumerate(lines) if "metering.refuses.negative_tokens_in" in line)
    assert "FAIL" in lines[row]
    assert lines[row + 1].strip().startswith("sent:")
    assert "tokens_in: -1" in lines[row + 1]
    assert lines[row + 2].strip().startswith("got:")
    assert "OK" in lines[row + 2]
    assert lines[row + 3].strip() == (
        "contract: a negative tokens_in is INVALID_ARGUMENT naming event.tokens_in "
        "(docs/metering.md#validation)"
    )


async def test_json_and_junit_name_each_check_and_its_result(tmp_path: Path) -> None:
    junit = tmp_path / "report.xml"
    async with serve_metering(MemoryMeteringSink(double_counts=True)) as address:
        status, out, _ = await extplane(
            "metering", address, "--level", "full", "--json", "--junit", str(junit)
        )
    # Nothing failed, but counted_once could not be observed without a counter.
    assert status == 4
    body = json.loads(out)
    assert body["exit_status"] == 4
    assert body["conformant"] is False
    results = {check["name"]: check["result"] for check in body["checks"]}
    assert results["metering.idempotency.counted_once"] == "unverifiable"
    skipped = (
        ET.parse(junit)
        .getroot()
        .find("testcase[@name='metering.idempotency.counted_once']/skipped")
    )
    assert skipped is not None
    assert skipped.get("message", "").startswith("unverifiable: ")


async def test_a_count_command_makes_double_counting_visible(tmp_path: Path) -> None:
    sink = MemoryMeteringSink(double_counts=True)
    counts = tmp_path / "counts.json"
    # The implementation's "database": a file the count command reads.
    script = tmp_path / "count.py"
    script.write_text(
        "import json, os, sys\n"
        f"counts = json.load(open({str(counts)!r}))\n"
        "print(counts.get(os.environ['EXTPLANE_CONFORMANCE_NAMESPACE'], 0))\n"
    )
    original = sink.store

    def store_and_publish(event: object) -> bool:
        duplicate = original(event)  # type: ignore[arg-type]
        tally: dict[str, int] = {}
        for stored in sink.stored:
            tally[stored.namespace] = tally.get(stored.namespace, 0) + 1
        counts.write_text(json.dumps(tally))
        return duplicate

    sink.store = store_and_publish  # type: ignore[method-assign]
    async with serve_metering(sink) as address:
        status, out, _ = await extplane(
            "metering",
            address,
            "--level",
            "full",
            "--count-command",
            f"{sys.executable} {script}",
            "--json",
        )
    assert status == 1
    failed = [c["name"] for c in json.loads(out)["checks"] if c["result"] == "fail"]
    assert failed == ["metering.idempotency.counted_once"]


async def test_usage_errors_exit_2() -> None:
    status, _, err = await extplane("capabilities", "127.0.0.1:1", "--count-command", "true")
    assert status == 2
    assert "count metering or audit events" in err
    status, _, err = await extplane("nothing", "127.0.0.1:1")
    assert status == 2


async def test_an_mtls_only_sink_is_checked_with_the_tls_flags(tmp_path: Path, pki: Pki) -> None:
    kit = ServiceKit.for_directory(tmp_path, bind_host="0.0.0.0", client_certificates_required=True)
    server = GrpcServer(
        MeteringService(MeteringSettings(port=0), kit),
        host="127.0.0.1",
        port=0,
        shutdown_grace_s=0,
        tls=pki.server_tls(mtls=True),
    )
    await server.start()
    try:
        flags = ["--tls-ca", str(pki.ca_file), "--tls-cert", str(pki.client_cert)]
        status, out, err = await extplane(
            "metering", server.address, *flags, "--tls-key", str(pki.client_key)
        )
        # Without a client certificate the handshake fails: nothing answers in time.
        refused, refused_out, _ = await extplane(
            "metering", server.address, "--tls-ca", str(pki.ca_file), "--deadline", "1"
        )
    finally:
        await server.stop(0)
    assert status == 0, out + err
    assert "conformant" in out
    assert refused == 1
    assert "fail" in refused_out
