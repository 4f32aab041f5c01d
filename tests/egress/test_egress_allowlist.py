"""The allowlist syntax and its matching, as pure functions: property tests that a
wildcard never matches its apex nor a glued suffix, that an exact name never
matches a subdomain, that ports and schemes are only the named ones."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from extplane.host.egress import Allowlist, EntryError, entry_problem
from extplane.host.egress.allowlist import parse_entry
from extplane.host.egress.target import parse_target

_LABEL = st.from_regex(r"[a-z]([a-z0-9-]{0,10}[a-z0-9])?", fullmatch=True)
_NAME = st.lists(_LABEL, min_size=1, max_size=3).map(".".join)


def _admits(entries: list[str], url: str) -> bool:
    return Allowlist.parse(entries).admitting(parse_target(url)) is not None


@given(base=_NAME, sub=_NAME, glue=_LABEL)
def test_a_wildcard_matches_subdomains_only(base: str, sub: str, glue: str) -> None:
    entries = [f"https://*.{base}"]
    assert _admits(entries, f"https://{sub}.{base}/")
    assert not _admits(entries, f"https://{base}/")
    assert not _admits(entries, f"https://{glue}{base}/")
    assert not _admits(entries, f"https://{sub}.{base}x/")


@given(base=_NAME, sub=_LABEL)
def test_an_exact_name_matches_itself_only(base: str, sub: str) -> None:
    entries = [f"https://{base}"]
    assert _admits(entries, f"https://{base}/any/path?q=1")
    assert _admits(entries, f"https://{base.upper()}./")
    assert not _admits(entries, f"https://{sub}.{base}/")


@given(port=st.integers(1, 65535))
def test_only_the_named_port_or_the_default(port: int) -> None:
    assert _admits(["https://api.example.test"], "https://api.example.test:443/")
    assert _admits([f"https://api.example.test:{port}"], f"https://api.example.test:{port}/")
    if port != 443:
        assert not _admits(["https://api.example.test"], f"https://api.example.test:{port}/")
        assert not _admits([f"https://api.example.test:{port}"], "https://api.example.test/")


def test_schemes_are_explicit_and_no_scheme_means_https() -> None:
    assert _admits(["api.example.test"], "https://api.example.test/")
    assert not _admits(["api.example.test"], "http://api.example.test/")
    assert not _admits(["https://api.example.test"], "http://api.example.test/")
    assert _admits(["http://api.example.test"], "http://api.example.test/")
    assert not _admits(["http://api.example.test"], "https://api.example.test/")
    assert _admits(["*.example.test:8443"], "https://a.b.example.test:8443/")


@pytest.mark.parametrize(
    ("url", "admitted"),
    [
        ("https://api.example.test/v2/", True),
        ("https://api.example.test/v2/items?x=1", True),
        ("https://api.example.test/v2", False),
        ("https://api.example.test/v20/", False),
        ("https://api.example.test/v2/../admin", False),  # dot segments removed first
        ("https://api.example.test/v2/%2e%2e/admin", False),
        ("https://api.example.test/v2/..%2fadmin", False),
        ("https://api.example.test/v2/%5c..%5cadmin", False),
        ("https://api.example.test/", False),
    ],
)
def test_a_path_prefix_holds_after_normalisation(url: str, admitted: bool) -> None:
    assert _admits(["https://api.example.test/v2/"], url) is admitted


def test_a_prefix_without_slash_is_a_segment_boundary() -> None:
    entries = ["https://api.example.test/v2"]
    assert _admits(entries, "https://api.example.test/v2")
    assert _admits(entries, "https://api.example.test/v2/x")
    assert not _admits(entries, "https://api.example.test/v2x")


@pytest.mark.parametrize(
    ("entries", "url", "admitted"),
    [
        (["10.1.2.3"], "https://10.1.2.3/", True),
        (["10.1.2.3"], "http://10.1.2.3/", False),
        (["http://10.1.2.3:8080"], "http://10.1.2.3:8080/", True),
        (["10.0.0.0/8"], "https://10.200.0.1/", True),
        (["10.0.0.0/8"], "https://11.0.0.1/", False),
        (["[fd00::1]"], "https://[fd00::1]/", True),
        (["fd00::/16"], "https://[fd00:1::2]/", True),
        (["[fd00::]/16"], "https://[fd01::2]/", False),
        (["10.1.2.3"], "https://[::ffff:10.1.2.3]/", False),  # another family, another entry
        (["api.example.test"], "https://10.1.2.3/", False),
        (["10.0.0.0/8"], "https://ten.example.test/", False),
    ],
)
def test_ip_and_cidr_entries_match_addresses(entries: list[str], url: str, admitted: bool) -> None:
    assert _admits(entries, url) is admitted


def test_ip_entries_are_the_exemptions() -> None:
    allowlist = Allowlist.parse(
        ["https://api.example.test", "10.0.0.0/8", "https://[fd00::1]:8443"]
    )
    assert [str(net) for net in allowlist.networks] == ["10.0.0.0/8", "fd00::1/128"]


@pytest.mark.parametrize(
    "entry",
    [
        "",
        "*",
        "*.",
        "*.10.0.0.1",
        "https://*.example.test.*",
        "https://api.example.test/v2/../x",
        "https://api.example.test/v2/%2e",
        "https://api.example.test/?q",
        "https://api.example.test/#f",
        "https://user@api.example.test",
        "https://api.example.test:0",
        "https://api.example.test:65536",
        "gopher://api.example.test",
        "https://10.0.0.0/8",
        "10.0.0.1/8",
        "10.0.0.0/33",
        "https://API.example.test",
        "https://api.example.test\\x",
        "https://api .example.test",
        "https://caf\u00e9.example",
        "[fe80::1%eth0]",
        "127.1",
        "x" * 600,
    ],
)
def test_malformed_entries_say_why(entry: str) -> None:
    problem = entry_problem(entry)
    assert problem
    with pytest.raises(EntryError):
        parse_entry(entry)


def test_a_bad_entry_is_named_by_index() -> None:
    with pytest.raises(EntryError, match="entry 1: "):
        Allowlist.parse(["https://ok.example.test", "ftp://no.example.test"])


@given(st.text(max_size=80))
def test_any_text_is_judged_without_raising(text: str) -> None:
    assert entry_problem(text) is None or isinstance(entry_problem(text), str)
