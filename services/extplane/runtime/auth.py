"""Bearer tokens with roles, for the query APIs and the sinks' writers (DESIGN §4, §7).

Tokens come from configuration, each with a name (for logs) and roles. A
token may be configured by its SHA-256 (hex) so the secret itself need not
sit in a config file. Services check the role themselves, so the gRPC and
the HTTP (gateway) paths are guarded alike. With no token configured, every
guarded call is refused: a fresh deployment does not serve its audit log to
whoever asks.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import logging
from typing import Any

import grpc
from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

from extplane.errors import PermissionDeniedError, UnauthenticatedError

METERING_READER = "metering.reader"
AUDIT_READER = "audit.reader"
# The install registry: `installs.admin` changes installs and reads them;
# `installs.reader` only reads.
INSTALLS_ADMIN = "installs.admin"
INSTALLS_READER = "installs.reader"
# Issues install tokens (the runner, a polyglot extension host); neither admin
# nor reader implies it: a token minted for an install acts as that install.
INSTALLS_ISSUER = "installs.issuer"
# Executes extensions through the runner (HandlerService.Execute, the gateway's
# /v1/extensions/… route), for the tenant its token names.
EXTENSIONS_EXECUTE = "extensions.execute"
# Executes extensions for the tenant each request names (ExecuteRequest.context
# .tenant_id): a trusted service acting for every tenant — the host's ui-proxy
# running an `extension:<install>` route — never an application's token.
EXTENSIONS_DISPATCH = "extensions.dispatch"
# A token holding this role holds every role.
ANY_ROLE = "*"

_logger = logging.getLogger(__name__)


@functools.cache
def _warn_no_tokens() -> None:
    # Once per process: `extplane up` builds an Authorizer per service.
    _logger.warning(
        "no bearer tokens configured: the query and admin APIs refuse every call; "
        "set EXTPLANE_AUTH__TOKENS (see README)"
    )


class BearerToken(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, description="Who holds the token; appears in logs.")
    token: SecretStr | None = Field(default=None, description="The token itself.")
    sha256: str | None = Field(
        default=None,
        pattern=r"^[0-9a-f]{64}$",
        description="Lower-case hex SHA-256 of the token, instead of the token.",
    )
    roles: list[str] = Field(min_length=1)
    tenant: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9._-]{1,128}$",
        description="The tenant the holder acts for; `extensions.execute` needs one "
        "(the runner takes the caller's tenant from it, never from the request).",
    )

    def holds(self, role: str) -> bool:
        """Whether the token holds `role` (or every role, `*`)."""
        return role in self.roles or ANY_ROLE in self.roles

    @model_validator(mode="after")
    def _exactly_one_secret(self) -> BearerToken:
        if (self.token is None) == (self.sha256 is None):
            raise ValueError("set exactly one of token and sha256")
        if self.token is not None and len(self.token.get_secret_value()) < 16:
            raise ValueError("token must be at least 16 characters")
        return self

    def digest(self) -> str:
        if self.sha256 is not None:
            return self.sha256
        assert self.token is not None
        return hashlib.sha256(self.token.get_secret_value().encode()).hexdigest()


class AuthSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tokens: list[BearerToken] = Field(default_factory=list)
    allow_unauthenticated_ingest: bool = Field(
        default=False,
        description="Accept sink writes without a token or client certificate on a "
        "non-loopback bind address (anyone who reaches the port can write).",
    )


class Authorizer:
    """Checks a call's `authorization: Bearer …` metadata against the configured tokens."""

    def __init__(self, settings: AuthSettings) -> None:
        self._by_digest = {token.digest(): token for token in settings.tokens}
        self.allow_unauthenticated_ingest = settings.allow_unauthenticated_ingest
        if not self._by_digest:
            _warn_no_tokens()

    @property
    def has_tokens(self) -> bool:
        return bool(self._by_digest)

    def any_token_holds(self, role: str) -> bool:
        return any(
            role in token.roles or ANY_ROLE in token.roles for token in self._by_digest.values()
        )

    def principal(
        self, authorization: str | None, role: str | tuple[str, ...]
    ) -> tuple[grpc.StatusCode, str]:
        """(OK, token name) or (the refusal's code, its message); a tuple of roles
        admits a token holding any one of them."""
        code, found = self._match(authorization, role)
        return code, found.name if isinstance(found, BearerToken) else found

    def _match(
        self, authorization: str | None, role: str | tuple[str, ...]
    ) -> tuple[grpc.StatusCode, BearerToken | str]:
        """(OK, the token) or (the refusal's code, its message)."""
        roles = (role,) if isinstance(role, str) else role
        code, match = self._lookup(authorization)
        if not isinstance(match, BearerToken):
            return code, match
        if ANY_ROLE not in match.roles and not any(r in match.roles for r in roles):
            wanted = " or ".join(repr(r) for r in roles)
            return grpc.StatusCode.PERMISSION_DENIED, f"token {match.name!r} lacks role {wanted}"
        return grpc.StatusCode.OK, match

    def _lookup(self, authorization: str | None) -> tuple[grpc.StatusCode, BearerToken | str]:
        """(OK, the configured token) or (UNAUTHENTICATED, why not)."""
        if not authorization:
            return grpc.StatusCode.UNAUTHENTICATED, "missing bearer token"
        scheme, _, credential = authorization.strip().partition(" ")
        credential = credential.strip()
        if scheme.lower() != "bearer" or not credential:
            return grpc.StatusCode.UNAUTHENTICATED, "authorization must be 'Bearer <token>'"
        digest = hashlib.sha256(credential.encode()).hexdigest()
        match = next(
            (t for d, t in self._by_digest.items() if hmac.compare_digest(d, digest)), None
        )
        if match is None:
            return grpc.StatusCode.UNAUTHENTICATED, "unknown bearer token"
        return grpc.StatusCode.OK, match

    def token_for(self, authorization: str | None, role: str | tuple[str, ...]) -> BearerToken:
        """The configured token `authorization` carries (its name, roles and
        tenant); raises as `check` does when it does not hold `role`."""
        code, found = self._match(authorization, role)
        if isinstance(found, BearerToken):
            return found
        if code is grpc.StatusCode.UNAUTHENTICATED:
            raise UnauthenticatedError(found)
        raise PermissionDeniedError(found)

    def check(self, authorization: str | None, role: str | tuple[str, ...]) -> str:
        """The token's name; raises `UnauthenticatedError` or `PermissionDeniedError`
        when `authorization` does not hold `role`."""
        code, detail = self.principal(authorization, role)
        if code is grpc.StatusCode.UNAUTHENTICATED:
            raise UnauthenticatedError(detail)
        if code is not grpc.StatusCode.OK:
            raise PermissionDeniedError(detail)
        return detail

    def identify(self, context: grpc.aio.ServicerContext[Any, Any]) -> BearerToken | None:
        """The configured token the call carries, whatever its roles (None: no
        known token), so a refusal of a known caller can name it."""
        _, found = self._lookup(bearer_authorization(context))
        return found if isinstance(found, BearerToken) else None

    def token_of(
        self, context: grpc.aio.ServicerContext[Any, Any], role: str | tuple[str, ...]
    ) -> BearerToken:
        """The call's configured token (name, roles, tenant); raises as `require` does."""
        return self.token_for(bearer_authorization(context), role)

    async def require(
        self, context: grpc.aio.ServicerContext[Any, Any], role: str | tuple[str, ...]
    ) -> str:
        """The caller's token name; raises `UnauthenticatedError` or
        `PermissionDeniedError` when it lacks `role`."""
        return self.check(bearer_authorization(context), role)


def bearer_authorization(context: grpc.aio.ServicerContext[Any, Any]) -> str | None:
    """The call's `authorization` metadata, if it has one."""
    return next(
        (
            str(value)
            for key, value in (context.invocation_metadata() or ())
            if key == "authorization"
        ),
        None,
    )
