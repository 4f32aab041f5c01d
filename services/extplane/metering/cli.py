"""`extplane metering usage` and `extplane metering events`: usage and cost from a shell.

Both call a running metering service with a token holding `metering.reader`
(`--token` or `EXTPLANE_TOKEN`); exit statuses as in `extplane.cli_options`.
"""

from __future__ import annotations

import argparse
import json
from contextlib import aclosing
from typing import Any, cast, get_args

from tabulate import SEPARATING_LINE, tabulate

from extplane.cli_options import (
    EXIT_OK,
    add_connection_options,
    command_group,
    connection,
    moment,
    rfc3339,
    service_failed,
)
from extplane.config import Settings
from extplane_client import MeteringQueryClient, MeteringQueryError, UsageBucket, UsageReport
from extplane_client.metering_query import MeteringFilter, StoredMeteringEvent, UsageDimension

_SUMS = ("events", "tokens_in", "tokens_out", "tool_calls", "duration_ms")
_FILTERS = ("namespace", "task", "agent", "model")


def add_metering_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    actions = command_group(commands, "metering", "usage, cost and events from the metering log")
    usage = actions.add_parser(
        "usage", help="usage and cost over a time range, by window and group (a table)"
    )
    usage.add_argument(
        "--start", type=moment, required=True, help="inclusive, ISO 8601 (UTC without an offset)"
    )
    usage.add_argument("--end", type=moment, help="exclusive (default: now)")
    usage.add_argument(
        "--window",
        choices=("minute", "hour", "day"),
        help="UTC-aligned buckets (default: one bucket for the whole range)",
    )
    usage.add_argument(
        "--group-by",
        action="extend",
        default=[],
        type=_dimensions,
        metavar="DIMENSION[,...]",
        help="namespace, task, agent and/or model, in the order buckets are sorted",
    )
    usage.add_argument("--json", action="store_true", help="print JSON instead of a table")
    events = actions.add_parser("events", help="stored events, oldest first, one JSON line each")
    events.add_argument("--start", type=moment, help="inclusive, ISO 8601 (default: the oldest)")
    events.add_argument("--end", type=moment, help="exclusive (default: no end)")
    events.add_argument(
        "--limit", type=_count, default=0, metavar="N", help="at most N events (default: all)"
    )
    for action in (usage, events):
        for name in _FILTERS:
            action.add_argument(f"--{name}", default="", help=f"only events of this {name}")
        add_connection_options(action, service="metering", role="metering.reader", timeout_s=30)


async def run_metering(args: argparse.Namespace, settings: Settings, default_host: str) -> int:
    where = connection(args, default_host, settings.metering.port, settings.client_tls)
    filters = cast(MeteringFilter, {name: getattr(args, name) for name in _FILTERS})
    async with where.client(MeteringQueryClient) as client:
        try:
            if args.metering_command == "usage":
                report = await client.get_usage(
                    start=args.start,
                    end=args.end,
                    window=args.window,
                    group_by=args.group_by,
                    timeout=args.timeout,
                    **filters,
                )
                print(
                    _usage_json(report, args.group_by) if args.json else _usage_table(report, args)
                )
                return EXIT_OK
            printed = 0
            stored_events = client.iter_metering_events(
                start=args.start, end=args.end, timeout=args.timeout, **filters
            )
            async with aclosing(stored_events):
                async for stored in stored_events:
                    if args.limit and printed >= args.limit:
                        break
                    print(json.dumps(_event_json(stored)))
                    printed += 1
        except MeteringQueryError as error:
            return service_failed("metering", where.target, error)
    return EXIT_OK


def _usage_table(report: UsageReport, args: argparse.Namespace) -> str:
    groups: list[str] = list(args.group_by)
    # The total's label needs a column of its own when there is neither window nor group.
    leading = [*(["window"] if args.window else []), *groups] or [""]
    headers = [*leading, *_SUMS, f"cost ({report.currency})"]
    rows: list[Any] = [_row(bucket, args.window, groups) for bucket in report.buckets]
    if rows and (args.window or groups):
        rows.append(SEPARATING_LINE)
    else:  # without window or group, the one bucket is the total
        rows = []
    rows.append(["total", *[""] * (len(leading) - 1), *_sums(report.total)])
    span = f"usage {rfc3339(report.total.window_start)} .. {rfc3339(report.total.window_end)}"
    if not report.buckets:
        span += ": no events"
    table = tabulate(
        rows,
        headers=headers,
        disable_numparse=True,
        colalign=[*["left"] * len(leading), *["right"] * (len(_SUMS) + 1)],
    )
    return f"{span}\n{table}"


def _row(bucket: UsageBucket, window: str | None, groups: list[str]) -> list[str]:
    leading = [rfc3339(bucket.window_start)] if window else []
    leading += [getattr(bucket, name) for name in groups]
    return [*(leading or [""]), *_sums(bucket)]


def _sums(bucket: UsageBucket) -> list[str]:
    return [*(f"{getattr(bucket, name):,}" for name in _SUMS), str(bucket.cost)]


def _bucket_json(bucket: UsageBucket, groups: list[str]) -> dict[str, Any]:
    return {
        "window_start": rfc3339(bucket.window_start),
        "window_end": rfc3339(bucket.window_end),
        **{name: getattr(bucket, name) for name in groups},
        **{name: getattr(bucket, name) for name in _SUMS},
        "cost": str(bucket.cost),
    }


def _usage_json(report: UsageReport, groups: list[str]) -> str:
    body = {
        "currency": report.currency,
        "buckets": [_bucket_json(bucket, groups) for bucket in report.buckets],
        "total": _bucket_json(report.total, []),
    }
    return json.dumps(body, indent=2)


def _event_json(stored: StoredMeteringEvent) -> dict[str, Any]:
    event = stored.event
    return {
        # Timestamp's own RFC 3339 keeps the nanoseconds a datetime would drop.
        "timestamp": event.timestamp.ToJsonString(),
        **{name: getattr(event, name) for name in _FILTERS},
        **{name: getattr(event, name) for name in _SUMS[1:]},
        "event_id": event.event_id,
        "receive_time": rfc3339(stored.receive_time),
    }


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must not be negative: {text!r}")
    return value


def _dimensions(text: str) -> list[str]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in get_args(UsageDimension)]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"{text!r}: choose from {', '.join(get_args(UsageDimension))}"
        )
    return names
