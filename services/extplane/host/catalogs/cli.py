"""`extplane catalog load clients|services --tenant T FILE [--format json|csv]`:
replace a tenant's clients or service catalog with a file's rows.

The format is the file's extension (`.json`, `.csv`) unless `--format` says
otherwise. Needs a token with `installs.admin` (`--token` or
`EXTPLANE_TOKEN`). Prints the counts as JSON; a refused file exits 3 with
each problem (row and field) on its own line of stderr.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from extplane.cli_options import (
    EXIT_OK,
    UsageError,
    add_connection_options,
    command_group,
    connection,
    service_failed,
)
from extplane.config import Settings
from extplane.host.catalogs.catalog_file import MAX_FILE_BYTES
from extplane_client import CatalogsClient, CatalogsError
from extplane_client.catalogs import FileFormat

_EXTENSIONS: dict[str, FileFormat] = {".json": "json", ".csv": "csv"}


def add_catalog_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    actions = command_group(commands, "catalog", "load a tenant's clients or service catalog")
    load = actions.add_parser("load", help="replace a tenant's catalog with a file's rows")
    load.add_argument("catalog", choices=("clients", "services"))
    load.add_argument("file", type=Path, metavar="FILE", help="a .json or .csv file")
    load.add_argument("--tenant", required=True)
    load.add_argument(
        "--format", choices=("json", "csv"), help="default: from the file's extension"
    )
    add_connection_options(load, service="host", role="installs.admin", timeout_s=60)


def _file_format(args: argparse.Namespace) -> FileFormat:
    if args.format is not None:
        chosen: FileFormat = args.format
        return chosen
    found = _EXTENSIONS.get(args.file.suffix.lower())
    if found is None:
        raise UsageError(f"{args.file}: cannot tell the format from its name; give --format")
    return found


def _content(path: Path) -> bytes:
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise UsageError(f"{path}: {size} bytes, more than the {MAX_FILE_BYTES} a load takes")
        return path.read_bytes()
    except OSError as unreadable:
        raise UsageError(f"{path}: {unreadable.strerror}") from None


async def run_catalog(args: argparse.Namespace, settings: Settings, default_host: str) -> int:
    file_format = _file_format(args)
    content = _content(args.file)
    where = connection(args, default_host, settings.host_providers.port, settings.client_tls)
    async with where.client(CatalogsClient) as client:
        try:
            if args.catalog == "clients":
                clients = await client.load_clients(
                    tenant=args.tenant,
                    content=content,
                    file_format=file_format,
                    timeout=args.timeout,
                )
                counts = {"loaded": clients.client_count, "replaced": clients.previous_count}
            else:
                services = await client.load_services(
                    tenant=args.tenant,
                    content=content,
                    file_format=file_format,
                    timeout=args.timeout,
                )
                counts = {"loaded": services.service_count, "replaced": services.previous_count}
        except CatalogsError as error:
            for field, problem in error.field_violations.items():
                print(f"extplane: {args.file}: {field}: {problem}", file=sys.stderr)
            return service_failed("host", where.target, error)
    print(json.dumps({"tenant": args.tenant, "catalog": args.catalog, **counts}))
    return EXIT_OK
