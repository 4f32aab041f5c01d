"""The schemathesis hook lets a 400 pass only for a rule the request really breaks."""

from __future__ import annotations

import pytest
from attack_schemathesis_hooks import documented_refusals, violated_fields

USAGE = "/v1/metering/usage"


@pytest.mark.parametrize(
    ("path", "query", "allowed"),
    [
        # A range that ends before it starts; the end defaults to now.
        (
            "/v1/audit/events",
            {"startTime": "2026-01-02T00:00:00Z", "endTime": "2026-01-01T23:00:00-02:00"},
            set(),
        ),
        (
            "/v1/audit/events",
            {"startTime": "2026-01-02T00:00:00Z", "endTime": "2026-01-01T00:00:00Z"},
            {"end_time"},
        ),
        (USAGE, {"startTime": "9999-01-01T00:00:00Z"}, {"start_time"}),
        (USAGE, {"startTime": "2020-01-01T00:00:00Z", "window": "minute"}, {"window"}),
        (USAGE, {"startTime": "2020-01-01T00:00:00Z", "window": "day"}, set()),
        (
            USAGE,
            {"startTime": "2020-01-01T00:00:00Z", "groupBy": ["agent", "3"]},
            {"group_by[1]"},
        ),
        (USAGE, {"startTime": "2020-01-01T00:00:00Z", "groupBy": ["agent", "model"]}, set()),
        ("/v1/metering/events", {"pageToken": "abc"}, {"page_token"}),
        ("/v1/audit/verify", {"fromSequence": "5", "toSequence": "2"}, {"to_sequence"}),
        ("/v1/audit/verify", {"fromSequence": "100000"}, {"from_sequence"}),
        ("/v1/audit/verify", {"fromSequence": "1", "toSequence": "0"}, set()),
    ],
)
def test_the_fields_a_400_may_name(
    path: str, query: dict[str, object], allowed: set[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ATTACK_AUDIT_HEAD", "120")
    assert documented_refusals(path, query) == allowed


def test_only_bad_request_field_violations_count() -> None:
    body = (
        b'{"code":3,"message":"m","details":[{"@type":"type.googleapis.com/google.rpc.BadRequest",'
        b'"fieldViolations":[{"field":"end_time","description":"d"}]}]}'
    )
    assert violated_fields(body) == {"end_time"}
    assert violated_fields(b'{"code":3,"message":"m","details":[]}') == set()
    assert violated_fields(b"not json") is None
