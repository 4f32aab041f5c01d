"""Upload requests to checked values, refusing every bad field by name.

`bounds.check` has already enforced what the proto declares (presence,
lengths, control characters, the limits' ranges); this adds the shapes of the
names, that each declared capability is one a host interface requires, that
exactly one handler is given, and a polyglot handler's `host:port`. The
component's bytes are checked apart (`extplane.runner.component_check`): that
compiles them, which is slow.
"""

from __future__ import annotations

import ipaddress
import re

from extplane.host.extensions.model import Limits
from extplane.host.installs import shapes
from extplane.host.installs.validation import Violations
from extplane.runtime import FieldViolation
from extplane_protos.extplane.admin.v1 import extensions_pb2 as pb

_PORT = re.compile(r"[0-9]{1,5}")
_DNS_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)")
MAX_DECLARED_CAPABILITIES = 64


def grpc_address_problem(address: str) -> str | None:
    """`host:port`: a DNS name, an IPv4 address or a bracketed IPv6 one, and a port."""
    host, colon, port = address.rpartition(":")
    if not colon or not host:
        return "must be host:port (e.g. handler.example.internal:50061)"
    if not (_PORT.fullmatch(port) and 1 <= int(port) <= 65535):
        return "port must be 1-65535"
    return _host_problem(host)


def _host_problem(host: str) -> str | None:
    if host.startswith("[") and host.endswith("]"):
        try:
            ipaddress.IPv6Address(host[1:-1])
        except ValueError:
            return f"{host} is not an IPv6 address"
        return None
    try:
        ipaddress.IPv4Address(host)
    except ValueError:
        pass
    else:
        return None
    labels = host.split(".")
    # A last label of digits only is a malformed IPv4 address, not a name.
    if (
        len(host) > 253
        or not all(_DNS_LABEL.fullmatch(label) for label in labels)
        or labels[-1].isdigit()
    ):
        return "host must be a lower-case DNS name or an IP address ([...] for IPv6)"
    return None


def check_extension_id(extension_id: str) -> None:
    problems = Violations()
    problems.check("extension_id", extension_id, shapes.extension_id_problem)
    problems.raise_any()


def check_names(extension_id: str, version: str) -> None:
    problems = Violations()
    problems.check("extension_id", extension_id, shapes.extension_id_problem)
    problems.check("version", version, shapes.version_problem)
    problems.raise_any()


def _capabilities(problems: Violations, values: list[str]) -> tuple[str, ...]:
    problems.at_most("declared_capabilities", values, MAX_DECLARED_CAPABILITIES)
    problems.each("declared_capabilities", values, shapes.capability_problem)
    return tuple(sorted(set(values)))


def limits(given: pb.ExecutionLimitsSpec) -> Limits:
    return Limits(given.timeout_ms, given.memory_bytes, given.fuel)


def uploaded(request: pb.UploadExtensionVersionRequest) -> tuple[tuple[str, ...], Limits]:
    """The request's declared capabilities (sorted, each once) and limits;
    InvalidRequestError naming every bad field, the handler's included."""
    problems = Violations()
    problems.check("extension_id", request.extension_id, shapes.extension_id_problem)
    problems.check("version", request.version, shapes.version_problem)
    capabilities = _capabilities(problems, list(request.declared_capabilities))
    handler = request.WhichOneof("handler")
    if handler is None:
        problems.found.append(
            FieldViolation("handler", "give exactly one of component or grpc_address")
        )
    elif handler == "grpc_address":
        problems.check("grpc_address", request.grpc_address, grpc_address_problem)
    problems.raise_any()
    return capabilities, limits(request.limits)
