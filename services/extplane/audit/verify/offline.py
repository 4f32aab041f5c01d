"""Verification that trusts no service: an export and its checkpoints, checked
here with keys the verifier chose, by the same `verify_log` the service runs
(export_source.py), and against the checkpoints witnesses hold."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from extplane.audit.chain.records import Checkpoint
from extplane.audit.chain.signing import CheckpointVerifier
from extplane.audit.verify.export_source import ExportSource, parse_records
from extplane.audit.verify.verifier import Verdict, verify_log
from extplane.audit.verify.walk import Problem
from extplane.audit.witness.agreement import witness_problem
from extplane.keys import VerificationKey

_PEM_BLOCK = re.compile(r"-----BEGIN PUBLIC KEY-----.*?-----END PUBLIC KEY-----", flags=re.DOTALL)


def read_public_keys(path: Path) -> list[VerificationKey]:
    """Every public key PEM block in `path` (what `extplane audit public-key` prints);
    ValueError when there is none or one is not an Ed25519 key."""
    blocks = _PEM_BLOCK.findall(path.read_text())
    if not blocks:
        raise ValueError(f"{path} holds no PEM public key")
    return [VerificationKey.from_pem(block.encode()) for block in blocks]


@dataclass(frozen=True)
class Witnessed:
    """What one witness holds: its name (for the account) and its checkpoints."""

    name: str
    checkpoints: Sequence[Checkpoint]


@dataclass(frozen=True)
class LocalVerdict:
    verdict: Verdict
    problem: Problem | None  # the chain's first problem, else the first witness's

    @property
    def intact(self) -> bool:
        return self.problem is None


async def verify_export(
    jsonl: str,
    checkpoints: Sequence[Checkpoint],
    keys: CheckpointVerifier,
    witnesses: Sequence[Witnessed] = (),
) -> LocalVerdict:
    source = ExportSource(parse_records(jsonl.splitlines()), checkpoints)
    verdict = await verify_log(source, keys)
    problem = verdict.problem
    newest = (await source.log_snapshot()).newest
    for witness in witnesses:
        if problem is not None:
            break
        problem = witness_problem(checkpoints, witness.checkpoints, newest, witness.name)
    return LocalVerdict(verdict, problem)
