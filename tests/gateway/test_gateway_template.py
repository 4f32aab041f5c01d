"""Path templates: the HttpRule grammar, matching, and decoding of captured values."""

from __future__ import annotations

import re

import pytest

from extplane.gateway.template import TemplateError, parse_template


def test_a_literal_template_matches_only_its_path() -> None:
    template = parse_template("/v1/capabilities")
    assert template.match("/v1/capabilities") == {}
    assert template.match("/v1/capabilities/") is None
    assert template.match("/v1/capability") is None
    assert template.match("/v1") is None


def test_a_bare_variable_captures_one_segment() -> None:
    template = parse_template("/v1/things/{name}")
    assert template.match("/v1/things/lamp") == {"name": "lamp"}
    assert template.match("/v1/things/lamp/extra") is None
    assert template.match("/v1/things/") is None


def test_a_variable_with_a_pattern_captures_the_whole_pattern() -> None:
    template = parse_template("/v1/{name=shelves/*/things/*}")
    assert template.match("/v1/shelves/s1/things/t9") == {"name": "shelves/s1/things/t9"}
    assert template.match("/v1/shelves/s1/books/t9") is None


def test_nested_field_paths_are_kept_dotted() -> None:
    template = parse_template("/v1/{thing.inner.label}/x")
    assert template.match("/v1/red/x") == {"thing.inner.label": "red"}


def test_double_wildcard_captures_the_rest_of_the_path() -> None:
    template = parse_template("/v1/files/{name=**}")
    assert template.match("/v1/files/a/b/c.txt") == {"name": "a/b/c.txt"}
    assert template.match("/v1/files/a") == {"name": "a"}


def test_a_verb_is_matched_and_stripped() -> None:
    template = parse_template("/v1/{name=things/*}:archive")
    assert template.match("/v1/things/t1:archive") == {"name": "things/t1"}
    assert template.match("/v1/things/t1") is None
    assert template.match("/v1/things/t1:restore") is None


def test_single_segment_values_are_fully_percent_decoded() -> None:
    template = parse_template("/v1/things/{name}")
    assert template.match("/v1/things/a%20b%2Fc") == {"name": "a b/c"}


def test_multi_segment_values_keep_encoded_slashes() -> None:
    template = parse_template("/v1/files/{name=**}")
    assert template.match("/v1/files/dir/a%2Fb%20c") == {"name": "dir/a%2Fb c"}


def test_openapi_path_reduces_variables_to_their_field_path() -> None:
    assert parse_template("/v1/{name=things/*}:archive").openapi_path() == "/v1/{name}:archive"
    assert parse_template("/v1/{a.b}/x/{c=**}").openapi_path() == "/v1/{a.b}/x/{c}"


def test_literal_routes_rank_above_wildcards() -> None:
    literal = parse_template("/v1/things/special")
    variable = parse_template("/v1/things/{name}")
    assert literal.specificity() > variable.specificity()


@pytest.mark.parametrize(
    ("source", "why"),
    [
        ("v1/things", "expected '/'"),
        ("/v1/{name", "expected '}'"),
        ("/v1/{}", "expected a field path"),
        ("/v1/{a={b}}", "variables cannot nest"),
        ("/v1/{a}/{a}", "bound twice"),
        ("/v1/**/x", "'**' must be the last segment"),
        ("/v1/things}", "unexpected character"),
    ],
)
def test_malformed_templates_are_refused_with_the_reason(source: str, why: str) -> None:
    with pytest.raises(TemplateError, match=re.escape(why)):
        parse_template(source)
