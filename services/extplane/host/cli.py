"""`extplane installs register|update|disable|enable|get|list|issue-token`: the
install registry from a shell.

Each calls a running host service with a token holding `installs.admin`
(changes), `installs.reader` (get, list) or `installs.issuer` (issue-token),
from `--token` or `EXTPLANE_TOKEN`; exit statuses as in `extplane.cli_options`.
Installs print as JSON (proto field names), one per line for `list`;
`issue-token` prints the install token alone (or, with --json, its expiry
and key id too).
"""

from __future__ import annotations

import argparse
import json
from contextlib import aclosing
from datetime import UTC
from typing import Any

from google.protobuf.json_format import MessageToDict

from extplane.cli_options import (
    EXIT_OK,
    Commands,
    UsageError,
    add_connection_options,
    command_group,
    connection,
    rfc3339,
    service_failed,
    whole_number,
)
from extplane.config import Settings
from extplane_client import InstallsClient, InstallsError
from extplane_protos.extplane.admin.v1 import installs_pb2 as pb

_LIMITS = (
    "storage_value_bytes",
    "storage_keys_per_namespace",
    "storage_bytes",
    "log_records_per_minute",
)


def _route(text: str) -> tuple[str, str]:
    route, equals, url = text.partition("=")
    if not equals or not route or not url:
        raise argparse.ArgumentTypeError(f"not ROUTE=URL: {text!r}")
    return route, url


def _user_field(text: str) -> tuple[str, str]:
    key, equals, value = text.partition("=")
    if not equals or not key:
        raise argparse.ArgumentTypeError(f"not KEY=VALUE: {text!r}")
    return key, value


def _issue_token_parser(actions: Commands) -> argparse.ArgumentParser:
    issue = actions.add_parser(
        "issue-token", help="print an install token for an execution (installs.issuer)"
    )
    issue.add_argument("--tenant", required=True)
    issue.add_argument("--install", "--install-id", dest="install_id", required=True)
    issue.add_argument("--request-id", default="", help="the execution's request id")
    issue.add_argument("--audience", default="", help="the token's aud (default: extplane-host)")
    user = issue.add_argument_group("the user the execution acts for (default: none)")
    user.add_argument("--user-id", help="required for any other --user-… option")
    for flag in ("user-name", "user-email", "user-type", "client-name", "client-id"):
        user.add_argument(f"--{flag}")
    user.add_argument(
        "--user-field",
        action="append",
        type=_user_field,
        metavar="KEY=VALUE",
        help="an additional field of the user, repeatable",
    )
    issue.add_argument("--json", action="store_true", help="token, expire_time and key_id")
    return issue


_USER_DETAILS = ("user_name", "user_email", "user_type", "client_name", "client_id")


def _token_user(args: argparse.Namespace) -> pb.InstallTokenUser | None:
    details = {name: getattr(args, name) for name in _USER_DETAILS if getattr(args, name)}
    if args.user_id is None:
        if details or args.user_field:
            raise UsageError("--user-id is required with the other --user-… options")
        return None
    return pb.InstallTokenUser(
        user_id=args.user_id,
        additional_fields=[
            pb.InstallTokenUserField(key=key, value=value) for key, value in args.user_field or ()
        ],
        **details,
    )


async def _issue_token(client: InstallsClient, args: argparse.Namespace) -> str:
    issued = await client.issue_install_token(
        tenant=args.tenant,
        install_id=args.install_id,
        request_id=args.request_id,
        user=_token_user(args),
        audience=args.audience,
        timeout=args.timeout,
    )
    if not args.json:
        return issued.token
    return json.dumps(
        {
            "token": issued.token,
            "expire_time": rfc3339(issued.expire_time.ToDatetime(tzinfo=UTC)),
            "key_id": issued.key_id,
        },
        indent=2,
    )


