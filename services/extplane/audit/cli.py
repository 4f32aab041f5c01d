"""`extplane audit verify|public-key|export`: the audit log from a shell.

Each calls a running audit service with a token holding `audit.reader`
(`--token`, or `EXTPLANE_TOKEN`, which keeps it out of the process list).
`verify` exits 0 when the range is intact, 1 naming the first problem when it
is not; `export` exits 0 once every byte is written, 1 when the output could
not be written. 3 is "could not ask" (unreachable, refused) and 2 a usage or
configuration error, as for every query command (`extplane.cli_options`).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
from pathlib import Path
from typing import IO, cast

from extplane.cli_options import (
    EXIT_NEGATIVE,
    EXIT_OK,
    add_connection_options,
    command_group,
    connection,
    moment,
    service_failed,
)
from extplane.config import Settings
from extplane_client import AuditQueryClient, AuditQueryError, AuditVerdict
from extplane_client.audit_query import AuditFilter

_FILTERS = ("actor", "action", "resource", "namespace", "outcome")


def add_audit_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    actions = command_group(commands, "audit", "verify, export the audit log; its public key")
    verify = actions.add_parser(
        "verify",
        help="prove a range of the log intact, or name the first tampered record "
        "(exit 0 intact, 1 tampered, 3 could not verify)",
    )
    verify.add_argument(
        "--from",
        dest="from_sequence",
        type=int,
        default=0,
        metavar="N",
        help="first sequence (default: the oldest retained record)",
    )
    verify.add_argument(
        "--to",
        dest="to_sequence",
        type=int,
        default=0,
        metavar="N",
        help="last (default: the head)",
    )
    key = actions.add_parser("public-key", help="print the checkpoint verification key (PEM)")
    export = actions.add_parser(
        "export", help="stream the records matching a filter as JSONL or CSV"
    )
    export.add_argument("--format", choices=("jsonl", "csv"), default="jsonl")
    for name in _FILTERS:
        export.add_argument(f"--{name}", default="", help=f"only records of this {name}")
    export.add_argument("--start", type=moment, help="inclusive, by event time (ISO 8601)")
    export.add_argument("--end", type=moment, help="exclusive, by event time (ISO 8601)")
    export.add_argument("--order", choices=("ascending", "descending"), default="ascending")
    export.add_argument(
        "-o",
        "--output",
        type=Path,
        metavar="FILE",
        help="write here, complete or not at all (default: standard output)",
    )
    for action in (verify, key, export):
        add_connection_options(action, service="audit", role="audit.reader", timeout_s=300)


async def run_audit(args: argparse.Namespace, settings: Settings, default_host: str) -> int:
    where = connection(args, default_host, settings.audit.port, settings.client_tls)
    async with where.client(AuditQueryClient) as client:
        try:
            if args.audit_command == "verify":
                verdict = await client.verify_audit_log(
                    args.from_sequence, args.to_sequence, timeout=args.timeout
                )
                return _report(verdict)
            if args.audit_command == "export":
                return await _export(client, args)
            key = await client.get_audit_public_key(timeout=args.timeout)
        except AuditQueryError as error:
            return service_failed("audit", where.target, error)
    print(key.public_key_pem, end="")
    print(f"key id {key.key_id} ({key.algorithm})", file=sys.stderr)
    return EXIT_OK


def _report(verdict: AuditVerdict) -> int:
    span = f"sequences {verdict.from_sequence}..{verdict.to_sequence}"
    counted = (
        f"{verdict.records_verified} records, {verdict.checkpoints_verified} checkpoints verified"
    )
    problem = verdict.first_problem
    if verdict.intact or problem is None:
        print(f"intact: {span} ({counted}); head hash {verdict.head_hash}")
        return EXIT_OK
    print(f"TAMPERED: {problem.kind} at sequence {problem.sequence}: {problem.detail}")
    print(f"verified before it: {span} ({counted})")
    return EXIT_NEGATIVE


async def _export(client: AuditQueryClient, args: argparse.Namespace) -> int:
    filters = cast(AuditFilter, {name: getattr(args, name) for name in _FILTERS})
    if args.start is not None:
        filters["start"] = args.start
    if args.end is not None:
        filters["end"] = args.end
    if args.output is None:
        await _stream(client, args, filters, sys.stdout.buffer)
        return EXIT_OK
    target: Path = args.output
    # Beside the target, so the final rename is atomic: FILE is whole or absent.
    try:
        partial = tempfile.NamedTemporaryFile(  # noqa: SIM115 - renamed or removed below
            dir=target.parent, prefix=f".{target.name}.", suffix=".partial", delete=False
        )
    except OSError as error:
        print(f"extplane: cannot write {target}: {error.strerror or error}", file=sys.stderr)
        return EXIT_NEGATIVE
    try:
        with partial:
            await _stream(client, args, filters, partial)
        os.replace(partial.name, target)
    except OSError as error:
        print(f"extplane: cannot write {target}: {error.strerror or error}", file=sys.stderr)
        return EXIT_NEGATIVE
    finally:
        with contextlib.suppress(FileNotFoundError):  # renamed into place
            os.unlink(partial.name)
    return EXIT_OK


async def _stream(
    client: AuditQueryClient, args: argparse.Namespace, filters: AuditFilter, out: IO[bytes]
) -> None:
    chunks = client.export_audit_events(
        order=args.order, format=args.format, timeout=args.timeout, **filters
    )
    async for chunk in chunks:
        out.write(chunk)
        out.flush()
