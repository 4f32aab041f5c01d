"""Page sizes of the list RPCs, as AIP-158 has them."""

from __future__ import annotations

from extplane.runtime.bad_request import InvalidRequestError

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000


def page_size(value: int) -> int:
    """0 means the default; above the maximum means the maximum; negative is refused."""
    if value < 0:
        raise InvalidRequestError.field("page_size", "must not be negative")
    return min(value or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
