"""What a conformance check is, and what running one found.

A check is data (a name, the level it belongs to, the contract clause it
tests, the docs' section saying so) plus one small probe. Running a probe
gives a Finding; the runner turns it into a CheckResult beside its check.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from extplane_client.conformance._probe import Probe


class Level(StrEnum):
    """`seed`: what the seeds' interfaces promise; `full`: plus extplane's additions."""

    SEED = "seed"
    FULL = "full"


class Verdict(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    # The clause does not apply to this implementation (e.g. batch clauses for a
    # sink that rightly answers UNIMPLEMENTED), or an earlier check made it moot.
    SKIP = "skip"
    # The clause applies, but nothing the kit was given can observe it.
    UNVERIFIABLE = "unverifiable"


@dataclass(frozen=True)
class Clause:
    """What the contract says, and where: `section` is a docs path with its anchor."""

    text: str
    section: str


@dataclass(frozen=True)
class Finding:
    """What a probe found. For a failure: what was sent and what came back."""

    verdict: Verdict
    note: str = ""
    sent: str = ""
    got: str = ""


def passed(note: str = "") -> Finding:
    return Finding(Verdict.PASS, note)


def failed(note: str, *, sent: str = "", got: str = "") -> Finding:
    return Finding(Verdict.FAIL, note, sent=sent, got=got)


def skipped(note: str) -> Finding:
    return Finding(Verdict.SKIP, note)


def unverifiable(note: str) -> Finding:
    return Finding(Verdict.UNVERIFIABLE, note)


Probe_ = Callable[["Probe"], Awaitable[Finding]]


@dataclass(frozen=True)
class Check:
    """One clause, one probe. `required=False` checks are recommendations: a failure
    is reported but does not make the implementation non-conformant.

    `applies_when` names a fact an earlier check records (e.g. `batch`: the sink
    implements the batch RPC); the check runs only when it is true. When it is
    false the check is skipped with `not_applicable` as the reason; when that
    earlier check failed, it is skipped as moot (the failure is reported once).
    """

    name: str
    level: Level
    clause: Clause
    probe: Probe_ = field(compare=False)
    required: bool = True
    applies_when: str = ""
    not_applicable: str = ""


@dataclass(frozen=True)
class CheckResult:
    check: Check
    finding: Finding
    seconds: float

    @property
    def verdict(self) -> Verdict:
        return self.finding.verdict


@dataclass(frozen=True)
class Report:
    """Every check's result, in the order run, for one suite against one target."""

    suite: str
    target: str
    level: Level
    results: tuple[CheckResult, ...]

    def of(self, name: str) -> CheckResult:
        for result in self.results:
            if result.check.name == name:
                return result
        raise KeyError(name)

    def names(self, verdict: Verdict, *, required: bool | None = None) -> list[str]:
        return [
            r.check.name
            for r in self.results
            if r.verdict is verdict and (required is None or r.check.required is required)
        ]

    @property
    def conformant(self) -> bool:
        """True when every required check passed (or does not apply)."""
        return not self.names(Verdict.FAIL, required=True) and not self.names(
            Verdict.UNVERIFIABLE, required=True
        )
