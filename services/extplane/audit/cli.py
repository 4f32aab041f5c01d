"""`extplane audit verify|export|public-key|checkpoints|rotate-key`: the audit
log from a shell.

Each but `rotate-key` (which works on the key directory) and `verify
--offline` calls a running audit service with a token holding `audit.reader`
(`--token`, or `EXTPLANE_TOKEN`, which keeps it out of the process list).
`verify` exits 0 when the log is intact, 1 naming the first problem when it
is not (cli_verify.py: asked of the service, or checked here with pinned keys
and witnesses); `export` exits 0 once every byte is written, 1 when the output
could not be written. 3 is "could not ask" (unreachable, refused) and 2 a
usage or configuration error, as for every query command
(`extplane.cli_options`).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import IO, cast

from extplane.audit.cli_files import write_whole
from extplane.audit.cli_keys import (
    add_key_parsers,
    print_public_keys,
    run_rotate_key,
    write_checkpoints,
)
from extplane.audit.cli_verify import (
    add_verify_options,
    usage_problem,
    verifies_here,
    verify_here,
    verify_offline,
)
from extplane.cli_options import (
    EXIT_NEGATIVE,
    EXIT_OK,
    EXIT_USAGE,
    add_connection_options,
    command_group,
    connection,
    moment,
    service_failed,
)
from extplane.config import Settings
from extplane_client import AuditQueryClient, AuditQueryError, AuditVerdict
from extplane_client.audit_query import AuditFilter

_FILTERS = ("actor", "action", "resource", "namespace", "outcome", "principal")


def add_audit_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    actions = command_group(
        commands, "audit", "verify, export the audit log; its keys and checkpoints"
    )
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
    add_verify_options(verify)
    keyed = add_key_parsers(actions)
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
    for action in (verify, *keyed, export):
        add_connection_options(action, service="audit", role="audit.reader", timeout_s=300)


async def run_audit(args: argparse.Namespace, settings: Settings, default_host: str) -> int:
    command = args.audit_command
    if command == "rotate-key":
        return run_rotate_key(args, settings)
    where = connection(args, default_host, settings.audit.port, settings.client_tls)
    if command == "verify":
        problem = usage_problem(args) if verifies_here(args) else None
        if problem is not None:
            print(f"extplane: {problem}", file=sys.stderr)
            return EXIT_USAGE
        if args.offline is not None:
            return await verify_offline(args, where.tls)
    async with where.client(AuditQueryClient) as client:
        try:
            if command == "verify" and verifies_here(args):
                return await verify_here(client, args, where.tls)
            if command == "verify":
                verdict = await client.verify_audit_log(
                    args.from_sequence, args.to_sequence, timeout=args.timeout
                )
                return _report(verdict)
            if command == "export":
                return await _export(client, args)
            if command == "checkpoints":
                return await write_checkpoints(client, args)
            return await print_public_keys(client, args)
        except AuditQueryError as error:
            return service_failed("audit", where.target, error)


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

    async def write(out: IO[bytes]) -> None:
        await _stream(client, args, filters, out)

    return await write_whole(args.output, write)


async def _stream(
    client: AuditQueryClient, args: argparse.Namespace, filters: AuditFilter, out: IO[bytes]
) -> None:
    chunks = client.export_audit_events(
        order=args.order, format=args.format, timeout=args.timeout, **filters
    )
    async for chunk in chunks:
        out.write(chunk)
        out.flush()
