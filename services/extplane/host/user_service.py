"""The Alga `user` and `user-v2` interfaces: `get-user`, answered from the
verified install token's user claims alone (no store, no request field).

A token issued without a user (a scheduled run) answers `not-available`.
"""

from __future__ import annotations

from typing import Any

import grpc.aio

from extplane.host.alga_error import AlgaVariantError
from extplane.host.claims import UserClaims
from extplane.host.enforcement import current_install
from extplane_client import alga_errors
from extplane_protos.alga.extension.v1 import (
    types_pb2,
    user_pb2,
    user_pb2_grpc,
    user_v2_pb2,
    user_v2_pb2_grpc,
)

NOT_AVAILABLE = alga_errors.variant(types_pb2.UserError, types_pb2.USER_ERROR_NOT_AVAILABLE)


def _current_user() -> tuple[str, UserClaims]:
    """The calling install's tenant and user; `not-available` when it acts for none."""
    install = current_install()
    if install.user is None:
        raise AlgaVariantError(NOT_AVAILABLE, "this execution acts for no user")
    return install.tenant_id, install.user


class UserServicer(user_pb2_grpc.UserServiceServicer):
    async def GetUser(  # noqa: N802 - the generated servicer's name
        self,
        request: user_pb2.UserServiceGetUserRequest,
        context: grpc.aio.ServicerContext[Any, Any],
    ) -> user_pb2.UserServiceGetUserResponse:
        tenant_id, user = _current_user()
        return user_pb2.UserServiceGetUserResponse(
            user=types_pb2.UserData(
                tenant_id=tenant_id,
                client_name=user.client_name,
                user_id=user.user_id,
                user_email=user.user_email,
                user_name=user.user_name,
                user_type=user.user_type,
            )
        )


class UserV2Servicer(user_v2_pb2_grpc.UserV2ServiceServicer):
    async def GetUser(  # noqa: N802 - the generated servicer's name
        self,
        request: user_v2_pb2.UserV2ServiceGetUserRequest,
        context: grpc.aio.ServicerContext[Any, Any],
    ) -> user_v2_pb2.UserV2ServiceGetUserResponse:
        tenant_id, user = _current_user()
        # Sorted by key (stable: a repeated key keeps the platform's order) so
        # an extension sees the same list whatever order the platform used.
        fields = sorted(user.additional_fields, key=lambda pair: pair[0])
        return user_v2_pb2.UserV2ServiceGetUserResponse(
            user=types_pb2.UserDataV2(
                tenant_id=tenant_id,
                client_name=user.client_name,
                user_id=user.user_id,
                user_email=user.user_email,
                user_name=user.user_name,
                user_type=user.user_type,
                client_id=user.client_id,
                additional_fields=[types_pb2.KeyValue(key=k, value=v) for k, v in fields],
            )
        )
