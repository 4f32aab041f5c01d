"""Authorizer over a real gRPC call: missing, malformed, unknown, wrong-role and good tokens."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import AsyncIterator

import grpc
import pytest
from pydantic import ValidationError

from extplane.runtime import auth
from extplane.runtime.auth import AUDIT_READER, METERING_READER, Authorizer, AuthSettings
from tests.loopback import runtime_server

READER = "reader-token-0123456789"
AUDITOR = "auditor-token-0123456789"
ADMIN = "admin-token-0123456789ab"
SETTINGS = AuthSettings.model_validate(
    {
        "tokens": [
            {"name": "billing", "token": READER, "roles": [METERING_READER]},
            {
                "name": "compliance",
                "sha256": hashlib.sha256(AUDITOR.encode()).hexdigest(),
                "roles": [AUDIT_READER],
            },
            {"name": "ops", "token": ADMIN, "roles": ["*"]},
        ]
    }
)
METHOD = "/test.Guarded/Read"


@pytest.fixture
async def target() -> AsyncIterator[str]:
    authorizer = Authorizer(SETTINGS)

    async def read(request: bytes, context: grpc.aio.ServicerContext[bytes, bytes]) -> bytes:
        return (await authorizer.require(context, request.decode())).encode()

    server = runtime_server()
    server.add_generic_rpc_handlers(
        [
            grpc.method_handlers_generic_handler(
                "test.Guarded", {"Read": grpc.unary_unary_rpc_method_handler(read)}
            )
        ]
    )
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    yield f"127.0.0.1:{port}"
    await server.stop(None)


async def _call(target: str, role: str, authorization: str | None) -> tuple[grpc.StatusCode, str]:
    metadata = () if authorization is None else (("authorization", authorization),)
    async with grpc.aio.insecure_channel(target) as channel:
        call = channel.unary_unary(METHOD)
        try:
            reply = await call(role.encode(), metadata=metadata)
        except grpc.aio.AioRpcError as error:
            return error.code(), error.details() or ""
        assert isinstance(reply, bytes)
        return grpc.StatusCode.OK, reply.decode()


@pytest.mark.parametrize(
    ("role", "authorization", "expected"),
    [
        (METERING_READER, None, (grpc.StatusCode.UNAUTHENTICATED, "missing bearer token")),
        (
            METERING_READER,
            f"Basic {READER}",
            (grpc.StatusCode.UNAUTHENTICATED, "authorization must be 'Bearer <token>'"),
        ),
        (METERING_READER, "Bearer nope", (grpc.StatusCode.UNAUTHENTICATED, "unknown bearer token")),
        (
            AUDIT_READER,
            f"Bearer {READER}",
            (grpc.StatusCode.PERMISSION_DENIED, "token 'billing' lacks role 'audit.reader'"),
        ),
        (METERING_READER, f"Bearer {READER}", (grpc.StatusCode.OK, "billing")),
        (METERING_READER, f"bearer  {READER} ", (grpc.StatusCode.OK, "billing")),
        (AUDIT_READER, f"Bearer {AUDITOR}", (grpc.StatusCode.OK, "compliance")),
        (AUDIT_READER, f"Bearer {ADMIN}", (grpc.StatusCode.OK, "ops")),
    ],
)
async def test_roles_are_enforced(
    target: str, role: str, authorization: str | None, expected: tuple[grpc.StatusCode, str]
) -> None:
    assert await _call(target, role, authorization) == expected


def test_no_configured_token_refuses_everyone_and_says_so(
    caplog: pytest.LogCaptureFixture,
) -> None:
    auth._warn_no_tokens.cache_clear()  # logged once per process; start afresh
    with caplog.at_level(logging.WARNING, logger="extplane.runtime.auth"):
        authorizer = Authorizer(AuthSettings())
        Authorizer(AuthSettings())
    code, _ = authorizer.principal(f"Bearer {READER}", METERING_READER)
    assert code is grpc.StatusCode.UNAUTHENTICATED
    assert caplog.text.count("EXTPLANE_AUTH__TOKENS") == 1


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"name": "x", "roles": ["a"]}, "exactly one of token and sha256"),
        ({"name": "x", "token": "short", "roles": ["a"]}, "at least 16"),
        ({"name": "x", "sha256": "ABC", "roles": ["a"]}, "sha256"),
        ({"name": "x", "token": READER, "roles": []}, "roles"),
    ],
)
def test_bad_token_entries_are_refused_naming_the_problem(
    entry: dict[str, object], message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        AuthSettings.model_validate({"tokens": [entry]})


def test_the_secret_never_appears_in_the_settings_repr() -> None:
    assert READER not in repr(SETTINGS)
