"""`extplane logs --tenant T --install I [--follow]`: an install's kept log
records from a running host service, oldest first.

Needs a token with `installs.reader` or `installs.admin` (`--token` or
`EXTPLANE_TOKEN`). `--follow` asks again every `--interval` seconds from the
last record printed, so each record prints once, until Ctrl-C (exit 0) or
until it caught up `--polls` times. Exit statuses as in `extplane.cli_options`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC
from typing import get_args

from google.protobuf.json_format import MessageToDict

from extplane.cli_options import (
    EXIT_OK,
    Commands,
    add_connection_options,
    connection,
    rfc3339,
    service_failed,
    whole_number,
)
from extplane.config import Settings
from extplane_client import ExtensionLogsClient, ExtensionLogsError
from extplane_client.extension_logs import LogLevel
from extplane_protos.extplane.admin.v1 import extension_logs_pb2 as pb

# A follower asks at least this often and at most this rarely.
MIN_INTERVAL_S = 0.1
MAX_INTERVAL_S = 60.0
_LEVEL_NAMES = {
    pb.EXTENSION_LOG_LEVEL_INFO: "INFO",
    pb.EXTENSION_LOG_LEVEL_WARN: "WARN",
    pb.EXTENSION_LOG_LEVEL_ERROR: "ERROR",
}


def _interval(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not MIN_INTERVAL_S <= value <= MAX_INTERVAL_S:
        raise argparse.ArgumentTypeError(
            f"must be {MIN_INTERVAL_S:g} to {MAX_INTERVAL_S:g} seconds: {text!r}"
        )
    return value


def add_logs_parser(commands: Commands) -> None:
    logs = commands.add_parser("logs", help="print an install's recent extension log records")
    logs.add_argument("--tenant", required=True)
    logs.add_argument("--install", "--install-id", dest="install_id", required=True)
    logs.add_argument("--level", choices=get_args(LogLevel), help="only this level and above")
    logs.add_argument("--json", action="store_true", help="one JSON object per record")
    logs.add_argument(
        "--follow", "-f", action="store_true", help="keep printing new records until Ctrl-C"
    )
    logs.add_argument(
        "--interval",
        type=_interval,
        default=2.0,
        metavar="SECONDS",
        help=f"with --follow: seconds between asks, {MIN_INTERVAL_S:g}-{MAX_INTERVAL_S:g} "
        "(default: 2)",
    )
    logs.add_argument(
        "--polls",
        type=whole_number,
        metavar="N",
        help="with --follow: stop after catching up N times (default: until Ctrl-C)",
    )
    add_connection_options(
        logs, service="host", role="installs.reader or installs.admin", timeout_s=30
    )


def format_record(record: pb.ExtensionLogRecord, *, as_json: bool) -> str:
    if as_json:
        return json.dumps(
            MessageToDict(
                record,
                preserving_proto_field_name=True,
                always_print_fields_with_no_presence=True,
            )
        )
    request = f" [{record.request_id}]" if record.request_id else ""
    cut = " (truncated)" if record.truncated else ""
    when = rfc3339(record.time.ToDatetime(tzinfo=UTC))
    level = _LEVEL_NAMES.get(record.level, "?")
    return f"{when} {level:<5} #{record.sequence}{request} {record.message}{cut}"


async def follow_logs(
    client: ExtensionLogsClient,
    args: argparse.Namespace,
    *,
    out: Callable[[str], None],
    wait: Callable[[float], Awaitable[object]] = asyncio.sleep,
) -> None:
    """Prints pages from the cursor until caught up; with --follow, waits and
    does so again, --polls times (forever without it). Every record prints once."""
    level: LogLevel | None = args.level
    cursor = 0
    polls = 0
    while True:
        page = await client.list_extension_logs(
            tenant=args.tenant,
            install_id=args.install_id,
            after_sequence=cursor,
            min_level=level,
            timeout=args.timeout,
        )
        if page.records_missed:
            print(
                "extplane: some records were pushed out of the host's memory before they "
                f"were read (evicted so far: {page.evicted_count})",
                file=sys.stderr,
            )
        for record in page.records:
            out(format_record(record, as_json=args.json))
        cursor = page.next_after_sequence
        if page.has_more:
            continue
        polls += 1
        if not args.follow or (args.polls is not None and polls >= args.polls):
            return
        await wait(args.interval)


async def run_logs(args: argparse.Namespace, settings: Settings, default_host: str) -> int:
    where = connection(args, default_host, settings.host_providers.port, settings.client_tls)
    async with where.client(ExtensionLogsClient) as client:
        try:
            await follow_logs(client, args, out=lambda line: print(line, flush=True))
        except ExtensionLogsError as error:
            return service_failed("host", where.target, error)
    return EXIT_OK
