"""`extplane config check` and `extplane token hash`: configuration from a shell.

`config check` reads the settings exactly as `extplane up` would (environment,
then the TOML file), checks what can be checked without starting anything,
and prints the effective settings with every secret masked. A problem is one
line naming the setting, exit status 2.

`token hash` prints the SHA-256 form of a bearer token for `auth.tokens[].sha256`,
reading the token from standard input only: an argument would sit in the
process list and the shell history.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import re
import sys
import tomllib
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from pydantic import SecretStr, ValidationError

from extplane.audit.signing_keys import KeySettingError, check_key_files
from extplane.cli_options import EXIT_OK, EXIT_USAGE, command_group
from extplane.config import CONFIG_FILE_ENV, Settings, describe_invalid, load_settings
from extplane.errors import StartupError
from extplane.runtime.auth import BearerToken

MASK = "********"
# Query parameters of a DSN that carry credentials (libpq's `password`, `sslpassword`, ...).
_SECRET_WORDS = ("password", "secret", "token")


class InvalidConfigError(StartupError):
    """A setting that would stop the start; the message names it, on one line."""


def add_config_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    actions = command_group(commands, "config", "check the configuration")
    check = actions.add_parser(
        "check",
        help="validate the config file and environment; print the effective settings, "
        "secrets masked (exit 2 naming the first bad setting)",
    )
    check.add_argument(
        "--config",
        dest="check_config",
        type=Path,
        default=argparse.SUPPRESS,
        help=f"TOML config file (also: --config before the command, ${CONFIG_FILE_ENV})",
    )
    check.add_argument("--json", action="store_true", help="print the settings as JSON")


def add_token_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    actions = command_group(commands, "token", "bearer token helpers")
    actions.add_parser(
        "hash",
        help="read a token from standard input, print its SHA-256 for auth.tokens[].sha256",
    )


def config_file_of(args: argparse.Namespace) -> Path | None:
    chosen: Path | None = getattr(args, "check_config", None) or args.config
    if chosen is None and os.environ.get(CONFIG_FILE_ENV):
        chosen = Path(os.environ[CONFIG_FILE_ENV])
    return chosen


def read_settings(config_file: Path | None) -> Settings:
    """The settings as the servers read them; raises InvalidConfigError naming the setting."""
    try:
        return load_settings(config_file=config_file)
    except ValidationError as error:
        raise InvalidConfigError(describe_invalid(error)) from None
    except tomllib.TOMLDecodeError as error:
        raise InvalidConfigError(f"config file {config_file}: {error}") from None
    except FileNotFoundError as error:
        raise InvalidConfigError(f"config file {config_file}: not found") from error
    except OSError as error:
        raise InvalidConfigError(f"config file {config_file}: {error.strerror or error}") from None
    except ValueError as error:  # pydantic-settings: a nested value that is not valid JSON
        named = re.search(r'field "(\w+)" from source "EnvSettingsSource"', str(error))
        if named is None:
            raise InvalidConfigError(str(error).splitlines()[0]) from None
        raise InvalidConfigError(
            f"{named.group(1)}: its value from the environment is not valid JSON"
        ) from None


def check_settings(settings: Settings) -> None:
    """What the settings' own validation cannot see: the audit signing keys."""
    try:
        check_key_files(settings.audit, settings.data_dir)
    except KeySettingError as error:
        raise InvalidConfigError(f"{error.setting}: {error}") from None


def run_config(args: argparse.Namespace) -> int:
    config_file = config_file_of(args)
    try:
        settings = read_settings(config_file)
        check_settings(settings)
    except InvalidConfigError as problem:
        print(f"extplane: invalid configuration: {problem}", file=sys.stderr)
        return EXIT_USAGE
    effective = _masked(settings.model_dump(mode="json"))
    if args.json:
        print(json.dumps(effective, indent=2))
        return EXIT_OK
    source = f"file {config_file} and the environment" if config_file else "the environment"
    print(f"# configuration OK, from {source}; secrets masked")
    for key, value in _flat(effective):
        print(f"{key} = {json.dumps(value)}")
    return EXIT_OK


def run_token_hash() -> int:
    # A terminal gets a prompt that does not echo; a pipe or file is read whole.
    text = getpass.getpass("token (not echoed): ") if sys.stdin.isatty() else sys.stdin.read()
    token = text.strip()
    if not token or any(c.isspace() for c in token) or not token.isascii():
        print("extplane: the token must be one word of printable ASCII", file=sys.stderr)
        return EXIT_USAGE
    try:
        configured = BearerToken(name="stdin", token=SecretStr(token), roles=["*"])
    except ValidationError as error:
        print(f"extplane: {describe_invalid(error)}", file=sys.stderr)
        return EXIT_USAGE
    # The digest the services compute for a configured token, by the same code.
    print(configured.digest())
    return EXIT_OK


def _masked(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _masked(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_masked(item) for item in value]
    if isinstance(value, str) and "://" in value:
        return _mask_url(value)
    return value


def _mask_url(url: str) -> str:
    """The URL with its password and any credential query parameter masked."""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return url
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    secret_keys = [key for key, _ in pairs if any(word in key.lower() for word in _SECRET_WORDS)]
    if password is None and not secret_keys:
        return url
    netloc = parts.netloc
    if password is not None:
        userinfo, _, host = netloc.rpartition("@")
        user = userinfo.partition(":")[0]
        netloc = f"{user}:{MASK}@{host}"
    query = urlencode(
        [(key, MASK if key in secret_keys else item) for key, item in pairs], safe="*"
    )
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def _flat(value: Any, prefix: str = "") -> list[tuple[str, Any]]:
    """Dotted keys to scalars; a list of tables is indexed, any other list kept whole."""
    if isinstance(value, dict) and value:
        rows: list[tuple[str, Any]] = []
        for key, item in value.items():
            name = key if key.isidentifier() else json.dumps(key)
            rows += _flat(item, f"{prefix}.{name}" if prefix else name)
        return rows
    if isinstance(value, list) and value and all(isinstance(item, dict) for item in value):
        return [row for i, item in enumerate(value) for row in _flat(item, f"{prefix}[{i}]")]
    return [(prefix, value)]
