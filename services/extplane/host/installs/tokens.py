"""The registry's token RPCs: `IssueInstallToken` and `GetInstallTokenKeys`.

A token is minted from the install as stored (its grants and version, never
the caller's say), for an enabled install only. Issuing is not an audit
event: one is issued per extension execution, and the audit log records
changes and denials, not every call.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from google.protobuf.timestamp_pb2 import Timestamp

from extplane.errors import FailedPreconditionError
from extplane.host.claims import UserClaims
from extplane.host.installs.model import Install
from extplane.host.issuer import InstallTokenIssuer
from extplane.keys import KeyRing
from extplane.runtime import InvalidRequestError
from extplane_protos.extplane.admin.v1 import installs_pb2 as pb

_AUDIENCE = re.compile(r"[A-Za-z0-9._:/-]{1,128}")
# Each field rides in every token of the execution: a few, not a profile.
MAX_USER_FIELDS = 64


class InstallTokens:
    def __init__(self, issuer: InstallTokenIssuer, ring: Callable[[], KeyRing]) -> None:
        self._issuer = issuer
        self._ring = ring

    def issue(
        self, install: Install, request: pb.IssueInstallTokenRequest
    ) -> pb.IssueInstallTokenResponse:
        if not install.enabled:
            raise FailedPreconditionError(
                f"install {install.install_id!r} of tenant {install.tenant!r} is disabled:"
                " enable it before issuing tokens"
            )
        issued = self._issuer.mint(
            tenant_id=install.tenant,
            extension_id=install.extension_id,
            install_id=install.install_id,
            capabilities=install.settings.capabilities,
            version_id=install.settings.version,
            request_id=request.request_id or None,
            user=_user(request),
            audience=_audience(request.audience),
        )
        return pb.IssueInstallTokenResponse(
            token=issued.token,
            expire_time=Timestamp(seconds=issued.claims.expires_at),
            key_id=issued.key_id,
        )

    def keys(self) -> pb.GetInstallTokenKeysResponse:
        return pb.GetInstallTokenKeysResponse(
            keys=[pb.JsonWebKey(**key) for key in self._ring().jwks()["keys"]]
        )


def _audience(audience: str) -> str | None:
    if not audience:
        return None
    if not _AUDIENCE.fullmatch(audience):
        raise InvalidRequestError.field(
            "audience", "must be 1-128 of A-Z a-z 0-9 . _ - : / (e.g. extplane-host)"
        )
    return audience


def _user(request: pb.IssueInstallTokenRequest) -> UserClaims | None:
    if not request.HasField("user"):
        return None
    user = request.user
    if not user.user_id:
        raise InvalidRequestError.field("user.user_id", "required when a user is given")
    return UserClaims(
        user_id=user.user_id,
        user_name=user.user_name,
        user_email=user.user_email,
        user_type=user.user_type,
        client_name=user.client_name,
        client_id=user.client_id if user.HasField("client_id") else None,
        additional_fields=_fields(user.additional_fields),
    )


def _fields(fields: Sequence[pb.InstallTokenUserField]) -> tuple[tuple[str, str], ...]:
    if len(fields) > MAX_USER_FIELDS:
        raise InvalidRequestError.field(
            "user.additional_fields", f"at most {MAX_USER_FIELDS}, not {len(fields)}"
        )
    for index, field in enumerate(fields):
        if not field.key:
            raise InvalidRequestError.field(f"user.additional_fields[{index}].key", "required")
    # Kept in the platform's order: user-v2 sorts them when it answers.
    return tuple((field.key, field.value) for field in fields)
