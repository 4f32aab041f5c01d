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
