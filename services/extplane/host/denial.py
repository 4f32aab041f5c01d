"""The refusal of a call whose install token lacks the RPC's capability."""

from __future__ import annotations

from collections.abc import Sequence

import grpc
from google.protobuf.message import Message
from google.rpc.error_details_pb2 import ErrorInfo

from extplane.errors import PermissionDeniedError
from extplane.host.contract import Requirement
from extplane_client import alga_errors

# For RPCs whose WIT function has no error variant to answer with.
CAPABILITY_DENIED = "CAPABILITY_DENIED"
EXTPLANE_ERROR_DOMAIN = "extplane"


class CapabilityDeniedError(PermissionDeniedError):
    """PERMISSION_DENIED with an ErrorInfo: the interface's WIT denial variant
    (domain `alga.extension`) or `CAPABILITY_DENIED` (domain `extplane`)."""

    def __init__(self, requirement: Requirement) -> None:
        super().__init__(
            f"this install is not granted {requirement.capability}, which "
            f"{requirement.service}.{requirement.method} requires"
        )
        self.requirement = requirement
        if requirement.denial is not None:
            self.code = alga_errors.status_for(requirement.denial)
        else:
            self.code = grpc.StatusCode.PERMISSION_DENIED

    def status_details(self) -> Sequence[Message]:
        denial = self.requirement.denial
        return (
            ErrorInfo(
                reason=CAPABILITY_DENIED if denial is None else denial.name,
                domain=EXTPLANE_ERROR_DOMAIN if denial is None else alga_errors.ERROR_DOMAIN,
                metadata={"capability": self.requirement.capability},
            ),
        )
