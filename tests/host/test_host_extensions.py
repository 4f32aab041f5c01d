"""The extension registry over the real wire, on both backends: uploads of
components (checked against the Alga world) and of gRPC handler addresses,
read back, listed a page at a time, fetched by content hash, and refused by
role, shape and content, each refusal naming its field.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import AsyncIterator, Coroutine
from pathlib import Path
from typing import Any

import grpc
import pytest
import wasmtime
from extension_support import (
    ADMIN_TOKEN,
    EMPTY,
    ISSUER_TOKEN,
    LOGGING,
    OTHER_TOKEN,
    READER_TOKEN,
    ExtensionsHost,
    component,
    serve_extensions_host,
    with_custom_section,
)

from extplane.runner.component_check import MAX_COMPONENT_BYTES
from extplane_client import ExtensionsError, InstallsError
from extplane_client.extensions import ExecutionLimitsSpec
from extplane_protos.extplane.admin.v1 import extensions_pb2 as pb
from extplane_protos.extplane.admin.v1 import extensions_pb2_grpc

TICKETS = "com.example.tickets"
WASI_ENV = "wasi:cli/environment@0.2.9"


@pytest.fixture
async def host(database_url: str, tmp_path: Path) -> AsyncIterator[ExtensionsHost]:
    async with serve_extensions_host(database_url, tmp_path / "data") as running:
        yield running


async def _refused(call: Coroutine[Any, Any, Any]) -> ExtensionsError:
    with pytest.raises(ExtensionsError) as caught:
        await call
    return caught.value


async def test_upload_a_component_then_get_it_and_its_bytes(host: ExtensionsHost) -> None:
    content = component([("alga:extension/logging", LOGGING), (WASI_ENV, EMPTY)])
    async with host.client() as admin:
        stored = await admin.upload_extension_version(
            extension_id=TICKETS,
            version="1.0.0",
            component=content,
            declared_capabilities=["cap:storage.kv", "cap:log.emit", "cap:log.emit"],
            limits=ExecutionLimitsSpec(timeout_ms=2_000, memory_bytes=64 << 20, fuel=10**9),
        )
    assert stored.extension_id == TICKETS
    assert stored.version == "1.0.0"
    assert list(stored.declared_capabilities) == ["cap:log.emit", "cap:storage.kv"]
    assert (stored.limits.timeout_ms, stored.limits.memory_bytes, stored.limits.fuel) == (
        2_000,
        64 << 20,
        10**9,
    )
    assert stored.WhichOneof("handler") == "component"
    assert stored.component.sha256 == hashlib.sha256(content).hexdigest()
    assert stored.component.size_bytes == len(content)
    assert list(stored.component.imports) == ["alga:extension/logging", WASI_ENV]
    assert stored.create_time.seconds > 0

    for token in (READER_TOKEN, ISSUER_TOKEN, ADMIN_TOKEN):
        async with host.client(token) as reader:
            got = await reader.get_extension_version(extension_id=TICKETS, version="1.0.0")
        assert got == stored
    for token in (ISSUER_TOKEN, ADMIN_TOKEN):
        async with host.client(token) as runner:
            assert await runner.get_component(sha256=stored.component.sha256) == content

    (event,) = host.uploads()
    assert (event.actor, event.resource, event.outcome, event.namespace) == (
        "platform-admin",
        f"extension/{TICKETS}@1.0.0",
        "allowed",
        "",
    )
    assert event.details["sha256"] == stored.component.sha256
    assert event.details["size_bytes"] == str(len(content))
    assert json.loads(event.details["imports"]) == ["alga:extension/logging", WASI_ENV]
    assert json.loads(event.details["declared_capabilities"]) == ["cap:log.emit", "cap:storage.kv"]
    assert json.loads(event.details["limits"]) == {
        "fuel": 10**9,
        "memory_bytes": 64 << 20,
        "timeout_ms": 2_000,
    }


async def test_a_grpc_handler_version_has_its_address(host: ExtensionsHost) -> None:
    async with host.client() as admin:
        for address in ("handler.example.internal:50061", "127.0.0.1:50061", "[::1]:1"):
            stored = await admin.upload_extension_version(
                extension_id="com.example.poly", version=address, grpc_address=address
            )
            assert stored.WhichOneof("handler") == "grpc_address"
            assert stored.grpc_address == address
            assert not stored.HasField("component")
    assert host.uploads()[0].details["grpc_address"] == "handler.example.internal:50061"


async def test_the_same_upload_again_answers_the_stored_version(host: ExtensionsHost) -> None:
    content = component([("alga:extension/logging", LOGGING)])
    upload = {
        "extension_id": TICKETS,
        "version": "1.0.0",
        "declared_capabilities": ["cap:log.emit"],
    }
    async with host.client() as admin:
        first = await admin.upload_extension_version(component=content, **upload)
        again = await admin.upload_extension_version(component=content, **upload)
        assert again == first  # the stored one: same create_time
        assert len(host.uploads()) == 1  # nothing changed, nothing recorded

        other_bytes = component([("alga:extension/logging", LOGGING)], marker="other")
        for changed in (
            {**upload, "component": other_bytes},
            {**upload, "component": content, "declared_capabilities": ["cap:storage.kv"]},
            {**upload, "component": content, "limits": ExecutionLimitsSpec(timeout_ms=1)},
            {**upload, "grpc_address": "handler.example:50061"},
        ):
            refused = await _refused(admin.upload_extension_version(**changed))
            assert refused.code == grpc.StatusCode.ALREADY_EXISTS
            assert "a version never changes" in refused.details
        got = await admin.get_extension_version(extension_id=TICKETS, version="1.0.0")
    assert got == first


async def test_one_content_under_two_versions_is_stored_once(host: ExtensionsHost) -> None:
    content = component([("alga:extension/logging", LOGGING)])
    async with host.client() as admin:
        one = await admin.upload_extension_version(
            extension_id=TICKETS, version="1", component=content
        )
        two = await admin.upload_extension_version(
            extension_id="com.example.copy", version="2", component=content
        )
        assert two.component == one.component
        assert await admin.get_component(sha256=one.component.sha256) == content
    store = host.service.extensions.store
    ref = await store.component_ref(one.component.sha256)
    assert ref is not None
    assert ref.imports == ("alga:extension/logging",)


async def test_concurrent_uploads_of_one_version_agree(host: ExtensionsHost) -> None:
    content = component([("alga:extension/logging", LOGGING)])
    upload = {"extension_id": TICKETS, "version": "1.0.0", "component": content}
    async with host.client() as admin:
        answers = await asyncio.gather(
            *(admin.upload_extension_version(**upload) for _ in range(4))
        )
        assert all(a == answers[0] for a in answers)
        other = component([("alga:extension/logging", LOGGING)], marker="race")
        results = await asyncio.gather(
            admin.upload_extension_version(**{**upload, "version": "2.0.0"}),
            admin.upload_extension_version(**{**upload, "version": "2.0.0", "component": other}),
            return_exceptions=True,
        )
    refusals = [r for r in results if isinstance(r, ExtensionsError)]
    assert len(refusals) == 1, results
    assert refusals[0].code == grpc.StatusCode.ALREADY_EXISTS
    assert len(host.uploads()) == 2


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (b"", "is empty"),
        (b"garbage, not wasm", "not a WebAssembly binary"),
        (b"(component)", "WAT text is not accepted"),
        (bytes(wasmtime.wat2wasm("(module)")), "is a core WebAssembly module"),
        (b"\x00asm\x0d\x00\x01\x00\xff\xff", "does not compile as a WebAssembly component"),
        (component(handler=False), "does not export the function 'handler'"),
        (
            component([("alga:extension/logging", '(instance (export "debug" (func)))')]),
            "import 'alga:extension/logging' asks for 'debug'",
        ),
        (component([("evil:net/raw-socket", EMPTY)]), "import 'evil:net/raw-socket' is neither"),
        (component([("wasi:nn/graph@0.2.0", EMPTY)]), "import 'wasi:nn/graph@0.2.0' is not"),
        (component([("wasi:cli/environment", EMPTY)]), "import 'wasi:cli/environment' is not"),
        (component([("wasi:http/incoming-handler@0.2.9", EMPTY)]), "incoming-handler"),
        (component([("host-exec", "(func)")]), "import 'host-exec' is neither"),
        (
            component([("alga:extension/logging", "(func)")]),
            "import 'alga:extension/logging' must be an instance",
        ),
    ],
)
async def test_what_is_not_a_component_of_the_alga_world_is_refused_naming_why(
    host: ExtensionsHost, content: bytes, says: str
) -> None:
    async with host.client() as admin:
        refused = await _refused(
            admin.upload_extension_version(extension_id=TICKETS, version="1", component=content)
        )
        assert refused.code == grpc.StatusCode.INVALID_ARGUMENT
        assert set(refused.field_violations) == {"component"}
        assert says in refused.field_violations["component"]
        missing = await _refused(admin.get_extension_version(extension_id=TICKETS, version="1"))
        assert missing.code == grpc.StatusCode.NOT_FOUND
    if content[:4] == b"\x00asm" and content[4:8] != b"\x01\x00\x00\x00":
        # A component that compiled far enough to be judged: its refusal is audited.
        (event,) = host.uploads()
        assert event.outcome == "denied"
        assert says in event.details["reason"]
        assert event.details["sha256"] == hashlib.sha256(content).hexdigest()


async def test_every_allowed_interface_is_accepted(host: ExtensionsHost) -> None:
    wasi = [
        "wasi:cli/stdout@0.2.0",
        "wasi:clocks/wall-clock@0.2.12",
        "wasi:random/random@0.2.9",
        "wasi:io/streams@0.2.9",
        "wasi:filesystem/preopens@0.2.9",
        "wasi:sockets/tcp@0.2.9",
        "wasi:http/outgoing-handler@0.2.9",
        "wasi:http/types@0.2.9",
    ]
    alga = [
        f"alga:extension/{name}"
        for name in (
            "types", "context", "secrets", "http", "storage", "logging",
            "ui-proxy", "user", "user-v2", "clients", "services",
        )
    ]  # fmt: skip
    content = component([(name, EMPTY) for name in [*alga, *wasi]])
    async with host.client() as admin:
        stored = await admin.upload_extension_version(
            extension_id=TICKETS, version="1", component=content
        )
    assert list(stored.component.imports) == sorted([*alga, *wasi])


async def test_a_component_of_64_mib_is_taken_one_byte_more_is_not(host: ExtensionsHost) -> None:
    base = component([("alga:extension/logging", LOGGING)])
    async with host.client() as admin:
        largest = with_custom_section(base, MAX_COMPONENT_BYTES)
        stored = await admin.upload_extension_version(
            extension_id=TICKETS, version="big", component=largest
        )
        assert stored.component.size_bytes == MAX_COMPONENT_BYTES
        assert await admin.get_component(sha256=stored.component.sha256) == largest
        del largest
        refused = await _refused(
            admin.upload_extension_version(
                extension_id=TICKETS,
                version="too-big",
                component=with_custom_section(base, MAX_COMPONENT_BYTES + 1),
            )
        )
    assert refused.code == grpc.StatusCode.INVALID_ARGUMENT
    assert f"at most {MAX_COMPONENT_BYTES} bytes" in refused.field_violations["component"]


def _upload(**given: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {"extension_id": TICKETS, "version": "1", "grpc_address": "h:1"}
    fields.update(given)
    return fields


def _limits(**given: int) -> dict[str, Any]:
    return _upload(limits=ExecutionLimitsSpec(**given))


@pytest.mark.parametrize(
    ("upload", "field", "says"),
    [
        (_upload(extension_id=""), "extension_id", "required"),
        (_upload(extension_id="has space"), "extension_id", "1-256 of"),
        (_upload(version=""), "version", "required"),
        (_upload(version="1 0"), "version", "printable ASCII"),
        (_upload(version="v" * 65), "version", "64"),
        (_upload(declared_capabilities=["cap:log.emit", "cap:root"]),
         "declared_capabilities[1]", "unknown capability 'cap:root'"),
        (_limits(timeout_ms=300_001), "limits.timeout_ms", "300000"),
        (_limits(timeout_ms=-1), "limits.timeout_ms", "0"),
        (_limits(memory_bytes=1 << 32), "limits.memory_bytes", "4294967295"),
        (_limits(fuel=10**12 + 1), "limits.fuel", "1000000000000"),
        (_upload(grpc_address="no-port"), "grpc_address", "host:port"),
        (_upload(grpc_address=":50061"), "grpc_address", "host:port"),
        (_upload(grpc_address="h:0"), "grpc_address", "1-65535"),
        (_upload(grpc_address="h:65536"), "grpc_address", "1-65535"),
        (_upload(grpc_address="h:http"), "grpc_address", "1-65535"),
        (_upload(grpc_address="Bad_Host:1"), "grpc_address", "DNS name"),
        (_upload(grpc_address="http://h:1"), "grpc_address", ""),
        (_upload(grpc_address="[::1:1"), "grpc_address", ""),
    ],
)  # fmt: skip
async def test_bad_fields_are_refused_by_name(
    host: ExtensionsHost, upload: dict[str, Any], field: str, says: str
) -> None:
    async with host.client() as admin:
        refused = await _refused(admin.upload_extension_version(**upload))
    assert refused.code == grpc.StatusCode.INVALID_ARGUMENT
    assert field in refused.field_violations, refused.field_violations
    assert says in refused.field_violations[field]
    assert host.uploads() == []


async def test_an_upload_without_a_handler_is_refused_naming_it(host: ExtensionsHost) -> None:
    stub = extensions_pb2_grpc.ExtensionRegistryServiceStub(host.channel)
    request = pb.UploadExtensionVersionRequest(extension_id=TICKETS, version="1")
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.UploadExtensionVersion(
            request, metadata=(("authorization", f"Bearer {ADMIN_TOKEN}"),)
        )
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert caught.value.details() == "handler: give exactly one of component or grpc_address"


async def test_roles(host: ExtensionsHost) -> None:
    content = component([("alga:extension/logging", LOGGING)])
    async with host.client() as admin:
        stored = await admin.upload_extension_version(
            extension_id=TICKETS, version="1", component=content
        )
    sha = stored.component.sha256
    calls = {
        "upload": lambda c: c.upload_extension_version(
            extension_id=TICKETS, version="2", component=content
        ),
        "get": lambda c: c.get_extension_version(extension_id=TICKETS, version="1"),
        "list": lambda c: c.list_extension_versions(),
        "component": lambda c: c.get_component(sha256=sha),
    }
    allowed = {
        "upload": {ADMIN_TOKEN},
        "get": {ADMIN_TOKEN, READER_TOKEN, ISSUER_TOKEN},
        "list": {ADMIN_TOKEN, READER_TOKEN, ISSUER_TOKEN},
        "component": {ADMIN_TOKEN, ISSUER_TOKEN},
    }
    for name, call in calls.items():
        async with host.client(None) as anonymous:
            assert (await _refused(call(anonymous))).code == grpc.StatusCode.UNAUTHENTICATED
        async with host.client("not-a-known-token-0123456789") as stranger:
            assert (await _refused(call(stranger))).code == grpc.StatusCode.UNAUTHENTICATED
        for token in (READER_TOKEN, ISSUER_TOKEN, OTHER_TOKEN):
            if token in allowed[name]:
                continue
            async with host.client(token) as wrong:
                refused = await _refused(call(wrong))
                assert refused.code == grpc.StatusCode.PERMISSION_DENIED, (name, token)
    # Only the admin's upload of the first version was stored.
    assert [e.resource for e in host.uploads()] == [f"extension/{TICKETS}@1"]


async def test_list_pages_in_upload_order(host: ExtensionsHost) -> None:
    uploads = [(TICKETS if i % 2 == 0 else "com.example.other", f"{i}.0") for i in range(7)]
    async with host.client() as admin:
        for extension_id, version in uploads:
            await admin.upload_extension_version(
                extension_id=extension_id, version=version, grpc_address="h:1"
            )
    async with host.client(READER_TOKEN) as reader:
        seen: list[tuple[str, str]] = []
        token = ""
        pages = 0
        while True:
            page = await reader.list_extension_versions(page_size=3, page_token=token)
            seen += [(v.extension_id, v.version) for v in page.extension_versions]
            pages += 1
            token = page.next_page_token
            if not token:
                break
        assert seen == uploads
        assert pages == 3
        only = [v.version async for v in reader.iter_extension_versions(extension_id=TICKETS)]
        assert only == ["0.0", "2.0", "4.0", "6.0"]
        first = await reader.list_extension_versions(extension_id=TICKETS, page_size=1)
        assert first.next_page_token
        # A token of one query is no good for another.
        refused = await _refused(
            reader.list_extension_versions(
                extension_id="com.example.other", page_token=first.next_page_token
            )
        )
        assert refused.code == grpc.StatusCode.INVALID_ARGUMENT
        bad = await _refused(reader.list_extension_versions(extension_id="has space"))
        assert "extension_id" in bad.field_violations
        none = await reader.list_extension_versions(extension_id="com.example.none")
        assert none.extension_versions == ()
        assert not none.next_page_token


async def test_unknown_versions_and_hashes(host: ExtensionsHost) -> None:
    async with host.client() as admin:
        missing = await _refused(admin.get_extension_version(extension_id=TICKETS, version="9"))
        assert missing.code == grpc.StatusCode.NOT_FOUND
        unknown = await _refused(admin.get_component(sha256="0" * 64))
        assert unknown.code == grpc.StatusCode.NOT_FOUND
        for bad in ("", "ABC", "0" * 63, "0" * 63 + "G"):
            refused = await _refused(admin.get_component(sha256=bad))
            assert refused.code == grpc.StatusCode.INVALID_ARGUMENT, bad
            assert "sha256" in refused.field_violations


async def test_installs_pick_an_uploaded_version_once_the_extension_has_any(
    host: ExtensionsHost,
) -> None:
    names = {"tenant": "acme", "extension_id": TICKETS}
    async with host.installs() as installs:
        # No version uploaded yet: any version may be registered (and the runner
        # refuses to run it until it is uploaded).
        early = await installs.register_install(install_id="early", version="0.9", **names)
    async with host.client() as admin:
        await admin.upload_extension_version(
            extension_id=TICKETS, version="1.0", grpc_address="h:1"
        )
    async with host.installs() as installs:
        refused = await _refused_installs(
            installs.register_install(install_id="late", version="2.0", **names)
        )
        assert refused.code == grpc.StatusCode.FAILED_PRECONDITION
        assert "version: extension 'com.example.tickets' has no version '2.0'" in refused.details
        late = await installs.register_install(install_id="late", version="1.0", **names)
        assert late.version == "1.0"
        # A change that keeps the version keeps working for the early install...
        early = await installs.update_install(
            tenant="acme",
            install_id="early",
            revision=early.revision,
            granted_capabilities=["cap:log.emit"],
        )
        assert early.version == "0.9"
        # ... but moving it needs a version the registry holds.
        moved = await _refused_installs(
            installs.update_install(
                tenant="acme", install_id="early", revision=early.revision, version="3.0"
            )
        )
        assert moved.code == grpc.StatusCode.FAILED_PRECONDITION
        early = await installs.update_install(
            tenant="acme", install_id="early", revision=early.revision, version="1.0"
        )
        assert early.version == "1.0"
        # Another extension with nothing uploaded is not held to it.
        free = await installs.register_install(
            tenant="acme", install_id="free", extension_id="com.example.none", version="x"
        )
        assert free.version == "x"


async def _refused_installs(call: Coroutine[Any, Any, Any]) -> InstallsError:
    with pytest.raises(InstallsError) as caught:
        await call
    return caught.value
