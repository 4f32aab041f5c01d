"""What the runner asks the host, with its own bearer token (`installs.issuer`):
the install (InstallRegistryService.GetInstall), its version
(ExtensionRegistryService.GetExtensionVersion), a component's bytes
(GetComponent) and a fresh install token per execution (IssueInstallToken).

The host's answers are converted here, at the boundary: an unknown or
disabled install is NOT_FOUND whoever asks (the caller's tenant is always
the one asked about, so another tenant's install is simply not there); a
version the registry does not hold is FAILED_PRECONDITION; a host that
refuses the runner's own token, or cannot be reached, is UNAVAILABLE for the
caller (the operator's problem, logged), never the caller's PERMISSION_DENIED.

An install and its version are remembered for `target_ttl_s` (`target_cache`):
the install token, asked for on every execution, is what carries the install's
current state, and the pipeline checks it against what is remembered.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import grpc

from extplane.errors import FailedPreconditionError, NotFoundError, NotServingError
from extplane.runner.target_cache import DEFAULT_TTL_S, TargetCache
from extplane.runtime import LogBudget
from extplane_client._rpc import bearer_metadata
from extplane_protos.extplane.admin.v1 import (
    extensions_pb2,
    extensions_pb2_grpc,
    installs_pb2,
    installs_pb2_grpc,
)

# Components are at most 64 MiB (extensions.proto); room for the envelope.
MAX_COMPONENT_MESSAGE = 64 * 1024 * 1024 + 64 * 1024
COMPONENT_FETCH_S = 60.0

_logger = logging.getLogger(__name__)
_FAILURES_LOGGED = LogBudget()


@dataclass(frozen=True)
class InstallTarget:
    """The install an execution runs, as the registries describe it."""

    install: installs_pb2.Install
    version: extensions_pb2.ExtensionVersion


class HostUnavailableError(NotServingError):
    """The host could not answer the runner (down, or refusing its token)."""


def _unavailable(what: str, error: grpc.aio.AioRpcError) -> HostUnavailableError:
    code = error.code()
    if _FAILURES_LOGGED.admit((what, code)) is not None:
        hint = ""
        if code in (grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.PERMISSION_DENIED):
            hint = " (runner.host_token must hold installs.issuer)"
        _logger.error("%s failed: %s %s%s", what, code.name, error.details(), hint)
    return HostUnavailableError(f"the runner cannot {what} now")


def _not_found(install_id: str) -> NotFoundError:
    # The same words for unknown, disabled and another tenant's: no oracle.
    return NotFoundError(f"no enabled install {install_id!r} for this tenant")


class HostDirectory:
    """Calls the host's registries over `host` and `registry` (the same channel
    when they are one address); the channels stay the caller's."""

    def __init__(
        self,
        host: grpc.aio.Channel,
        registry: grpc.aio.Channel,
        *,
        token: str | None,
        call_timeout_s: float = 5.0,
        target_ttl_s: float = DEFAULT_TTL_S,
    ) -> None:
        self._targets: TargetCache[InstallTarget] = TargetCache(ttl_s=target_ttl_s)
        self._installs = installs_pb2_grpc.InstallRegistryServiceStub(host)
        self._extensions = extensions_pb2_grpc.ExtensionRegistryServiceStub(registry)
        self._metadata = bearer_metadata(token)
        self._timeout_s = call_timeout_s

    def _timeout(self, remaining_s: float | None, cap_s: float | None = None) -> float:
        cap = self._timeout_s if cap_s is None else cap_s
        if remaining_s is None:
            return cap
        return max(0.0, min(cap, remaining_s))

    async def target(
        self,
        tenant: str,
        install_id: str,
        remaining_s: float | None = None,
        *,
        fresh: bool = False,
    ) -> InstallTarget:
        """The enabled install and its uploaded version; NotFoundError or
        FailedPreconditionError otherwise. Remembered for `target_ttl_s`;
        `fresh`: asked of the host whatever is remembered."""
        if not fresh:
            remembered = self._targets.get(tenant, install_id)
            if remembered is not None:
                return remembered
        target = await self._lookup(tenant, install_id, remaining_s)
        self._targets.put(tenant, install_id, target)
        return target

    async def _lookup(
        self, tenant: str, install_id: str, remaining_s: float | None
    ) -> InstallTarget:
        try:
            answer = await self._installs.GetInstall(
                installs_pb2.GetInstallRequest(tenant=tenant, install_id=install_id),
                metadata=self._metadata,
                timeout=self._timeout(remaining_s),
            )
        except grpc.aio.AioRpcError as error:
            if error.code() in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.INVALID_ARGUMENT):
                raise _not_found(install_id) from None
            raise _unavailable("read installs", error) from None
        install = answer.install
        if not install.enabled:
            raise _not_found(install_id)
        return InstallTarget(install, await self._version(install, remaining_s))

    async def _version(
        self, install: installs_pb2.Install, remaining_s: float | None
    ) -> extensions_pb2.ExtensionVersion:
        try:
            answer = await self._extensions.GetExtensionVersion(
                extensions_pb2.GetExtensionVersionRequest(
                    extension_id=install.extension_id, version=install.version
                ),
                metadata=self._metadata,
                timeout=self._timeout(remaining_s),
            )
        except grpc.aio.AioRpcError as error:
            if error.code() in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.INVALID_ARGUMENT):
                raise FailedPreconditionError(
                    f"version {install.version!r} of extension {install.extension_id!r} "
                    "is not uploaded to the extension registry"
                ) from None
            raise _unavailable("read extension versions", error) from None
        version = answer.extension_version
        if version.WhichOneof("handler") is None:
            raise FailedPreconditionError(
                f"version {install.version!r} of extension {install.extension_id!r} "
                "names no handler"
            )
        return version

    async def install_token(
        self, install: installs_pb2.Install, request_id: str, remaining_s: float | None = None
    ) -> str:
        """A fresh install token for this execution."""
        try:
            answer = await self._installs.IssueInstallToken(
                installs_pb2.IssueInstallTokenRequest(
                    tenant=install.tenant, install_id=install.install_id, request_id=request_id
                ),
                metadata=self._metadata,
                timeout=self._timeout(remaining_s),
            )
        except grpc.aio.AioRpcError as error:
            # Disabled (or removed) since the lookup, however long ago it was remembered.
            if error.code() in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.FAILED_PRECONDITION):
                self._targets.forget(install.tenant, install.install_id)
                raise _not_found(install.install_id) from None
            raise _unavailable("issue install tokens", error) from None
        return answer.token

    async def component(self, sha256: str, remaining_s: float | None = None) -> bytes:
        """A component's bytes by content hash."""
        try:
            answer = await self._extensions.GetComponent(
                extensions_pb2.GetComponentRequest(sha256=sha256),
                metadata=self._metadata,
                # A large component takes longer than a lookup.
                timeout=self._timeout(remaining_s, COMPONENT_FETCH_S),
            )
        except grpc.aio.AioRpcError as error:
            if error.code() is grpc.StatusCode.NOT_FOUND:
                raise FailedPreconditionError(
                    f"component {sha256} is not in the extension registry"
                ) from None
            raise _unavailable("fetch components", error) from None
        return answer.component
