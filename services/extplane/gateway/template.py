"""`google.api.http` path templates: parsing and matching.

    Template = "/" Segments [ Verb ] ;
    Segments = Segment { "/" Segment } ;
    Segment  = "*" | "**" | LITERAL | Variable ;
    Variable = "{" FieldPath [ "=" Segments ] "}" ;
    FieldPath = IDENT { "." IDENT } ;
    Verb     = ":" LITERAL ;

Matching works on the raw (still percent-encoded) path split at "/", so an
encoded slash inside one segment never splits it. Captured values are decoded;
a multi-segment variable keeps "%2F" encoded, as the HttpRule spec asks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum
from urllib.parse import unquote


class SegmentKind(Enum):
    LITERAL = "literal"
    ANY = "*"
    DEEP = "**"


@dataclass(frozen=True)
class Segment:
    kind: SegmentKind
    text: str = ""


@dataclass(frozen=True)
class Variable:
    field_path: str
    start: int
    end: int  # exclusive; for a DEEP last segment the match runs to the path's end

    @property
    def multi_segment(self) -> bool:
        return self.end - self.start > 1


class TemplateError(ValueError):
    """A path template that does not follow the HttpRule grammar."""


_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*")
_LITERAL = re.compile(r"[^/{}=*:]+")
_ENCODED_SLASH = re.compile(r"(%2[fF])")


@dataclass(frozen=True)
class PathTemplate:
    source: str
    segments: tuple[Segment, ...]
    variables: tuple[Variable, ...]
    verb: str | None

    @property
    def has_deep_wildcard(self) -> bool:
        return bool(self.segments) and self.segments[-1].kind is SegmentKind.DEEP

    def specificity(self) -> tuple[int, ...]:
        """Sort key: literal segments outrank wildcards, position by position."""
        rank = {SegmentKind.LITERAL: 2, SegmentKind.ANY: 1, SegmentKind.DEEP: 0}
        return (*(rank[s.kind] for s in self.segments), 1 if self.verb else 0)

    def openapi_path(self) -> str:
        """The template with every variable reduced to `{field.path}`."""
        parts: list[str] = []
        index = 0
        for variable in self.variables:
            parts.extend(_segment_text(s) for s in self.segments[index : variable.start])
            parts.append("{" + variable.field_path + "}")
            index = variable.end
        parts.extend(_segment_text(s) for s in self.segments[index:])
        return "/" + "/".join(parts) + (f":{self.verb}" if self.verb else "")

    def match(self, raw_path: str) -> dict[str, str] | None:
        """Field path -> decoded value for a matching raw path, else None."""
        if not raw_path.startswith("/"):
            return None
        parts = raw_path[1:].split("/")
        if self.verb is not None:
            suffix = ":" + self.verb
            if not parts[-1].endswith(suffix):
                return None
            parts[-1] = parts[-1][: -len(suffix)]
        fixed = len(self.segments) - 1 if self.has_deep_wildcard else len(self.segments)
        if len(parts) < fixed or (not self.has_deep_wildcard and len(parts) != fixed):
            return None
        for segment, part in zip(self.segments[:fixed], parts, strict=False):
            if segment.kind is SegmentKind.LITERAL and unquote(part) != segment.text:
                return None
            if segment.kind is SegmentKind.ANY and not part:
                return None
        captured: dict[str, str] = {}
        for variable in self.variables:
            reaches_deep = self.has_deep_wildcard and variable.end == len(self.segments)
            chosen = parts[variable.start : len(parts) if reaches_deep else variable.end]
            if variable.multi_segment or reaches_deep:
                captured[variable.field_path] = "/".join(_decode_keeping_slash(p) for p in chosen)
            else:
                captured[variable.field_path] = unquote(chosen[0])
        return captured


def _segment_text(segment: Segment) -> str:
    return segment.text if segment.kind is SegmentKind.LITERAL else segment.kind.value


def _decode_keeping_slash(part: str) -> str:
    return "".join(
        piece if _ENCODED_SLASH.fullmatch(piece) else unquote(piece)
        for piece in _ENCODED_SLASH.split(part)
    )


class _Parser:
    def __init__(self, source: str) -> None:
        self.source = source
        self.pos = 0
        self.segments: list[Segment] = []
        self.variables: list[Variable] = []

    def fail(self, why: str) -> TemplateError:
        return TemplateError(f"path template {self.source!r}, at {self.pos}: {why}")

    def peek(self) -> str:
        return self.source[self.pos] if self.pos < len(self.source) else ""

    def expect(self, char: str) -> None:
        if self.peek() != char:
            raise self.fail(f"expected {char!r}")
        self.pos += 1

    def parse(self) -> PathTemplate:
        self.expect("/")
        self.parse_segments(inside_variable=False)
        verb = None
        if self.peek() == ":":
            self.pos += 1
            verb = self.literal()
        if self.pos != len(self.source):
            raise self.fail("unexpected character")
        self.check_deep_wildcard_is_last()
        return PathTemplate(self.source, tuple(self.segments), tuple(self.variables), verb)

    def parse_segments(self, *, inside_variable: bool) -> None:
        while True:
            self.segment(inside_variable=inside_variable)
            if self.peek() != "/":
                return
            self.pos += 1

    def segment(self, *, inside_variable: bool) -> None:
        if self.source.startswith("**", self.pos):
            self.pos += 2
            self.segments.append(Segment(SegmentKind.DEEP))
        elif self.peek() == "*":
            self.pos += 1
            self.segments.append(Segment(SegmentKind.ANY))
        elif self.peek() == "{":
            if inside_variable:
                raise self.fail("variables cannot nest")
            self.variable()
        else:
            self.segments.append(Segment(SegmentKind.LITERAL, self.literal()))

    def variable(self) -> None:
        self.expect("{")
        found = _IDENT.match(self.source, self.pos)
        if found is None:
            raise self.fail("expected a field path")
        field_path = found.group()
        if any(v.field_path == field_path for v in self.variables):
            raise self.fail(f"field {field_path!r} bound twice")
        self.pos = found.end()
        start = len(self.segments)
        if self.peek() == "=":
            self.pos += 1
            self.parse_segments(inside_variable=True)
        else:
            self.segments.append(Segment(SegmentKind.ANY))
        self.expect("}")
        self.variables.append(Variable(field_path, start, len(self.segments)))

    def literal(self) -> str:
        found = _LITERAL.match(self.source, self.pos)
        if found is None:
            raise self.fail("expected a literal")
        self.pos = found.end()
        return found.group()

    def check_deep_wildcard_is_last(self) -> None:
        for index, segment in enumerate(self.segments):
            if segment.kind is SegmentKind.DEEP and index != len(self.segments) - 1:
                raise TemplateError(f"path template {self.source!r}: '**' must be the last segment")


def parse_template(source: str) -> PathTemplate:
    return _Parser(source).parse()
