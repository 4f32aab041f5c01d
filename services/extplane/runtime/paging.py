"""Pages of the list RPCs: their size in items, as AIP-158 has it, and in bytes.

A page holds at most `page_size` items and about `MAX_PAGE_BYTES` of them:
a page of a thousand large records must not outgrow gRPC's 4 MiB message
limit (the caller would get RESOURCE_EXHAUSTED instead of its records). A
page cut short by bytes has a `next_page_token` like any other.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from google.protobuf.message import Message

from extplane.runtime.bad_request import InvalidRequestError

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000
# Half of gRPC's default 4 MiB: headroom for the response's other fields and
# for any one item (an audit record is at most about 1 MiB).
MAX_PAGE_BYTES = 2 * 1024 * 1024

R = TypeVar("R")
M = TypeVar("M", bound=Message)


def page_size(value: int) -> int:
    """0 means the default; above the maximum means the maximum; negative is refused."""
    if value < 0:
        raise InvalidRequestError.field("page_size", "must not be negative")
    return min(value or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)


@dataclass(frozen=True)
class Page(Generic[M, R]):
    messages: list[M]
    # The last row on the page when more remain: the position the next page
    # token points after. None at the end.
    last: R | None


def fill_page(
    rows: Sequence[R], size: int, to_proto: Callable[[R], M], *, max_bytes: int = MAX_PAGE_BYTES
) -> Page[M, R]:
    """The page of `rows`, which were fetched with one more than `size` to tell
    whether more follow."""
    messages: list[M] = []
    total = 0
    for index, row in enumerate(rows[:size]):
        message = to_proto(row)
        total += message.ByteSize()
        if messages and total > max_bytes:
            return Page(messages, rows[index - 1])
        messages.append(message)
    return Page(messages, rows[size - 1] if len(rows) > size else None)
