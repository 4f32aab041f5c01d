"""A host provider's failure as the Alga WIT error variant its interface declares."""

from __future__ import annotations

from collections.abc import Sequence

from google.protobuf.message import Message
from google.rpc.error_details_pb2 import ErrorInfo

from extplane.errors import ExtplaneServerError
from extplane_client import alga_errors


class AlgaVariantError(ExtplaneServerError):
    """The variant's contract status code plus the ErrorInfo (domain
    `alga.extension`) that names it, so a client decodes the WIT variant with
    `alga_errors.variant_from_error`. `message` must not hold secrets."""

    def __init__(self, variant: alga_errors.Variant, message: str) -> None:
        super().__init__(message)
        self.variant = variant
        self.code = alga_errors.status_for(variant)

    def status_details(self) -> Sequence[Message]:
        return (ErrorInfo(reason=self.variant.name, domain=alga_errors.ERROR_DOMAIN),)
