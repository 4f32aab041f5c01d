"""`extplane extensions upload|get|list`: the extension registry from a shell.

Each calls a running host service with a token holding `installs.admin`
(upload) or `installs.reader` (get, list), from `--token` or
`EXTPLANE_TOKEN`; exit statuses as in `extplane.cli_options`. `upload`
reads the component from a file (`--grpc-address` instead for a handler
written in any language). Versions print as JSON (proto field names), one
per line for `list`.
"""

from __future__ import annotations

import argparse
import json
from contextlib import aclosing
from pathlib import Path
from typing import Any

from google.protobuf.json_format import MessageToDict

from extplane.cli_options import (
    EXIT_OK,
    UsageError,
    add_connection_options,
    command_group,
    connection,
    service_failed,
    whole_number,
)
from extplane.config import Settings
from extplane_client import ExtensionsClient, ExtensionsError
from extplane_client.extensions import MAX_COMPONENT_BYTES
from extplane_protos.extplane.admin.v1 import extensions_pb2 as pb


def _names(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--extension-id", required=True)
    parser.add_argument("--version", required=True)


def add_extensions_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    actions = command_group(commands, "extensions", "upload and list extension versions")
    upload = actions.add_parser(
        "upload", help="upload a version: a component file, or --grpc-address of a handler"
    )
    _names(upload)
    handler = upload.add_mutually_exclusive_group(required=True)
    handler.add_argument(
        "component", nargs="?", type=Path, metavar="COMPONENT", help="the .wasm component file"
    )
    handler.add_argument(
        "--grpc-address", metavar="HOST:PORT", help="an alga.extension.v1.HandlerService"
    )
    upload.add_argument(
        "--capability",
        action="append",
        metavar="CAPABILITY",
        help="a capability the extension declares it uses, repeatable (e.g. cap:storage.kv)",
    )
    for flag, what in (
        ("--timeout-ms", "wall-clock limit of one execution (default: the runner's)"),
        ("--memory-bytes", "largest linear memory of the guest (default: the runner's)"),
        ("--fuel", "fuel of one execution (default: no fuel limit)"),
    ):
        upload.add_argument(flag, type=whole_number, metavar="N", help=what)
    get = actions.add_parser("get", help="one version, as JSON")
    _names(get)
    listing = actions.add_parser("list", help="versions in upload order, one JSON line each")
    listing.add_argument("--extension-id", default="", help="only this extension's")
    listing.add_argument("--limit", type=whole_number, metavar="N", help="at most N (default: all)")
    add_connection_options(upload, service="host", role="installs.admin", timeout_s=300)
    for action in (get, listing):
        add_connection_options(action, service="host", role="installs.reader", timeout_s=30)


def _component(path: Path) -> bytes:
    try:
        size = path.stat().st_size
        if size > MAX_COMPONENT_BYTES:
            raise UsageError(
                f"{path}: {size} bytes, more than the {MAX_COMPONENT_BYTES} a component may have"
            )
        return path.read_bytes()
    except OSError as unreadable:
        raise UsageError(f"{path}: {unreadable.strerror or unreadable}") from None


def _json(version: pb.ExtensionVersion) -> dict[str, Any]:
    return MessageToDict(
        version, preserving_proto_field_name=True, always_print_fields_with_no_presence=True
    )


async def _upload(client: ExtensionsClient, args: argparse.Namespace) -> pb.ExtensionVersion:
    component = _component(args.component) if args.component is not None else None
    return await client.upload_extension_version(
        extension_id=args.extension_id,
        version=args.version,
        component=component,
        grpc_address=args.grpc_address,
        declared_capabilities=args.capability or (),
        limits=pb.ExecutionLimitsSpec(
            timeout_ms=args.timeout_ms or 0,
            memory_bytes=args.memory_bytes or 0,
            fuel=args.fuel or 0,
        ),
        timeout=args.timeout,
    )


async def run_extensions(args: argparse.Namespace, settings: Settings, default_host: str) -> int:
    where = connection(args, default_host, settings.host_providers.port, settings.client_tls)
    command = args.extensions_command
    async with where.client(ExtensionsClient) as client:
        try:
            if command == "upload":
                print(json.dumps(_json(await _upload(client, args)), indent=2))
            elif command == "get":
                found = await client.get_extension_version(
                    extension_id=args.extension_id, version=args.version, timeout=args.timeout
                )
                print(json.dumps(_json(found), indent=2))
            else:
                printed = 0
                versions = client.iter_extension_versions(
                    extension_id=args.extension_id, timeout=args.timeout
                )
                async with aclosing(versions):
                    async for version in versions:
                        if args.limit and printed >= args.limit:
                            break
                        print(json.dumps(_json(version)))
                        printed += 1
        except ExtensionsError as error:
            return service_failed("host", where.target, error)
    return EXIT_OK