def _names(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--tenant", required=True)
    parser.add_argument("--install-id", required=True)


def _settings_options(parser: argparse.ArgumentParser, *, replacing: bool) -> None:
    verb = "replace the" if replacing else "the"
    parser.add_argument(
        "--grant",
        action="append",
        metavar="CAPABILITY",
        help=f"{verb} granted capabilities, repeatable (e.g. cap:storage.kv); "
        "nothing is granted that is not listed",
    )
    parser.add_argument(
        "--egress",
        action="append",
        metavar="ENTRY",
        help=f"{verb} egress allowlist, repeatable (e.g. https://api.example.com, "
        "https://*.example.com:8443, 10.0.0.0/8; without a scheme: https only)",
    )
    parser.add_argument(
        "--route",
        action="append",
        type=_route,
        metavar="ROUTE=URL",
        help=f"{verb} UI proxy routes, repeatable",
    )
    for name in _LIMITS:
        parser.add_argument(f"--{name.replace('_', '-')}", type=whole_number, metavar="N")
    if replacing:
        for flag, what in (
            ("--no-grants", "grant nothing"),
            ("--no-egress", "allow no egress"),
            ("--no-routes", "remove every UI proxy route"),
        ):
            parser.add_argument(flag, action="store_true", help=what)


def add_installs_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    actions = command_group(commands, "installs", "register, change and list extension installs")
    register = actions.add_parser("register", help="register a new install (enabled)")
    _names(register)
    register.add_argument("--extension-id", required=True)
    register.add_argument("--version", required=True)
    _settings_options(register, replacing=False)
    update = actions.add_parser("update", help="change an install at the revision you read")
    _names(update)
    update.add_argument("--revision", type=whole_number, required=True, help="as `get` printed it")
    update.add_argument("--version")
    _settings_options(update, replacing=True)
    toggles = []
    for verb in ("disable", "enable"):
        toggle = actions.add_parser(verb, help=f"{verb} an install")
        _names(toggle)
        toggle.add_argument("--revision", type=whole_number, help="refuse if it changed since")
        toggle.add_argument("--reason", default="", help="recorded in the audit log")
        toggles.append(toggle)
    get = actions.add_parser("get", help="one install, as JSON")
    _names(get)
    listing = actions.add_parser("list", help="installs in registration order, one JSON line each")
    listing.add_argument("--tenant", default="")
    listing.add_argument("--extension-id", default="")
    state = listing.add_mutually_exclusive_group()
    state.add_argument("--enabled", dest="state", action="store_const", const="enabled")
    state.add_argument("--disabled", dest="state", action="store_const", const="disabled")
    listing.add_argument("--limit", type=whole_number, metavar="N", help="at most N (default: all)")
    issue = _issue_token_parser(actions)
    for action, role in (
        (register, "installs.admin"),
        (update, "installs.admin"),
        *((toggle, "installs.admin") for toggle in toggles),
        (get, "installs.reader"),
        (listing, "installs.reader"),
        (issue, "installs.issuer"),
    ):
        add_connection_options(action, service="host", role=role, timeout_s=30)


def _limits(args: argparse.Namespace, base: pb.InstallLimits | None) -> pb.InstallLimits | None:
    given = {name: getattr(args, name) for name in _LIMITS if getattr(args, name) is not None}
    if not given:
        return None
    limits = pb.InstallLimits()
    if base is not None:
        limits.CopyFrom(base)
    for name, value in given.items():
        setattr(limits, name, value)
    return limits


def _replacement(values: list[Any] | None, cleared: bool) -> list[Any] | None:
    return [] if cleared else values


def _json(install: pb.Install) -> dict[str, Any]:
    return MessageToDict(
        install, preserving_proto_field_name=True, always_print_fields_with_no_presence=True
    )


async def _one(client: InstallsClient, args: argparse.Namespace) -> pb.Install:
    names = {"tenant": args.tenant, "install_id": args.install_id, "timeout": args.timeout}
    command = args.installs_command
    if command == "register":
        return await client.register_install(
            extension_id=args.extension_id,
            version=args.version,
            granted_capabilities=args.grant or (),
            egress_allowlist=args.egress or (),
            ui_proxy_routes=args.route or (),
            limits=_limits(args, None),
            **names,
        )
    if command == "update":
        base = None
        if any(getattr(args, name) is not None for name in _LIMITS):
            # Limits not given keep their value: merged into what is stored now.
            base = (await client.get_install(**names)).limits
        return await client.update_install(
            revision=args.revision,
            version=args.version,
            granted_capabilities=_replacement(args.grant, args.no_grants),
            egress_allowlist=_replacement(args.egress, args.no_egress),
            ui_proxy_routes=_replacement(args.route, args.no_routes),
            limits=_limits(args, base),
            **names,
        )
    if command in ("disable", "enable"):
        change = client.disable_install if command == "disable" else client.enable_install
        return await change(revision=args.revision or 0, reason=args.reason, **names)
    return await client.get_install(**names)


async def run_installs(args: argparse.Namespace, settings: Settings, default_host: str) -> int:
    where = connection(args, default_host, settings.host_providers.port, settings.client_tls)
    async with where.client(InstallsClient) as client:
        try:
            if args.installs_command == "issue-token":
                print(await _issue_token(client, args))
                return EXIT_OK
            if args.installs_command != "list":
                print(json.dumps(_json(await _one(client, args)), indent=2))
                return EXIT_OK
            printed = 0
            installs = client.iter_installs(
                tenant=args.tenant,
                extension_id=args.extension_id,
                enabled=args.state,
                timeout=args.timeout,
            )
            async with aclosing(installs):
                async for install in installs:
                    if args.limit and printed >= args.limit:
                        break
                    print(json.dumps(_json(install)))
                    printed += 1
        except InstallsError as error:
            return service_failed("host", where.target, error)
    return EXIT_OK
