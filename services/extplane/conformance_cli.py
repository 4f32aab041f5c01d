"""`extplane conformance SUITE ADDRESS`: the conformance kit against a running implementation.

Exit statuses: 0 every required check passed; 1 one failed; 2 a usage error;
4 none failed but one could not be observed (see docs/conformance.md).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from contextlib import AsyncExitStack
from dataclasses import replace
from pathlib import Path

from extplane.cli_options import (
    TOKEN_ENV,
    Commands,
    Connection,
    add_tls_options,
    client_tls,
    positive_seconds,
)
from extplane_client import AuditQueryClient, MeteringQueryClient
from extplane_client.conformance import (
    DEFAULT_DEADLINE_S,
    SUITES,
    ConformanceClient,
    Counter,
    Level,
    Options,
    command_counter,
    exit_status,
    junit_xml,
    query_counter,
    render_text,
    to_json,
)
from extplane_client.conformance.capabilities import ROLES
from extplane_client.tls import ClientTls

_COUNTED_SUITES = ("metering", "audit")


def add_conformance_parser(commands: Commands) -> None:
    parser = commands.add_parser(
        "conformance",
        help="check that an implementation of a contract behaves as the runtime expects",
        description="Runs the contract's checks over gRPC against a running implementation "
        "in any language and prints one row per check (docs/conformance.md).",
    )
    parser.add_argument("suite", choices=tuple(SUITES), help="the contract to check")
    parser.add_argument("address", metavar="ADDRESS", help="host:port of the implementation")
    parser.add_argument(
        "--token", help=f"bearer token sent with every call (default: ${TOKEN_ENV})"
    )
    parser.add_argument(
        "--level",
        choices=[level.value for level in Level],
        default=Level.SEED.value,
        help="seed: what the seed interface promises; full: plus extplane's additions "
        "(default: seed)",
    )
    parser.add_argument("--junit", type=Path, metavar="FILE", help="also write JUnit XML here")
    parser.add_argument("--json", action="store_true", help="print JSON instead of the table")
    parser.add_argument(
        "--deadline",
        type=positive_seconds,
        default=DEFAULT_DEADLINE_S,
        help=f"deadline of each call, seconds (default: {DEFAULT_DEADLINE_S:g})",
    )
    counting = parser.add_mutually_exclusive_group()
    counting.add_argument(
        "--query-address",
        metavar="ADDRESS",
        help="metering/audit: a MeteringQueryService or AuditQueryService that sees what "
        "the sink stored, to check retries are counted once",
    )
    counting.add_argument(
        "--count-command",
        metavar="COMMAND",
        help="metering/audit: a command printing how many events are stored in the namespace "
        "named by $EXTPLANE_CONFORMANCE_NAMESPACE",
    )
    parser.add_argument(
        "--query-token", help="bearer token for --query-address (default: the --token)"
    )
    parser.add_argument(
        "--role",
        choices=ROLES,
        default="provider",
        help="capabilities: an extension provider (adds keys) or a core capability service",
    )
    parser.add_argument(
        "--echo-path", help="handler: a route that echoes the request's headers and body"
    )
    add_tls_options(parser)


async def _counter(
    args: argparse.Namespace, token: str | None, tls: ClientTls | None, stack: AsyncExitStack
) -> Counter | None:
    if args.count_command:
        return command_counter(args.count_command)
    if not args.query_address:
        return None
    query = Connection(target=args.query_address, token=args.query_token or token, tls=tls)
    if args.suite == "metering":
        return query_counter(await stack.enter_async_context(query.client(MeteringQueryClient)))
    return query_counter(await stack.enter_async_context(query.client(AuditQueryClient)))


def _usage_error(problem: str) -> int:
    print(f"extplane conformance: {problem}", file=sys.stderr)
    return 2


async def run_conformance_command(args: argparse.Namespace) -> int:
    if (args.query_address or args.count_command) and args.suite not in _COUNTED_SUITES:
        return _usage_error("--query-address and --count-command count metering or audit events")
    token = args.token or os.environ.get(TOKEN_ENV) or None
    # The implementation under test is not ours: only the flags say TLS, not our config.
    tls = client_tls(args, None)
    settings = {"role": args.role, "echo_path": args.echo_path}
    async with AsyncExitStack() as stack:
        try:
            counter = await _counter(args, token, tls, stack)
            client = await stack.enter_async_context(
                Connection(target=args.address, token=token, tls=tls).client(ConformanceClient)
            )
        except ValueError as problem:  # a token that cannot travel as metadata
            return _usage_error(str(problem))
        options = Options(Level(args.level), args.deadline, counter, settings)
        # The client sees a channel; the report names the address as the user gave it.
        report = replace(await client.run(args.suite, options), target=args.address)
    if args.junit is not None:
        args.junit.write_text(junit_xml(report), encoding="utf-8")
    if args.json:
        print(json.dumps(to_json(report), indent=2, ensure_ascii=False))
    else:
        print(render_text(report))
    return exit_status(report)
