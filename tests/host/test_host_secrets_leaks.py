"""A secret's value appears nowhere but in the Get response: not in the logs
(DEBUG), audit events, metrics, spans, error messages or the stored rows.

A distinctive canary value goes through every path: set, get, list (both
services), expired, missing, denied, a value moved to another row (internal),
rotation and rewrap; then each place is scanned for it, and for its base64
and hex forms.
"""

from __future__ import annotations

import base64
import logging
from pathlib import Path

import grpc
import pytest
from prometheus_client import generate_latest
from secrets_support import failure, serve

from extplane.host.secrets import keys
from extplane.host.secrets.sealing import SecretAddress
from extplane.host.secrets.store import StoredSecret

CANARY = "canary-7f3a9c-DO-NOT-LEAK-s3cr3t"
FORMS = (CANARY, base64.b64encode(CANARY.encode()).decode(), CANARY.encode().hex())


def _leaks(text: str) -> list[str]:
    return [form for form in FORMS if form in text]


async def test_the_value_leaks_nowhere(
    database_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    errors: list[str] = []
    responses: list[str] = []
    async with serve(database_url, tmp_path) as host:
        md = await host.install("acme", "app-1")
        other = await host.install("acme", "app-2")
        denied = await host.install("acme", "app-3", capabilities=("cap:log.emit",))
        async with host.admin() as admin:
            names = {"tenant": "acme", "install_id": "app-1"}
            made = await admin.set_secret(key="CANARY", value=CANARY, **names)
            responses.append(str(made))
            later = host.clock() + 10**9
            await admin.set_secret(key="SOON", value=CANARY, expire_time_ns=later, **names)
            await admin.set_secret(tenant="acme", install_id="app-2", key="X", value="x")
            responses.extend(str(s) for s in await admin.list_secrets(**names))

            assert await host.get(md, "CANARY") == CANARY
            assert await host.get(md, "SOON") == CANARY
            responses.append(str(await host.keys(md)))
            host.clock.advance(2)
            for md_, key in ((md, "SOON"), (md, "NOPE"), (other, "CANARY"), (denied, "CANARY")):
                error = await failure(host.get(md_, key))
                errors.append(f"{error.code()} {error.details()} {error.debug_error_string()}")
            errors.append(str(await failure(host.keys(denied))))

            store = host.service.secrets.store
            stolen = await store.get(SecretAddress("acme", "app-1", "CANARY"))
            assert stolen is not None
            moved = SecretAddress("acme", "app-2", "X")
            await store.put(StoredSecret(moved, stolen.sealed, None, stolen.updated_ns))
            error = await failure(host.get(other, "X"))
            assert error.code() == grpc.StatusCode.INTERNAL
            errors.append(f"{error.details()} {error.debug_error_string()}")

            keys.rotate(host.service.secrets.key_dir)
            await host.service.secrets.serving.current.rewrap()
            assert await host.get(md, "CANARY") == CANARY
            await admin.delete_secret(key="SOON", **names)

            rows = await store.after(None, 100)
            assert len(rows) == 2
            for row in rows:
                assert CANARY.encode() not in row.sealed.ciphertext
                assert not _leaks(repr(row))
            metrics = generate_latest(host.kit.registry).decode()
            assert 'extplane_host_secret_reads_total{outcome="ok"} 3.0' in metrics
            spans = [span.to_json() for span in host.spans.get_finished_spans()]
            audited = [str(event) for event in host.audit.events]

    assert any("SecretsService/Get" in span for span in spans)
    assert len(audited) >= 6  # four changes, two capability denials
    assert not _leaks(metrics)
    assert not [span for span in spans if _leaks(span)]
    assert not [event for event in audited if _leaks(event)]
    assert not [error for error in errors if _leaks(error)]
    assert not _leaks("\n".join(responses))
    logged = "\n".join(
        f"{record.getMessage()} {record.args} {record.exc_text} {record.__dict__}"
        for record in caplog.records
    )
    assert caplog.records
    assert not _leaks(logged)
    if database_url.startswith("sqlite:"):
        database = Path(database_url.removeprefix("sqlite:"))
        for path in database.parent.iterdir():
            assert CANARY.encode() not in path.read_bytes(), path
