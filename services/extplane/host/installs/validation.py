"""Requests to install values, refusing every bad field by name.

`bounds.check` has already enforced what the protos declare (presence,
lengths, control characters, uniqueness, integer ranges); this adds the
shapes and the rules across fields, and fills in the limits' defaults.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from extplane.host.installs import shapes
from extplane.host.installs.model import Limits, Route, Settings
from extplane.host.secrets.names import secret_key_problem
from extplane.runtime import FieldViolation, InvalidRequestError
from extplane_protos.extplane.admin.v1 import installs_pb2 as pb

Problem = Callable[[str], str | None]


class Violations:
    """Collects every problem of one request, raised together."""

    def __init__(self) -> None:
        self.found: list[FieldViolation] = []

    def check(self, field: str, value: str, problem: Problem) -> None:
        why = problem(value)
        if why is not None:
            self.found.append(FieldViolation(field, why))

    def each(self, field: str, values: Sequence[str], problem: Problem) -> None:
        for index, value in enumerate(values):
            self.check(f"{field}[{index}]", value, problem)

    def at_most(self, field: str, values: Sequence[object], most: int) -> None:
        if len(values) > most:
            self.found.append(FieldViolation(field, f"at most {most} entries"))

    def raise_any(self) -> None:
        if self.found:
            raise InvalidRequestError(self.found)


def check_names(tenant: str, install_id: str) -> None:
    """The tenant and install id of any request that names an install."""
    problems = Violations()
    problems.check("tenant", tenant, shapes.id_problem)
    problems.check("install_id", install_id, shapes.id_problem)
    problems.raise_any()


def _capabilities(problems: Violations, field: str, values: Sequence[str]) -> tuple[str, ...]:
    problems.each(field, values, shapes.capability_problem)
    return tuple(sorted(values))


def _egress(problems: Violations, field: str, values: Sequence[str]) -> tuple[str, ...]:
    problems.at_most(field, values, shapes.MAX_EGRESS_ENTRIES)
    problems.each(field, values, shapes.egress_problem)
    return tuple(sorted(values))


def _routes(
    problems: Violations, field: str, values: Sequence[pb.UiProxyRoute]
) -> tuple[Route, ...]:
    problems.at_most(field, values, shapes.MAX_ROUTES)
    seen: set[str] = set()
    for index, route in enumerate(values):
        problems.check(f"{field}[{index}].route", route.route, shapes.route_problem)
        problems.check(
            f"{field}[{index}].upstream_url", route.upstream_url, shapes.upstream_problem
        )
        if route.secret_key:
            problems.check(f"{field}[{index}].secret_key", route.secret_key, secret_key_problem)
        elif route.secret_header:
            problems.found.append(
                FieldViolation(f"{field}[{index}].secret_header", "needs secret_key")
            )
        problems.check(
            f"{field}[{index}].secret_header", route.secret_header, shapes.secret_header_problem
        )
        if route.route in seen:
            problems.found.append(
                FieldViolation(f"{field}[{index}].route", "repeats an earlier route")
            )
        seen.add(route.route)
    return tuple(
        sorted(Route(r.route, r.upstream_url, r.secret_key, r.secret_header) for r in values)
    )


def limits(message: pb.InstallLimits) -> Limits:
    """The limits a message sets, its 0 fields (or an unset message) as the defaults."""
    default = Limits()
    return Limits(
        storage_value_bytes=message.storage_value_bytes or default.storage_value_bytes,
        storage_keys_per_namespace=message.storage_keys_per_namespace
        or default.storage_keys_per_namespace,
        storage_bytes=message.storage_bytes or default.storage_bytes,
        log_records_per_minute=message.log_records_per_minute or default.log_records_per_minute,
    )


def registered(request: pb.RegisterInstallRequest) -> Settings:
    """The settings of a new install; InvalidRequestError naming every bad field."""
    problems = Violations()
    problems.check("tenant", request.tenant, shapes.id_problem)
    problems.check("install_id", request.install_id, shapes.id_problem)
    problems.check("extension_id", request.extension_id, shapes.extension_id_problem)
    problems.check("version", request.version, shapes.version_problem)
    settings = Settings(
        version=request.version,
        capabilities=_capabilities(problems, "granted_capabilities", request.granted_capabilities),
        egress_allowlist=_egress(problems, "egress_allowlist", request.egress_allowlist),
        ui_proxy_routes=_routes(problems, "ui_proxy_routes", request.ui_proxy_routes),
        limits=limits(request.limits),
    )
    problems.raise_any()
    return settings


def updated(request: pb.UpdateInstallRequest, current: Settings) -> Settings:
    """`current` with what the request sets replaced; InvalidRequestError naming every
    bad field."""
    problems = Violations()
    version = current.version
    if request.HasField("version"):
        problems.check("version", request.version, shapes.version_problem)
        version = request.version
    capabilities = current.capabilities
    if request.HasField("granted_capabilities"):
        capabilities = _capabilities(
            problems,
            "granted_capabilities.capabilities",
            request.granted_capabilities.capabilities,
        )
    egress = current.egress_allowlist
    if request.HasField("egress_allowlist"):
        egress = _egress(problems, "egress_allowlist.entries", request.egress_allowlist.entries)
    routes = current.ui_proxy_routes
    if request.HasField("ui_proxy_routes"):
        routes = _routes(problems, "ui_proxy_routes.routes", request.ui_proxy_routes.routes)
    in_force = limits(request.limits) if request.HasField("limits") else current.limits
    problems.raise_any()
    return Settings(version, capabilities, egress, routes, in_force)
