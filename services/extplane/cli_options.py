"""What the query commands share: where the service is, the token, TLS, times, exit statuses.

Exit statuses, the same for every query command: 0 done; 1 the answer is
negative (`audit verify`: tampered) or the output could not be written;
2 a usage or configuration error; 3 the service could not be asked or
refused (unreachable, token refused, bad request), named on one line.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeAlias, TypeVar

import grpc

from extplane.runtime.channels import create_channel
from extplane.runtime.server import host_port
from extplane_client import (
    AuditQueryClient,
    CatalogsClient,
    ExtensionLogsClient,
    ExtensionsClient,
    ExtplaneError,
    InstallsClient,
    MeteringQueryClient,
)
from extplane_client.conformance import ConformanceClient
from extplane_client.secrets_admin import SecretsAdminClient
from extplane_client.tls import ClientTls, read_certificates, read_private_key

TOKEN_ENV = "EXTPLANE_TOKEN"
EXIT_OK = 0
EXIT_NEGATIVE = 1
EXIT_USAGE = 2
EXIT_SERVICE = 3


ClientT = TypeVar(
    "ClientT",
    AuditQueryClient,
    MeteringQueryClient,
    ConformanceClient,
    InstallsClient,
    ExtensionLogsClient,
    SecretsAdminClient,
    CatalogsClient,
    ExtensionsClient,
)

# --tls-… flag -> the ClientTls field it sets.
_TLS_FLAGS = {"tls_ca": "ca_file", "tls_cert": "cert_file", "tls_key": "key_file"}


class UsageError(Exception):
    """The command line cannot work as given; the message names the option (exit 2)."""


@dataclass(frozen=True)
class Connection:
    target: str
    token: str | None
    tls: ClientTls | None = None

    @asynccontextmanager
    async def client(self, client_type: type[ClientT]) -> AsyncIterator[ClientT]:
        """A typed client on a traced channel to `target` (TLS per `tls`), sending `token`."""
        async with (
            create_channel(
                self.target, tls=self.tls, options=client_type.channel_options
            ) as channel,
            client_type(channel, token=self.token) as client,
        ):
            yield client


Commands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


def command_group(commands: Commands, name: str, help_text: str) -> Commands:
    """`extplane NAME ACTION …`: the group's parser, whose actions the caller adds;
    the chosen action is `args.NAME_command`."""
    group = commands.add_parser(name, help=help_text)
    return group.add_subparsers(dest=f"{name}_command", required=True, metavar="ACTION")


def add_connection_options(
    parser: argparse.ArgumentParser, *, service: str, role: str, timeout_s: float
) -> None:
    parser.add_argument("--address", help=f"{service} service host:port (default: from config)")
    parser.add_argument(
        "--token",
        help=f"bearer token with the {role} role (default: ${TOKEN_ENV}, which keeps it "
        "out of the process list)",
    )
    parser.add_argument(
        "--timeout",
        type=positive_seconds,
        default=timeout_s,
        help=f"seconds (default: {timeout_s:g})",
    )
    add_tls_options(parser)


def add_tls_options(parser: argparse.ArgumentParser) -> None:
    """--tls-ca/--tls-cert/--tls-key/--tls-server-name: each overrides that field of
    the configured `client_tls` (also EXTPLANE_CLIENT_TLS__CA_FILE, … in the environment)."""
    tls = parser.add_argument_group("TLS (default: client_tls from the config; else plaintext)")
    tls.add_argument("--tls-ca", type=Path, metavar="FILE", help="CA bundle to trust (PEM)")
    tls.add_argument("--tls-cert", type=Path, metavar="FILE", help="client certificate (mTLS)")
    tls.add_argument("--tls-key", type=Path, metavar="FILE", help="key of --tls-cert")
    tls.add_argument(
        "--tls-server-name", metavar="NAME", help="name the server's certificate must carry"
    )


def client_tls(args: argparse.Namespace, configured: ClientTls | None) -> ClientTls | None:
    """TLS from the flags over `configured`; None (plaintext) when neither says TLS.

    The files are read here, so a bad one is a `UsageError` naming its flag
    (or its `client_tls.…` setting, when it came from the configuration).
    """
    fields = {} if configured is None else configured.model_dump()
    named = {field: f"client_tls.{field}" for field in _TLS_FLAGS.values()}
    for flag, field in _TLS_FLAGS.items():
        if getattr(args, flag) is not None:
            fields[field], named[field] = getattr(args, flag), f"--{flag.replace('_', '-')}"
    if args.tls_server_name is not None:
        fields["server_name"] = args.tls_server_name
    if configured is None and not fields:
        return None
    # A configured client_tls has both or neither: only the flags can split the pair.
    if (fields.get("cert_file") is None) != (fields.get("key_file") is None):
        raise UsageError("--tls-cert and --tls-key: give both (mTLS) or neither")
    try:
        for field, read in (
            ("ca_file", read_certificates),
            ("cert_file", read_certificates),
            ("key_file", read_private_key),
        ):
            if fields.get(field) is not None:
                read(fields[field], named[field])
        return ClientTls(**fields)
    except ValueError as invalid:  # a ValidationError too: --tls-server-name ""
        raise UsageError(str(invalid)) from None


def connection(
    args: argparse.Namespace, default_host: str, port: int, configured_tls: ClientTls | None
) -> Connection:
    return Connection(
        target=args.address or host_port(default_host, port),
        token=args.token or os.environ.get(TOKEN_ENV) or None,
        tls=client_tls(args, configured_tls),
    )


def service_failed(service: str, target: str, error: ExtplaneError) -> int:
    """One line naming the service, its address and the gRPC status; EXIT_SERVICE."""
    # "missing bearer token" alone does not say how a command is given one.
    unauthenticated = error.code == grpc.StatusCode.UNAUTHENTICATED
    hint = f" (sent from --token, else ${TOKEN_ENV})" if unauthenticated else ""
    print(f"extplane: {service} service at {target}: {error}{hint}", file=sys.stderr)
    return EXIT_SERVICE


def whole_number(text: str) -> int:
    """An argument type: a whole number of at least 1 (a count, a revision)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1: {text!r}")
    return value


def positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be > 0 seconds: {text!r}")
    return value


def moment(text: str) -> datetime:
    """An ISO 8601 / RFC 3339 time (`2026-11-01`, `2026-11-01T09:30:00Z`,
    `…+02:00`); without an offset it is UTC, as the service's windows are."""
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not an ISO 8601 time: {text!r} (e.g. 2026-11-01T00:00:00Z)"
        ) from None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def rfc3339(value: datetime) -> str:
    """UTC with a Z, as the HTTP API prints times."""
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
