"""The `extplane` command: run the suite or one service; query, verify and configure it."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from extplane import __version__
from extplane.audit.cli import add_audit_parser, run_audit
from extplane.cli_options import (
    EXIT_NEGATIVE,
    EXIT_USAGE,
    UsageError,
    add_tls_options,
    client_tls,
)
from extplane.config import Settings
from extplane.config_cli import (
    InvalidConfigError,
    add_config_parser,
    add_token_parser,
    config_file_of,
    read_settings,
    run_config,
    run_token_hash,
)
from extplane.conformance_cli import add_conformance_parser, run_conformance_command
from extplane.errors import StartupError
from extplane.host.catalogs.cli import add_catalog_parser, run_catalog
from extplane.host.cli import add_installs_parser, run_installs
from extplane.host.extensions.cli import add_extensions_parser, run_extensions
from extplane.host.logs_cli import add_logs_parser, run_logs
from extplane.host.secrets.cli import add_secrets_parser, run_secrets
from extplane.metering.cli import add_metering_parser, run_metering
from extplane.runtime.logs import configure_logging
from extplane.runtime.server import host_port
from extplane.runtime.signals import run_until_signal
from extplane.runtime.tracing import configure_tracing
from extplane.suite import SERVICE_NAMES, Suite, connect_host
from extplane_client.capabilities import CapabilitiesClient, CapabilitiesError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="extplane", description="The extension plane for agent and PSA platforms."
    )
    parser.add_argument("--version", action="version", version=f"extplane {__version__}")
    parser.add_argument(
        "--config", type=Path, help="TOML config file (also: EXTPLANE_CONFIG_FILE)."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser("up", help="run every service in this process (embedded defaults)")
    serve = commands.add_parser("serve", help="run one service alone (the mesh topology)")
    serve.add_argument("service", choices=SERVICE_NAMES)
    caps = commands.add_parser("capabilities", help="print the capability snapshot")
    caps.add_argument("--address", help="capability service host:port (default: from config)")
    caps.add_argument("--timeout", type=float, default=5.0, help="seconds (default: 5)")
    add_tls_options(caps)
    add_metering_parser(commands)
    add_audit_parser(commands)
    add_installs_parser(commands)
    add_logs_parser(commands)
    add_secrets_parser(commands)
    add_catalog_parser(commands)
    add_extensions_parser(commands)
    add_config_parser(commands)
    add_token_parser(commands)
    add_conformance_parser(commands)
    return parser


async def _serve(settings: Settings, names: Sequence[str], service: str) -> None:
    configure_logging(settings.logging, service=service)
    tracing = configure_tracing(settings.tracing, service_name=f"extplane-{service}")
    suite = Suite(settings, names=names)

    async def announce() -> None:
        print(f"extplane {__version__} serving:", flush=True)
        for name, address in suite.addresses():
            print(f"  {name:<13} {address}", flush=True)

    try:
        await run_until_signal(
            suite.components, grace=settings.shutdown_grace_s, on_started=announce
        )
    finally:
        tracing.shutdown()


async def _print_capabilities(settings: Settings, args: argparse.Namespace) -> int:
    address, timeout_s = args.address, args.timeout
    target = address or host_port(connect_host(settings.host), settings.capabilities.port)
    tls = client_tls(args, settings.client_tls)
    async with CapabilitiesClient(target, tls=tls) as client:
        try:
            snapshot = await client.snapshot(timeout=timeout_s)
        except CapabilitiesError as err:
            print(f"extplane: capabilities from {target}: {err}", file=sys.stderr)
            return 1
    body = {"features": dict(snapshot.features), "metadata": dict(snapshot.metadata)}
    print(json.dumps(body, indent=2, sort_keys=True))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    # These two report on configuration themselves, or need none.
    if args.command == "config":
        return run_config(args)
    if args.command == "token":
        return run_token_hash()
    try:
        settings = read_settings(config_file_of(args))
    except InvalidConfigError as problem:
        print(f"extplane: invalid configuration: {problem}", file=sys.stderr)
        return EXIT_USAGE
    try:
        if args.command == "up":
            asyncio.run(_serve(settings, SERVICE_NAMES, service="suite"))
        elif args.command == "serve":
            asyncio.run(_serve(settings, [args.service], service=args.service))
        elif args.command == "metering":
            return asyncio.run(run_metering(args, settings, connect_host(settings.host)))
        elif args.command == "conformance":
            return asyncio.run(run_conformance_command(args))
        elif args.command == "audit":
            return asyncio.run(run_audit(args, settings, connect_host(settings.host)))
        elif args.command == "installs":
            return asyncio.run(run_installs(args, settings, connect_host(settings.host)))
        elif args.command == "logs":
            try:
                return asyncio.run(run_logs(args, settings, connect_host(settings.host)))
            except KeyboardInterrupt:
                # Ctrl-C is how a follower stops: not an error.
                return 0
        elif args.command == "secrets":
            return asyncio.run(run_secrets(args, settings, connect_host(settings.host)))
        elif args.command == "catalog":
            return asyncio.run(run_catalog(args, settings, connect_host(settings.host)))
        elif args.command == "extensions":
            return asyncio.run(run_extensions(args, settings, connect_host(settings.host)))
        else:
            return asyncio.run(_print_capabilities(settings, args))
    except UsageError as problem:
        print(f"extplane: {problem}", file=sys.stderr)
        return EXIT_USAGE
    except StartupError as err:
        print(f"extplane: cannot start: {err}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:
        # The reader went away (`| head`): stop quietly, as other tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_NEGATIVE
    except OSError as err:
        # The usual cause is a port already in use; say which, without a traceback.
        print(f"extplane: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
