"""One placeholder convention for the SQL both dialects run.

Statements are written once, with `?` for every bound value (SQLite's own
style); a PostgreSQL store passes them through `postgres_sql`, which numbers
the placeholders as asyncpg wants (`$1, $2, …`). Our SQL never holds a
literal `?`: values are always bound parameters, and identifiers come from
the code's own tuples, never from requests.
"""

from __future__ import annotations

import functools
import itertools
import re

_PLACEHOLDER = re.compile(r"\?")


# Cached: stores number the same few statements on every call (audit
# verification does it per chunk); list filters make a bounded set of texts.
@functools.lru_cache(maxsize=512)
def postgres_sql(sql: str) -> str:
    """`sql` with its `?` placeholders numbered for PostgreSQL."""
    counter = itertools.count(1)
    return _PLACEHOLDER.sub(lambda _match: f"${next(counter)}", sql)


class Conditions:
    """A WHERE clause and its bound values, built together so they cannot drift apart.

    Columns are the code's own names; values are always parameters.
    """

    def __init__(self) -> None:
        self.terms: list[str] = []
        self.values: list[object] = []

    def add(self, term: str, *values: object) -> None:
        """A term with one `?` per value."""
        self.terms.append(term)
        self.values.extend(values)

    def equal(self, column: str, value: str) -> None:
        """`column = value`; an empty value matches any (adds nothing)."""
        if value:
            self.add(f"{column} = ?", value)

    def in_range(self, column: str, start: int | None, end: int | None) -> None:
        """start <= column < end, each bound only when given."""
        if start is not None:
            self.add(f"{column} >= ?", start)
        if end is not None:
            self.add(f"{column} < ?", end)

    def where(self) -> str:
        """` WHERE a AND b`, or nothing when there are no terms."""
        return f" WHERE {' AND '.join(self.terms)}" if self.terms else ""
