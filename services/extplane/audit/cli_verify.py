"""`extplane audit verify`, in three ways:

* asked of the service (the default): it verifies its own log with its own
  keys — which a compromised server would also say is intact;
* here, with keys the caller pins (`--public-key FILE`, `--key-id ID`)
  and/or checkpoints witnesses hold (`--witness`): the service only hands over
  its export and checkpoints, and this process checks them (verify/offline.py);
* `--offline EXPORT --checkpoints FILE --public-key FILE`: no service at all.

A witness is a path (a file or directory witness) or `audit:HOST:PORT`, a
remote audit service read with the token in $EXTPLANE_WITNESS_TOKEN (role
audit.reader there) for the log named `--origin`.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from extplane.audit.chain.signing import CheckpointKeys
from extplane.audit.cli_keys import fetch_checkpoints
from extplane.audit.verify.export_source import ExportFormatError, parse_checkpoints
from extplane.audit.verify.offline import LocalVerdict, Witnessed, read_public_keys, verify_export
from extplane.audit.witness.agreement import read_remote_witness, read_witness_path
from extplane.cli_options import EXIT_NEGATIVE, EXIT_OK, EXIT_USAGE, Connection
from extplane.keys import VerificationKey
from extplane_client import AuditQueryClient
from extplane_client.tls import ClientTls

REMOTE_WITNESS = "audit:"
WITNESS_TOKEN_ENV = "EXTPLANE_WITNESS_TOKEN"


def add_verify_options(verify: argparse.ArgumentParser) -> None:
    verify.add_argument(
        "--public-key",
        action="append",
        type=Path,
        default=[],
        metavar="FILE",
        help="trust only these keys (PEM; repeatable): the log is checked here",
    )
    verify.add_argument(
        "--key-id",
        action="append",
        default=[],
        metavar="ID",
        help="trust only the service's keys with these ids, computed here (repeatable)",
    )
    verify.add_argument(
        "--witness",
        action="append",
        default=[],
        metavar="PATH|audit:HOST:PORT",
        help="check the checkpoints against a witness's (repeatable)",
    )
    verify.add_argument("--origin", default="extplane", help="the log's name at remote witnesses")
    verify.add_argument(
        "--offline", type=Path, metavar="EXPORT", help="verify a JSONL export, no service"
    )
    verify.add_argument(
        "--checkpoints", type=Path, metavar="FILE", help="with --offline: its checkpoints"
    )


def verifies_here(args: argparse.Namespace) -> bool:
    return bool(args.public_key or args.key_id or args.witness or args.offline)


def usage_problem(args: argparse.Namespace) -> str | None:
    if args.from_sequence or args.to_sequence:
        return "--from/--to are for the service's own verification; here the whole log is"
    if args.offline is not None and (args.checkpoints is None or not args.public_key):
        return "--offline needs --checkpoints FILE and at least one --public-key FILE"
    if args.offline is None and args.checkpoints is not None:
        return "--checkpoints goes with --offline"
    if args.offline is not None and args.key_id:
        return "--key-id asks the service for its keys: give --public-key with --offline"
    return None


def _fail(message: str) -> int:
    print(f"extplane: {message}", file=sys.stderr)
    return EXIT_USAGE


async def verify_offline(args: argparse.Namespace, tls: ClientTls | None) -> int:
    try:
        keys = [key for path in args.public_key for key in read_public_keys(path)]
        jsonl = args.offline.read_text()
        checkpoints = parse_checkpoints(args.checkpoints.read_text())
        witnesses = await _witnesses(args, tls)
        verdict = await verify_export(jsonl, checkpoints, CheckpointKeys(keys), witnesses)
    except (OSError, ValueError) as error:
        return _fail(str(error))
    return report(verdict)


async def verify_here(
    client: AuditQueryClient, args: argparse.Namespace, tls: ClientTls | None
) -> int:
    """Fetch the checkpoints, then the export (so the export reaches at least as far),
    and check them here."""
    try:
        keys = [key for path in args.public_key for key in read_public_keys(path)]
        witnesses = await _witnesses(args, tls)
    except (OSError, ValueError) as error:
        return _fail(str(error))
    if args.key_id or not keys:
        served = await client.list_audit_public_keys(timeout=args.timeout)
        offered = [VerificationKey.from_pem(key.public_key_pem.encode()) for key in served]
        pinned = set(args.key_id)
        # With only witnesses, the service's keys are taken: the witnesses anchor them.
        keys += [key for key in offered if not pinned or key.key_id in pinned]
    checkpoints = await fetch_checkpoints(client, args.timeout)
    chunks = [chunk async for chunk in client.export_audit_events(timeout=args.timeout)]
    try:
        verdict = await verify_export(
            b"".join(chunks).decode(), checkpoints, CheckpointKeys(keys), witnesses
        )
    except ExportFormatError as error:
        print(f"extplane: the service's export cannot be read: {error}", file=sys.stderr)
        return EXIT_NEGATIVE
    return report(verdict)


async def _witnesses(args: argparse.Namespace, tls: ClientTls | None) -> list[Witnessed]:
    """Each witness's checkpoints; a remote one is reached with the command's TLS."""
    found = []
    for where in args.witness:
        if where.startswith(REMOTE_WITNESS):
            remote = Connection(
                where.removeprefix(REMOTE_WITNESS), os.environ.get(WITNESS_TOKEN_ENV) or None, tls
            )
            async with remote.client(AuditQueryClient) as client:
                held = await read_remote_witness(client, args.origin, args.timeout)
        else:
            held = read_witness_path(Path(where))
        found.append(Witnessed(where, held))
    return found


def report(local: LocalVerdict) -> int:
    verdict = local.verdict
    span = f"sequences {verdict.from_sequence}..{verdict.to_sequence}"
    counted = (
        f"{verdict.records_verified} records, {verdict.checkpoints_verified} checkpoints verified"
    )
    problem = local.problem
    if problem is None:
        print(f"intact: {span} ({counted}); head hash {verdict.head_hash.hex()}")
        return EXIT_OK
    print(f"TAMPERED: {problem.kind.name} at sequence {problem.sequence}: {problem.detail}")
    print(f"verified before it: {span} ({counted})")
    return EXIT_NEGATIVE
