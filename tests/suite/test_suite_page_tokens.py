"""Every list RPC of the suite refuses a page token it did not issue: INVALID_ARGUMENT
naming `page_token`, over gRPC and as HTTP 400 through the gateway; never a crash.

The list RPCs are found in the descriptors (a request with a `page_token`
field), so a new service's lists are covered without editing this test.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import httpx
import pytest
import pytest_asyncio
from google.protobuf import descriptor_pool, message_factory
from google.protobuf.descriptor import MethodDescriptor
from google.rpc.error_details_pb2 import BadRequest
from grpc_status import rpc_status

from extplane.config import Settings
from extplane.gateway.registry import load_bindings
from extplane.runtime import Metrics
from extplane.runtime.page_tokens import PageTokens
from extplane.suite import GRPC_SERVICES, Suite, ephemeral_ports

TOKEN = "reader-token-0123456789"
AUTH = {"tokens": [{"name": "reader", "token": TOKEN, "roles": ["*"]}]}
METADATA = (("authorization", f"Bearer {TOKEN}"),)
FORGED = PageTokens(b"f" * 32).issue("any.list", [], (1, 2))
BAD_TOKENS = {
    "forged": FORGED,
    "edited": FORGED[:-3] + ("A" if FORGED[-3] != "A" else "B") + FORGED[-2:],
    "truncated": FORGED[:10],
    "garbage": "%%%not-a-token%%%",
    "huge": "A" * 5000,
}


def _list_methods() -> list[MethodDescriptor]:
    pool = descriptor_pool.Default()
    methods = []
    for entry in GRPC_SERVICES.values():
        for service_name in entry.serves:
            service = pool.FindServiceByName(service_name)
            methods += [m for m in service.methods if "page_token" in m.input_type.fields_by_name]
    return methods


LIST_METHODS = _list_methods()
# One suite for the module: every test runs on its event loop.
on_the_suite_loop = pytest.mark.asyncio(loop_scope="module")


def test_the_suite_has_list_methods_to_check() -> None:
    names = {method.full_name for method in LIST_METHODS}
    assert {
        "orloj.extensions.v1.MeteringQueryService.ListMeteringEvents",
        "orloj.extensions.v1.AuditQueryService.ListAuditEvents",
        "orloj.extensions.v1.AuditQueryService.ListAuditCheckpoints",
    } <= names


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def suite(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Suite]:
    data_dir: Path = tmp_path_factory.mktemp("data")
    settings = Settings.model_validate(
        {
            "data_dir": data_dir,
            "auth": AUTH,
            "metrics": {"enabled": False},
            "gateway": {"port": 0},
            **ephemeral_ports(),
        }
    )
    async with Suite(settings, metrics=Metrics()) as running:
        yield running


def _page_token_violation(error: grpc.aio.AioRpcError) -> list[str]:
    status = rpc_status.from_call(error)  # type: ignore[arg-type]
    assert status is not None
    fields = []
    for detail in status.details:
        bad = BadRequest()
        if detail.Unpack(bad):
            fields += [violation.field for violation in bad.field_violations]
    return fields


@on_the_suite_loop
@pytest.mark.parametrize("kind", BAD_TOKENS)
@pytest.mark.parametrize("method", LIST_METHODS, ids=lambda m: m.name)
async def test_a_bad_token_is_invalid_argument_over_grpc(
    suite: Suite, method: MethodDescriptor, kind: str
) -> None:
    request_class = message_factory.GetMessageClass(method.input_type)
    response_class = message_factory.GetMessageClass(method.output_type)
    service = method.containing_service.full_name
    server = next(s for s in suite.servers.values() if service in s.definition.service_names)
    async with grpc.aio.insecure_channel(server.address) as channel:
        call = channel.unary_unary(
            f"/{service}/{method.name}",
            request_serializer=lambda message: message.SerializeToString(),
            response_deserializer=response_class.FromString,
        )
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await call(request_class(page_token=BAD_TOKENS[kind]), metadata=METADATA, timeout=10)

    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert _page_token_violation(refused.value) == ["page_token"]


def _http_routes() -> list[tuple[MethodDescriptor, str]]:
    listed = {method.full_name for method in LIST_METHODS}
    return [
        (binding.method, binding.template.source)
        for binding in load_bindings()
        if binding.method.full_name in listed and binding.http_method == "GET"
    ]


@on_the_suite_loop
@pytest.mark.parametrize(("method", "path"), _http_routes(), ids=lambda v: getattr(v, "name", v))
async def test_a_forged_token_is_400_through_the_gateway(
    suite: Suite, method: MethodDescriptor, path: str
) -> None:
    assert suite.gateway is not None
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{suite.gateway.port}") as client:
        answer = await client.get(
            path,
            params={"page_token": FORGED},
            headers={"authorization": f"Bearer {TOKEN}"},
        )

    assert answer.status_code == 400
    body = answer.json()
    assert body["code"] == grpc.StatusCode.INVALID_ARGUMENT.value[0]
    assert "page_token" in body["message"]
