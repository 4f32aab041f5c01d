"""`extplane secrets set|list|delete|rotate-key|rewrap`.

`set`, `list` and `delete` call a running host service with a token holding
`installs.admin` (`list`: `installs.reader`), from `--token` or
`EXTPLANE_TOKEN`. `set` reads the value from standard input or `--from-file`,
never from an argument, so it stays out of the process list and the shell
history. `rotate-key` and `rewrap` work on the key directory and the store
the configuration names, as the host itself opens them.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from google.protobuf.json_format import MessageToDict

from extplane.cli_options import (
    EXIT_OK,
    EXIT_SERVICE,
    UsageError,
    add_connection_options,
    command_group,
    connection,
    service_failed,
)
from extplane.config import Settings
from extplane.host.secrets import keys
from extplane.host.secrets.part import SECRETS_STORE
from extplane.host.secrets.vault import SecretVault
from extplane_client.secrets_admin import SecretsAdminClient, SecretsAdminError


def _instant_ns(text: str) -> int:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an RFC 3339 time: {text!r}") from None
    if moment.tzinfo is None:
        raise argparse.ArgumentTypeError(f"give a UTC offset (e.g. Z): {text!r}")
    return int(moment.timestamp()) * 1_000_000_000 + moment.microsecond * 1000


def _names(parser: argparse.ArgumentParser, *, key: bool) -> None:
    parser.add_argument("--tenant", required=True)
    parser.add_argument("--install-id", required=True)
    if key:
        parser.add_argument("--key", required=True, help="the secret's name")


def _key_dir_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--key-dir",
        type=Path,
        metavar="DIR",
        help="default: the configured host_providers.secret_key_dir",
    )


def add_secrets_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    actions = command_group(commands, "secrets", "set, list and delete install secrets; keys")
    setting = actions.add_parser(
        "set", help="set a secret; the value from standard input or --from-file"
    )
    _names(setting, key=True)
    setting.add_argument(
        "--from-file", type=Path, metavar="PATH", help="read the value from PATH (whole file)"
    )
    setting.add_argument(
        "--keep-newline",
        action="store_true",
        help="keep a final newline of the input (dropped by default, as `echo` adds one)",
    )
    setting.add_argument(
        "--expires", type=_instant_ns, metavar="TIME", help="RFC 3339, e.g. 2027-01-01T00:00:00Z"
    )
    deleting = actions.add_parser("delete", help="delete a secret")
    _names(deleting, key=True)
    listing = actions.add_parser("list", help="an install's secrets, one JSON line each, no values")
    _names(listing, key=False)
    rotate = actions.add_parser(
        "rotate-key", help="add a secret key and make it the one new values are sealed with"
    )
    _key_dir_option(rotate)
    rewrap = actions.add_parser(
        "rewrap", help="re-seal every stored secret with the active key (then older keys may go)"
    )
    _key_dir_option(rewrap)
    for action, role in ((setting, "installs.admin"), (deleting, "installs.admin")):
        add_connection_options(action, service="host", role=role, timeout_s=30)
    add_connection_options(listing, service="host", role="installs.reader", timeout_s=30)


def _value(args: argparse.Namespace) -> str:
    if args.from_file is not None:
        try:
            data: bytes = args.from_file.read_bytes()
        except OSError as err:
            raise UsageError(f"--from-file {args.from_file}: {err.strerror or err}") from None
    else:
        if sys.stdin.isatty():
            print("extplane: reading the secret's value from standard input", file=sys.stderr)
        data = sys.stdin.buffer.read()
    try:
        value: str = data.decode()
    except UnicodeDecodeError:
        raise UsageError("the secret's value is not UTF-8 text") from None
    if not args.keep_newline:
        value = value.removesuffix("\n").removesuffix("\r")
    if not value:
        raise UsageError("the secret's value is empty")
    return value


def _json(info: Any) -> dict[str, Any]:
    return MessageToDict(info, preserving_proto_field_name=True)


def _key_dir(args: argparse.Namespace, settings: Settings) -> Path:
    given: Path | None = args.key_dir
    if given is not None:
        return given
    return keys.key_directory(settings.host_providers.secret_key_dir, settings.data_dir)


def rotate_key(args: argparse.Namespace, settings: Settings) -> int:
    directory = _key_dir(args, settings)
    before = keys.SecretKeyRing.load(directory).active_id if keys.has_keys(directory) else "none"
    kid = keys.rotate(directory)
    print(f"active secret key {kid} in {directory} (was {before})")
    return EXIT_OK


async def rewrap(args: argparse.Namespace, settings: Settings) -> int:
    directory = _key_dir(args, settings)
    ring = keys.SecretKeyRing.load(directory)
    store = SECRETS_STORE.at(settings.host_providers.database_url, settings.data_dir)
    await store.open()
    try:
        done = await SecretVault(store, lambda: ring, time.time_ns).rewrap()
    finally:
        await store.close()
    print(
        f"rewrapped {done.rewrapped} secrets onto key {ring.active_id}; "
        f"{done.current} already on it; {done.skipped} changed meanwhile (left as set); "
        f"{len(done.unreadable)} unreadable"
    )
    for at in done.unreadable:
        # Names only: these keep their old key id, so keep that key's file.
        print(
            f"extplane: secret {at.key!r} of install {at.tenant}/{at.install_id} does not "
            "decrypt with any key of the ring; left as it is",
            file=sys.stderr,
        )
    return EXIT_OK if not done.unreadable else EXIT_SERVICE


async def run_secrets(args: argparse.Namespace, settings: Settings, default_host: str) -> int:
    command = args.secrets_command
    if command == "rotate-key":
        return rotate_key(args, settings)
    if command == "rewrap":
        return await rewrap(args, settings)
    value = _value(args) if command == "set" else None
    where = connection(args, default_host, settings.host_providers.port, settings.client_tls)
    names = {"tenant": args.tenant, "install_id": args.install_id, "timeout": args.timeout}
    async with where.client(SecretsAdminClient) as client:
        try:
            if value is not None:
                info = await client.set_secret(
                    key=args.key, value=value, expire_time_ns=args.expires, **names
                )
                print(json.dumps(_json(info), indent=2))
            elif command == "delete":
                await client.delete_secret(key=args.key, **names)
                print(f"deleted secret {args.key!r} of install {args.install_id!r}")
            else:
                for info in await client.list_secrets(**names):
                    print(json.dumps(_json(info)))
        except SecretsAdminError as error:
            return service_failed("host", where.target, error)
    return EXIT_OK
