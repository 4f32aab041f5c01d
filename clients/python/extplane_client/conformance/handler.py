"""The HandlerService contract (the guest-exported WIT `handler`, over gRPC).

The WIT function cannot fail: whatever well-formed request it is given, an
extension answers an HTTP status (a gRPC error means the extension itself
failed). Round trips of status, headers and body need a route whose answer
is known: an implementation declares an echo route (`echo_path`) for that,
and without one those checks are unverifiable.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from extplane_client.conformance._model import (
    Check,
    Clause,
    Finding,
    Level,
    failed,
    passed,
    unverifiable,
)
from extplane_client.conformance._probe import Answer, Method, Probe, one_line
from extplane_client.conformance.liveness import liveness_checks
from extplane_protos.alga.extension.v1 import handler_pb2 as pb
from extplane_protos.alga.extension.v1 import types_pb2 as types

SECTION = "docs/conformance.md#the-handler-contract"
EXECUTE = Method("/alga.extension.v1.HandlerService/Execute", pb.ExecuteRequest, pb.ExecuteResponse)
LARGE_BODY = 1024 * 1024
ECHO_HEADERS = (
    ("x-conformance-echo", "1"),
    ("x-conformance-echo", "2"),
    ("x-conformance-text", "ünïcödé ✓"),
)
# RFC 9110 `token` for names; a value must not hold CR, LF or NUL (response splitting).
_TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
_BAD_VALUE = re.compile(r"[\r\n\x00]")

Edit = Callable[[pb.ExecuteRequest], None]


def context(*, minimal: bool = False) -> types.ContextData:
    if minimal:
        return types.ContextData(tenant_id="conformance-tenant", extension_id="conformance")
    return types.ContextData(
        request_id="conformance-request",
        tenant_id="conformance-tenant",
        extension_id="conformance",
        install_id="conformance-install",
        version_id="1.0.0",
    )


def request(
    method: str = "GET",
    path: str = "/",
    *,
    headers: Sequence[tuple[str, str]] = (),
    body: bytes | None = None,
) -> pb.ExecuteRequest:
    http = types.HttpRequest(
        method=method,
        url=f"https://extension.invalid{path}",
        headers=[types.HttpHeader(name=name, value=value) for name, value in headers],
    )
    if body is not None:
        http.body = body
    return pb.ExecuteRequest(context=context(), http=http)


@dataclass(frozen=True)
class Shape:
    """A well-formed request the handler must answer with an HTTP status."""

    name: str
    what: str
    build: Callable[[Probe], pb.ExecuteRequest]
    level: Level = Level.SEED


def _minimal_context(probe: Probe) -> pb.ExecuteRequest:
    built = request()
    built.context.CopyFrom(context(minimal=True))
    return built


SHAPES = (
    Shape("get", "GET / with every context field", lambda probe: request()),
    Shape("minimal_context", "GET / with only tenant_id and extension_id", _minimal_context),
    Shape(
        "binary_body",
        "POST with every byte value in the body",
        lambda probe: request("POST", body=bytes(range(256))),
    ),
    Shape("empty_body", "POST with an empty (set) body", lambda probe: request("POST", body=b"")),
    Shape("no_body", "POST with no body", lambda probe: request("POST")),
    Shape(
        "repeated_headers",
        "a header repeated, and a non-ASCII header value",
        lambda probe: request(headers=ECHO_HEADERS),
    ),
    Shape(
        "unknown_route",
        "GET of a route no extension has",
        lambda probe: request(path=f"/{probe.fresh('no-such-route')}"),
    ),
    Shape(
        "large_body",
        f"POST with a {LARGE_BODY // 1024} KiB body",
        lambda probe: request("POST", body=b"x" * LARGE_BODY),
        Level.FULL,
    ),
)


def _is_http_answer(answer: Answer[pb.ExecuteResponse]) -> bool:
    return answer.response is not None and 100 <= answer.response.status <= 599


def answers(shape: Shape) -> Check:
    async def probe_(probe: Probe) -> Finding:
        sent = shape.build(probe)
        answer = await probe.call(EXECUTE, sent)
        if _is_http_answer(answer):
            return passed(f"HTTP {answer.response.status}")  # type: ignore[union-attr]
        return failed(
            "a well-formed request must be answered with an HTTP status 100-599, not a gRPC error",
            sent=EXECUTE.sent(sent),
            got=answer.describe(),
        )

    clause = Clause(
        f"the handler answers every well-formed request with an HTTP status: {shape.what}", SECTION
    )
    return Check(f"handler.answers.{shape.name}", shape.level, clause, probe_)


async def _headers_valid(probe: Probe) -> Finding:
    sent = request()
    answer = await probe.call(EXECUTE, sent)
    if answer.response is None:
        return failed("no response to check", sent=EXECUTE.sent(sent), got=answer.describe())
    bad = [
        f"{header.name!r}: {header.value!r}"
        for header in answer.response.headers
        if not _TOKEN.match(header.name) or _BAD_VALUE.search(header.value)
    ]
    if bad:
        return failed(
            f"invalid response headers: {', '.join(bad)}",
            sent=EXECUTE.sent(sent),
            got=one_line(answer.response),
        )
    return passed()


async def _echo(
    probe: Probe, body: bytes | None
) -> tuple[pb.ExecuteRequest, Answer[pb.ExecuteResponse]] | None:
    path = probe.settings.get("echo_path")
    if not path:
        return None
    sent = request("POST", path, headers=ECHO_HEADERS, body=body)
    return sent, await probe.call(EXECUTE, sent)


NO_ECHO = "no echo route declared (echo_path / --echo-path): the round trip cannot be observed"


def _echo_check(
    name: str, text: str, judge: Callable[[pb.ExecuteRequest, pb.ExecuteResponse], str]
) -> Check:
    """`judge` names what the echo got wrong ('' = right)."""

    async def probe_(probe: Probe) -> Finding:
        for body in (bytes(range(256)), b"", None):
            exchange = await _echo(probe, body)
            if exchange is None:
                return unverifiable(NO_ECHO)
            sent, answer = exchange
            if answer.response is None or answer.response.status != 200:
                return failed(
                    "the echo route must answer 200", sent=EXECUTE.sent(sent), got=answer.describe()
                )
            problem = judge(sent, answer.response)
            if problem:
                return failed(problem, sent=EXECUTE.sent(sent), got=one_line(answer.response))
        return passed()

    return Check(f"handler.echo.{name}", Level.FULL, Clause(text, SECTION), probe_)


def _body_bytes(sent: pb.ExecuteRequest, got: pb.ExecuteResponse) -> str:
    return "" if got.body == sent.http.body else "the body came back changed"


def _body_presence(sent: pb.ExecuteRequest, got: pb.ExecuteResponse) -> str:
    if sent.http.HasField("body") == got.HasField("body"):
        return ""
    return "an unset body must stay unset and an empty one empty (option<list<u8>>)"


def _header_order(sent: pb.ExecuteRequest, got: pb.ExecuteResponse) -> str:
    wanted = [(h.name, h.value) for h in sent.http.headers]
    echoed = [
        (h.name.lower(), h.value)
        for h in got.headers
        if h.name.lower().startswith("x-conformance-")
    ]
    return (
        ""
        if echoed == wanted
        else f"headers came back as {echoed}, sent {wanted} (order and repeats kept)"
    )


def _good(probe: Probe) -> tuple[Method[Any, Any], pb.ExecuteRequest]:
    return EXECUTE, request()


CHECKS = (
    *liveness_checks(
        "handler", lambda probe: (EXECUTE, request()), "alga.extension.v1.HandlerService"
    ),
    *(answers(shape) for shape in SHAPES),
    Check(
        "handler.response_headers_valid",
        Level.SEED,
        Clause("response header names are HTTP tokens and values hold no CR, LF or NUL", SECTION),
        _headers_valid,
    ),
    _echo_check(
        "body_bytes", "the response body is bytes, returned exactly (every byte value)", _body_bytes
    ),
    _echo_check(
        "body_presence", "an unset body differs from an empty one, both ways", _body_presence
    ),
    _echo_check(
        "headers_in_order", "headers are a list: order and repeated names survive", _header_order
    ),
)
