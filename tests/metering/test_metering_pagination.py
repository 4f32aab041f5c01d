"""ListMeteringEvents on both stores: order, cursor pages, filters, and tokens."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

import grpc
import pytest
from metering_support import NOW, Metering, StartMetering, event, fields, ns, q

from extplane.metering.servicer_query import EVENTS_PAGE
from extplane.metering.validation import MAX_LABEL_CHARS
from extplane.runtime import bounds
from extplane.runtime.page_tokens import PageTokens

# Signed with a key of its own: a forgery as far as the service can tell.
_FORGED = PageTokens.ephemeral().issue(EVENTS_PAGE, [None, None, "", "", "", ""], (1, 2))


async def _with_events(start_metering: StartMetering) -> Metering:
    """25 events: timestamps out of arrival order, some sharing a timestamp."""
    metering = await start_metering()
    base = ns(NOW - timedelta(hours=1))
    batch = [
        event(base + (i % 7) * 1000, namespace=f"team-{i % 2}", event_id=f"e{i:02d}")
        for i in range(25)
    ]
    await metering.batch(*batch[:10])
    for one in batch[10:15]:
        await metering.record(one)
    await metering.batch(*batch[15:])
    return metering


def _ids(events: Sequence[q.StoredMeteringEvent]) -> list[str]:
    return [e.event.event_id for e in events]


def _expected_order(count: int = 25) -> list[str]:
    # By timestamp, then by the order stored (here: the order sent).
    return [f"e{i:02d}" for i in sorted(range(count), key=lambda i: (i % 7, i))]


async def test_pages_walk_every_event_in_timestamp_then_storage_order(
    start_metering: StartMetering,
) -> None:
    metering = await _with_events(start_metering)

    seen: list[str] = []
    sizes: list[int] = []
    token = ""
    while True:
        page = await metering.page(page_size=4, page_token=token)
        seen += _ids(page.events)
        sizes.append(len(page.events))
        token = page.next_page_token
        if not token:
            break

    assert seen == _expected_order()
    assert sizes == [4, 4, 4, 4, 4, 4, 1]


async def test_the_last_full_page_has_no_token_when_nothing_follows(
    start_metering: StartMetering,
) -> None:
    metering = await _with_events(start_metering)

    page = await metering.page(page_size=25)

    assert len(page.events) == 25
    assert page.next_page_token == ""


async def test_events_stored_after_the_cursor_appear_on_later_pages(
    start_metering: StartMetering,
) -> None:
    metering = await _with_events(start_metering)
    first = await metering.page(page_size=10)
    await metering.record(event(NOW, event_id="late"))

    rest = await metering.all_events()
    after = await metering.page(page_size=1000, page_token=first.next_page_token)

    assert _ids(rest) == [*_expected_order(), "late"]
    assert _ids(after.events) == [*_expected_order()[10:], "late"]


async def test_filters_and_the_range_apply_to_every_page(start_metering: StartMetering) -> None:
    metering = await _with_events(start_metering)
    base = NOW - timedelta(hours=1)
    window = {
        "namespace": "team-1",
        "start_time": base + timedelta(microseconds=2),  # ts offsets 2000..5999 ns
        "end_time": base + timedelta(microseconds=6),
    }

    found = await metering.all_events(**window)
    paged: list[str] = []
    token = ""
    while True:
        page = await metering.page(page_size=2, page_token=token, **window)
        paged += _ids(page.events)
        token = page.next_page_token
        if not token:
            break

    expected = [
        f"e{i:02d}" for i in sorted(range(25), key=lambda i: (i % 7, i)) if i % 2 and 2 <= i % 7 < 6
    ]
    assert _ids(found) == expected
    assert paged == expected


async def test_a_token_is_refused_with_other_filters(start_metering: StartMetering) -> None:
    metering = await _with_events(start_metering)
    token = (await metering.page(page_size=3, namespace="team-0")).next_page_token

    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await metering.page(page_size=3, namespace="team-1", page_token=token)

    assert fields(refused.value) == ["page_token"]


@pytest.mark.parametrize(
    "token",
    [
        "garbage",
        "!!!!",
        _FORGED,
        _FORGED[:-2],
    ],
    ids=["text", "not base64", "forged", "truncated"],
)
async def test_a_malformed_token_is_refused(start_metering: StartMetering, token: str) -> None:
    metering = await _with_events(start_metering)

    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await metering.page(page_token=token)

    assert fields(refused.value) == ["page_token"]


async def test_page_size_defaults_to_100_and_is_capped_at_1000(
    start_metering: StartMetering,
) -> None:
    metering = await start_metering()
    await metering.batch(*[event() for _ in range(1000)])
    await metering.batch(*[event() for _ in range(5)])

    default = await metering.page()
    capped = await metering.page(page_size=5000)

    assert len(default.events) == 100
    assert len(capped.events) == 1000
    assert capped.next_page_token


@pytest.mark.parametrize(
    ("request_fields", "field"),
    [
        ({"page_size": -1}, "page_size"),
        ({"end_time": {"seconds": 253402300800}}, "end_time"),
        ({"end_time": {"seconds": 1, "nanos": -1}}, "end_time"),
        ({"start_time": NOW, "end_time": NOW - timedelta(seconds=1)}, "end_time"),
        (
            {"start_time": {"seconds": 253402300799}, "end_time": {"seconds": 253402300798}},
            "end_time",
        ),
    ],
    ids=[
        "negative page size",
        "end past 9999 (no Timestamp)",
        "negative nanos",
        "empty range",
        "empty range past 2262",
    ],
)
async def test_bad_list_requests_are_refused(
    start_metering: StartMetering, request_fields: dict[str, object], field: str
) -> None:
    metering = await start_metering()

    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await metering.page(**request_fields)

    assert fields(refused.value) == [field]


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (None, {"seconds": 253402300799, "nanos": 999_999_999}, 25),  # up to 9999
        ({"seconds": -62135596800}, None, 25),  # from year 1
        ({"seconds": 9_300_000_000}, None, 0),  # from 2264: past what stores hold
        ({"seconds": 9_300_000_000}, {"seconds": 9_400_000_000}, 0),
    ],
    ids=["until 9999", "from year 1", "from 2264", "2264 to 2267"],
)
async def test_any_valid_timestamp_is_a_range_bound(
    start_metering: StartMetering, start: object, end: object, expected: int
) -> None:
    """A Timestamp outside what the stores hold (1677..2262) bounds the range as the
    nearest time they hold would: no refusal, no crash, the right events."""
    metering = await _with_events(start_metering)
    bounds = {name: value for name, value in (("start_time", start), ("end_time", end)) if value}

    assert len(await metering.all_events(**bounds)) == expected


@pytest.mark.parametrize("text", ["a\x00b", "\x00", "tab\there", "\x85", "a" * 257])
async def test_unstorable_filter_text_is_refused_alike_on_both_stores(
    start_metering: StartMetering, text: str
) -> None:
    metering = await start_metering()
    for name in ("namespace", "task", "agent", "model"):
        with pytest.raises(grpc.aio.AioRpcError) as listed:
            await metering.page(**{name: text})
        with pytest.raises(grpc.aio.AioRpcError) as summed:
            await metering.usage(start_time=NOW - timedelta(hours=1), **{name: text})
        assert fields(listed.value) == [name]
        assert fields(summed.value) == [name]


def test_the_query_filters_declare_the_limits_ingest_applies() -> None:
    for message in (q.GetUsageRequest, q.ListMeteringEventsRequest):
        for name in ("namespace", "task", "agent", "model"):
            declared = bounds.declared_bounds(message.DESCRIPTOR.fields_by_name[name])
            assert declared is not None
            assert declared.max_length == MAX_LABEL_CHARS, (message.DESCRIPTOR.name, name)
