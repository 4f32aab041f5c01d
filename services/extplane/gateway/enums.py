"""Enum values as people type them in a URL.

protojson takes a value's full name (`AUDIT_EXPORT_FORMAT_CSV`) or its number.
In a query string that is a mouthful, so path and query parameters also take
the name without the prefix every value of the enum shares, in any case:
`format=csv`, `order=descending`, `group_by=model`. The full name and the
number keep working; a number must be one the enum declares, written plainly
(`2`, not `02` or `+2`), as grpc-gateway reads query parameters. Request
bodies stay strict protojson.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from google.protobuf.descriptor import EnumDescriptor


def shared_prefix(names: list[str]) -> str:
    """The leading `WORD_` segments every name has, never a whole name.

    `USAGE_WINDOW_UNSPECIFIED`, `USAGE_WINDOW_HOUR`, ... -> `USAGE_WINDOW_`;
    names with nothing in common -> "".
    """
    if not names:
        return ""
    split = [name.split("_") for name in names]
    common: list[str] = []
    for segments in zip(*split, strict=False):
        if any(segment != segments[0] for segment in segments):
            break
        common.append(segments[0])
    # Keep at least one segment of the shortest name, so no short form is empty.
    common = common[: min(len(segments) for segments in split) - 1]
    return "".join(f"{segment}_" for segment in common)


@dataclass(frozen=True)
class EnumSpellings:
    """How the values of one enum may be written in a parameter."""

    # Short form (lower case) of each value, in declaration order.
    short_names: tuple[str, ...]
    full_names: tuple[str, ...]
    # Lower-cased short or full name -> the full name it stands for.
    by_folded: dict[str, str]
    # Each declared number as written in decimal -> the number.
    numbers: dict[str, int]

    def resolve(self, text: str) -> str | int:
        """The protojson value for `text`; ValueError says what is accepted."""
        if text in self.full_names:
            return text
        number = self.numbers.get(text)
        if number is not None:
            return number
        found = self.by_folded.get(text.lower())
        if found is None:
            choices = ", ".join(dict.fromkeys(self.short_names))
            raise ValueError(
                f"{text!r} is not one of {choices} (any case), a full value name or a number"
            )
        return found


@cache
def spellings(enum: EnumDescriptor) -> EnumSpellings:
    full_names = tuple(value.name for value in enum.values)
    prefix = shared_prefix(list(full_names))
    short_names = tuple(name[len(prefix) :].lower() for name in full_names)
    number_of = {value.name: value.number for value in enum.values}
    candidates: dict[str, set[int]] = {}
    spelled: dict[str, str] = {}
    for full, short in zip(full_names, short_names, strict=True):
        for folded in (full.lower(), short):
            candidates.setdefault(folded, set()).add(number_of[full])
            spelled.setdefault(folded, full)
    # A spelling two different values fold to is ambiguous: only exact names reach them.
    by_folded = {key: spelled[key] for key, numbers in candidates.items() if len(numbers) == 1}
    numbers = {str(value.number): value.number for value in enum.values}
    return EnumSpellings(short_names, full_names, by_folded, numbers)
