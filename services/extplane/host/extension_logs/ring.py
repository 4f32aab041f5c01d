"""The most recent records of each install, in memory, for an operator.

Bounded twice: `per_install` records per install (the oldest go first), and
`installs` installs (the one logged to least recently goes first), so a
flood of installs or messages cannot grow the host without limit.

Each kept record carries a sequence number, growing by one per record of its
install, so a reader can ask for what came after the last one it saw and
never see a record twice. An install whose ring was dropped starts again
above every sequence number this process handed out, so a cursor from before
still never skips a new record.
"""

from __future__ import annotations

import dataclasses
from collections import OrderedDict, deque
from collections.abc import Sequence
from dataclasses import dataclass

DEFAULT_PER_INSTALL = 1000
DEFAULT_INSTALLS = 1000
LEVELS = ("info", "warn", "error")


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
    # The message was cut to the size bound.
    truncated: bool = False
    # Set by RecentLogs.add: 1, 2, 3… within the install.
    sequence: int = 0


@dataclass(slots=True)
class _InstallLog:
    records: deque[LogRecord]
    next_sequence: int
    evicted: int = 0
    dropped: int = 0


@dataclass(frozen=True, slots=True)
class LogsAfter:
    """What `RecentLogs.after` read of one install."""

    # Kept records after the cursor at or above the level, oldest first.
    records: Sequence[LogRecord]
    # The install's last sequence number handed out (0: none yet).
    last_sequence: int
    # Records after the cursor were evicted before this read, or the cursor
    # is ahead of the install (the host restarted): some were never seen.
    missed: bool
    # Since the install's ring was made: records pushed out by the bound,
    # and records refused by the rate limit.
    evicted: int
    dropped: int


class RecentLogs:
    def __init__(
        self, *, per_install: int = DEFAULT_PER_INSTALL, installs: int = DEFAULT_INSTALLS
    ) -> None:
        self._per_install = per_install
        self._installs = installs
        self._logs: OrderedDict[tuple[str, str], _InstallLog] = OrderedDict()
        # Every sequence number handed out is at most this.
        self._high_water = 0

    def _log_of(self, tenant_id: str, install_id: str) -> _InstallLog:
        key = (tenant_id, install_id)
        log = self._logs.get(key)
        if log is None:
            log = self._logs[key] = _InstallLog(deque(), self._high_water + 1)
            while len(self._logs) > self._installs:
                self._logs.popitem(last=False)
        else:
            self._logs.move_to_end(key)
        return log

    def add(self, record: LogRecord) -> LogRecord:
        """Keeps `record`, numbered; answers it with its sequence number."""
        log = self._log_of(record.tenant_id, record.install_id)
        kept = dataclasses.replace(record, sequence=log.next_sequence)
        log.next_sequence += 1
        self._high_water = max(self._high_water, kept.sequence)
        if len(log.records) >= self._per_install:
            log.records.popleft()
            log.evicted += 1
        log.records.append(kept)
        return kept

    def count_dropped(self, tenant_id: str, install_id: str) -> None:
        """One more record of the install refused by its rate limit."""
        self._log_of(tenant_id, install_id).dropped += 1

    def of(self, tenant_id: str, install_id: str) -> list[LogRecord]:
        """The install's kept records, oldest first."""
        log = self._logs.get((tenant_id, install_id))
        return [] if log is None else list(log.records)

    def after(
        self, tenant_id: str, install_id: str, sequence: int, *, min_level: str = "info"
    ) -> LogsAfter:
        """The install's kept records numbered above `sequence`, at `min_level` or above."""
        log = self._logs.get((tenant_id, install_id))
        if log is None:
            return LogsAfter((), 0, missed=sequence > 0, evicted=0, dropped=0)
        last = log.next_sequence - 1
        oldest = log.records[0].sequence if log.records else log.next_sequence
        ahead = sequence > last
        if ahead:
            sequence = 0
        # A gap between the cursor and the oldest kept record: evicted unseen.
        missed = ahead or (oldest > sequence + 1 and (log.evicted > 0 or sequence > 0))
        wanted = LEVELS[LEVELS.index(min_level) :]
        records = [r for r in log.records if r.sequence > sequence and r.level in wanted]
        return LogsAfter(records, last, missed, log.evicted, log.dropped)
