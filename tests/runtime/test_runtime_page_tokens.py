"""Page tokens: signed, bound to their list and filters, refused cleanly when not ours."""

from __future__ import annotations

import base64

import pytest

from extplane.errors import ExtplaneServerError
from extplane.runtime.page_tokens import MAX_TOKEN_CHARS, BadPageTokenError, PageTokens

KEY = b"k" * 32
SCOPE = ["team-a", None, 1_700_000_000_000_000_000, True]


def _refusal(tokens: PageTokens, token: str, scope: list[object] = SCOPE) -> str:
    with pytest.raises(BadPageTokenError) as refused:
        tokens.read(token, "things", scope, 2)
    (violation,) = refused.value.violations
    assert violation.field == "page_token"
    return violation.description


def test_a_token_reads_back_its_position() -> None:
    tokens = PageTokens(KEY)
    token = tokens.issue("things", SCOPE, (-(2**63), 2**63 - 1))

    assert tokens.read(token, "things", SCOPE, 2) == (-(2**63), 2**63 - 1)
    assert len(token) < MAX_TOKEN_CHARS
    assert not set(token) & set("=/+")


def test_a_refusal_is_an_invalid_argument_of_the_kit() -> None:
    error = BadPageTokenError("x")
    assert isinstance(error, ExtplaneServerError)
    assert error.code.name == "INVALID_ARGUMENT"


def test_every_single_byte_edit_is_refused() -> None:
    tokens = PageTokens(KEY)
    raw = bytearray(base64.urlsafe_b64decode(tokens.issue("things", SCOPE, (7, 8)) + "=="))
    for index in range(len(raw)):
        for flip in (0x01, 0x80):
            edited = bytearray(raw)
            edited[index] ^= flip
            token = base64.urlsafe_b64encode(bytes(edited)).decode().rstrip("=")
            assert _refusal(tokens, token) == "not a page token this API issued"


def test_another_deployments_token_is_refused() -> None:
    forged = PageTokens(b"o" * 32).issue("things", SCOPE, (1, 2))
    assert _refusal(PageTokens(KEY), forged) == "not a page token this API issued"


def test_a_token_of_other_filters_or_another_list_is_refused_as_such() -> None:
    tokens = PageTokens(KEY)
    token = tokens.issue("things", SCOPE, (1, 2))

    assert "another filter" in _refusal(tokens, token, ["team-b", None, 1, True])
    with pytest.raises(BadPageTokenError, match="another filter"):
        tokens.read(token, "other-things", SCOPE, 2)


@pytest.mark.parametrize(
    "token",
    ["", "a", "!!!!", "=" * 8, "a" * (MAX_TOKEN_CHARS + 1), "\x00\x01", "é", "AAAA" * 10],
)
def test_garbage_is_refused_never_a_crash(token: str) -> None:
    assert _refusal(PageTokens(KEY), token) == "not a page token this API issued"


def test_a_token_with_another_arity_is_refused() -> None:
    tokens = PageTokens(KEY)
    token = tokens.issue("things", SCOPE, (1,))
    assert _refusal(tokens, token) == "not a page token this API issued"


def test_a_short_key_is_refused() -> None:
    with pytest.raises(ValueError, match="16 bytes"):
        PageTokens(b"short")
