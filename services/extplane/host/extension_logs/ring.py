"""The most recent records of each install, in memory, for an operator.

Bounded twice: `per_install` records per install (the oldest go first), and
`installs` installs (the one logged to least recently goes first), so a
flood of installs or messages cannot grow the host without limit.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from dataclasses import dataclass

DEFAULT_PER_INSTALL = 1000
DEFAULT_INSTALLS = 1000


@dataclass(frozen=True, slots=True)
class LogRecord:
    level: str
    message: str
    tenant_id: str
    extension_id: str
    install_id: str
    request_id: str | None
    # Nanoseconds since the epoch.
    time_ns: int


class RecentLogs:
    def __init__(
        self, *, per_install: int = DEFAULT_PER_INSTALL, installs: int = DEFAULT_INSTALLS
    ) -> None:
        self._per_install = per_install
        self._installs = installs
        self._rings: OrderedDict[tuple[str, str], deque[LogRecord]] = OrderedDict()

    def add(self, record: LogRecord) -> None:
        key = (record.tenant_id, record.install_id)
        ring = self._rings.get(key)
        if ring is None:
            ring = self._rings[key] = deque(maxlen=self._per_install)
            while len(self._rings) > self._installs:
                self._rings.popitem(last=False)
        else:
            self._rings.move_to_end(key)
        ring.append(record)

    def of(self, tenant_id: str, install_id: str) -> list[LogRecord]:
        """The install's kept records, oldest first."""
        return list(self._rings.get((tenant_id, install_id), ()))
