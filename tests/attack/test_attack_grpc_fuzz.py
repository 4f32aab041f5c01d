"""A protobuf fuzz of every RPC of every gRPC server of the running suite.

The methods are found by server reflection on `extplane up` (health and
reflection included), so a new service is covered without an edit here. Each
method gets each of its fields at each edge (see `proto_edges`), then
plausible, hostile, field-mutated and byte-mutated requests, edited page
tokens and plain garbage (see `proto_strategies`) with a fixed seed and a
random one (printed), plus one request over the server's message limit. No answer may be
UNKNOWN, INTERNAL, DATA_LOSS or UNAVAILABLE or name a Python class, every call
must be answered in time, and every server must still be SERVING afterwards.

Failures are collected rather than shrunk (each probe is a network call), one
per method, code and message, with the smallest request that showed it.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

import grpc
import pytest
from google.protobuf import descriptor_pool, text_format
from google.protobuf.descriptor import Descriptor, MethodDescriptor
from google.protobuf.message_factory import GetMessageClass
from google.rpc.error_details_pb2 import BadRequest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
    ProtoReflectionDescriptorDatabase,
)
from grpc_status import rpc_status
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st
from proto_edges import Judge, edge_cases, valid_base
from proto_strategies import requests, with_page_tokens

from tests.attack.live_suite import GRPC_SERVICES, LiveSuite, live_suite

FIXED_SEED = 20261202
EXAMPLES_PER_METHOD_AND_SEED = 40
CALL_TIMEOUT_S = 20.0
# Past gRPC's default 4 MiB receive limit.
OVERSIZED = b"\x0a" + b"\xff" * 5 * 1024 * 1024
# A server's own failures. UNAVAILABLE from a serving server means the input
# broke what stands behind it (a store), which a client would retry forever.
FORBIDDEN = frozenset(
    {
        grpc.StatusCode.UNKNOWN,
        grpc.StatusCode.INTERNAL,
        grpc.StatusCode.DATA_LOSS,
        grpc.StatusCode.UNAVAILABLE,
    }
)
REPRO_BYTES = 512

pytestmark = pytest.mark.timeout(900)


@dataclass(frozen=True)
class Method:
    target: str
    descriptor: MethodDescriptor

    @property
    def path(self) -> str:
        return f"/{self.descriptor.containing_service.full_name}/{self.descriptor.name}"


@dataclass
class Findings:
    calls: int = 0
    codes: Counter[str] = field(default_factory=Counter)
    # (method path, code, details) -> (what the request was, the smallest request)
    problems: dict[tuple[str, str, str], tuple[str, bytes]] = field(default_factory=dict)

    def record(self, path: str, code: str, details: str, label: str, raw: bytes) -> None:
        key = (path, code, details[:200])
        known = self.problems.get(key)
        if known is None or len(raw) < len(known[1]):
            self.problems[key] = (label, raw)


@pytest.fixture(scope="module")
def suite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveSuite]:
    with live_suite(tmp_path_factory.mktemp("attack-grpc")) as running:
        yield running


def discover(target: str) -> list[Method]:
    with grpc.insecure_channel(target) as channel:
        database = ProtoReflectionDescriptorDatabase(channel)
        pool = descriptor_pool.DescriptorPool(database)
        return [
            Method(target, method)
            for name in database.get_services()
            for method in pool.FindServiceByName(name).methods
        ]


def _forbidden(code: grpc.StatusCode, details: str) -> bool:
    return code in FORBIDDEN or "<class" in details or "Traceback" in details


Metadata = tuple[tuple[str, str], ...]


def call(channel: grpc.Channel, method: Method, raw: bytes, metadata: Metadata) -> tuple[str, str]:
    """The status code and message the server answered `raw` with."""
    descriptor = method.descriptor
    options = {"timeout": CALL_TIMEOUT_S, "metadata": metadata}
    try:
        if descriptor.client_streaming:
            multi = channel.stream_stream(method.path, None, None)
            answers = multi(iter([raw, raw]), **options)
            for _ in answers:  # reflection answers each request, then ends
                pass
        elif descriptor.server_streaming:
            stream = channel.unary_stream(method.path, None, None)
            answers = stream(raw, **options)
            # The first answer shows how the request was taken; a watch never ends.
            next(answers, None)
            answers.cancel()
        else:
            channel.unary_unary(method.path, None, None)(raw, **options)
    except grpc.RpcError as error:
        code: grpc.StatusCode = error.code()  # type: ignore[attr-defined]
        if code is grpc.StatusCode.CANCELLED and descriptor.server_streaming:
            return "OK", ""  # our own cancel after the first answer
        return code.name, error.details() or ""  # type: ignore[attr-defined]
    return "OK", ""


def violated_fields(error: grpc.RpcError) -> list[str]:
    status = rpc_status.from_call(error)  # type: ignore[arg-type]
    named: list[str] = []
    for detail in status.details if status is not None else ():
        bad = BadRequest()
        if detail.Unpack(bad):
            named += [violation.field for violation in bad.field_violations]
    return named


def judge_for(channel: grpc.Channel, method: Method, metadata: Metadata) -> Judge:
    """Asks the server whether a request passes its checks, for `valid_base`."""

    def judge(raw: bytes) -> list[str] | None:
        if method.descriptor.client_streaming or method.descriptor.server_streaming:
            return None  # the edges go out on top of the plausible values as they are
        try:
            channel.unary_unary(method.path, None, None)(
                raw, timeout=CALL_TIMEOUT_S, metadata=metadata
            )
        except grpc.RpcError as error:
            return violated_fields(error) or None
        return None

    return judge


def issued_tokens(channel: grpc.Channel, method: Method, metadata: Metadata) -> list[str]:
    """Page tokens of a list RPC (one with `page_size`, `page_token` and
    `next_page_token`), from a first page of one item."""
    request_type, response_type = method.descriptor.input_type, method.descriptor.output_type
    paged = {"page_size", "page_token"} <= set(request_type.fields_by_name)
    if not paged or "next_page_token" not in response_type.fields_by_name:
        return []
    first = GetMessageClass(request_type)(page_size=1).SerializeToString()
    try:
        raw = channel.unary_unary(method.path, None, None)(
            first, timeout=CALL_TIMEOUT_S, metadata=metadata
        )
    except grpc.RpcError:
        return []
    token: str = GetMessageClass(response_type).FromString(raw).next_page_token
    return [token] if token else []


def probe(
    channel: grpc.Channel,
    method: Method,
    findings: Findings,
    seeds: list[int],
    metadata: Metadata,
) -> None:
    """`metadata` goes with every call but the tokenless ones the fuzz mixes in."""
    request_type: Descriptor = method.descriptor.input_type
    issued = issued_tokens(channel, method, metadata)
    strategy = requests(request_type)
    if issued:
        strategy = strategy | with_page_tokens(request_type, issued)

    def one(raw: bytes, token: bool, label: str = "generated") -> None:
        code, details = call(channel, method, raw, metadata if token else ())
        findings.calls += 1
        findings.codes[code] += 1
        if _forbidden(grpc.StatusCode[code], details) or code == "DEADLINE_EXCEEDED":
            findings.record(method.path, code, details, label, raw)

    one(OVERSIZED, True, "over the message limit")
    base = valid_base(request_type, judge_for(channel, method, metadata))
    for label, raw in edge_cases(request_type, base):
        one(raw, True, label)
    for chosen in seeds:

        @seed(chosen)
        @settings(
            max_examples=EXAMPLES_PER_METHOD_AND_SEED,
            deadline=None,
            database=None,
            phases=[Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(raw=strategy, token=st.integers(0, 7).map(bool))
        def fuzz(raw: bytes, token: bool) -> None:
            one(raw, token)

        fuzz()


def serving(target: str, names: list[str]) -> dict[str, str]:
    with grpc.insecure_channel(target) as channel:
        health = health_pb2_grpc.HealthStub(channel)
        return {
            name: health_pb2.HealthCheckResponse.ServingStatus.Name(
                health.Check(health_pb2.HealthCheckRequest(service=name), timeout=10).status
            )
            for name in names
        }


def served_names(methods: list[Method], target: str) -> list[str]:
    """The names health answers for at `target`: the server's own and its services'."""
    names = {m.descriptor.containing_service.full_name for m in methods if m.target == target}
    return ["", *sorted(name for name in names if not name.startswith("grpc."))]


def describe(path: str, request_type: Descriptor | None, raw: bytes) -> str:
    shown = raw.hex() if len(raw) <= REPRO_BYTES else f"{raw[:64].hex()}... ({len(raw)} bytes)"
    parsed = ""
    if request_type is not None:
        try:
            message = GetMessageClass(request_type).FromString(raw)
            parsed = text_format.MessageToString(message, as_one_line=True)[:300]
        except Exception:
            parsed = "(does not parse)"
    return f"{path} bytes={shown} as={parsed}"


def test_no_rpc_answers_unknown_or_internal_and_every_server_keeps_serving(
    suite: LiveSuite,
) -> None:
    seeds = [FIXED_SEED, random.SystemRandom().randrange(2**31)]
    print(f"gRPC fuzz seeds: {seeds}")
    running = suite.running
    targets = {name: running.grpc_target(name) for name in GRPC_SERVICES}
    methods = [method for target in targets.values() for method in discover(target)]
    services = {m.descriptor.containing_service.full_name for m in methods}
    # Reflection found the suite's own services, not only health and reflection.
    assert {
        "orloj.extensions.v1.MeteringSink",
        "orloj.extensions.v1.AuditQueryService",
        "extplane.admin.v1.InstallRegistryService",
        "alga.extension.v1.StorageService",
    } <= services

    findings = Findings()
    types = {method.path: method.descriptor.input_type for method in methods}
    for method in methods:
        with grpc.insecure_channel(
            method.target, options=[("grpc.max_send_message_length", 16 * 1024 * 1024)]
        ) as channel:
            probe(channel, method, findings, seeds, suite.metadata())

    print(f"gRPC fuzz: {findings.calls} calls over {len(methods)} methods: {findings.codes}")
    for (path, code, details), (label, raw) in sorted(findings.problems.items()):
        print(f"  {code} {details!r} for {label}\n    {describe(path, types.get(path), raw)}")
    still = {
        name: serving(target, served_names(methods, target)) for name, target in targets.items()
    }
    assert running.process.poll() is None, "the suite stopped under the fuzz"
    assert all(set(states.values()) == {"SERVING"} for states in still.values()), still
    assert sorted(findings.problems) == []
