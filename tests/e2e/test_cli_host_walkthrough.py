"""docs/host.md's "Try it on `make run`", run as written: `extplane up` as a process,
driven only through the shell commands the section shows, then the attacks a
reviewer tries over the wire (another install's token, a forged one, a capability
not granted and its audit record).

Each command is kept here as the section prints it and checked to be there
verbatim, so the page cannot drift from what is proven; the two files it writes
(clients.csv, walkthrough.py) are read from the page itself.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

import grpc
import jwt
import pytest

from extplane_client import alga_errors
from extplane_protos.alga.extension.v1 import (
    context_pb2,
    context_pb2_grpc,
    secrets_pb2,
    secrets_pb2_grpc,
    storage_pb2,
    storage_pb2_grpc,
)
from tests.e2e.cli_process import RunningCli, ephemeral_env, start_cli

DOC = Path(__file__).resolve().parents[2] / "docs" / "host.md"

TOKENS = """[
  {"name": "ops", "token": "walkthrough-admin-0123456789", "roles": ["installs.admin"]},
  {"name": "auditor", "token": "walkthrough-reader-0123456789",
   "roles": ["installs.reader", "audit.reader"]},
  {"name": "runner", "token": "walkthrough-issuer-0123456789", "roles": ["installs.issuer"]},
  {"name": "host", "token": "walkthrough-writer-0123456789", "roles": ["audit.writer"]}
]"""
AUDIT_TOKEN = "walkthrough-writer-0123456789"
SHELL_VARIABLES = """\
ADMIN=walkthrough-admin-0123456789 READER=walkthrough-reader-0123456789
ISSUER=walkthrough-issuer-0123456789"""

REGISTER_APP_1 = """\
EXTPLANE_TOKEN=$ADMIN extplane installs register --address "$HOST" --tenant acme \\
  --install-id app-1 --extension-id com.example.tickets --version 1.0.0 \\
  --grant cap:context.read --grant cap:storage.kv --grant cap:secrets.get \\
  --grant cap:client.read --grant cap:log.emit"""
REGISTER_APP_2 = """\
EXTPLANE_TOKEN=$ADMIN extplane installs register --address "$HOST" --tenant acme \\
  --install-id app-2 --extension-id com.example.other --version 1.0.0 --grant cap:storage.kv"""
SET_SECRET = """\
printf %s sk-live-123 | EXTPLANE_TOKEN=$ADMIN extplane secrets set --address "$HOST" \\
  --tenant acme --install-id app-1 --key API_KEY"""
LOAD_CLIENTS = (
    'EXTPLANE_TOKEN=$ADMIN extplane catalog load clients --address "$HOST" --tenant acme '
    "clients.csv"
)
ISSUE_APP_1 = """\
TOKEN=$(EXTPLANE_TOKEN=$ISSUER extplane installs issue-token --address "$HOST" \\
  --tenant acme --install app-1 --request-id req-1)"""
ISSUE_APP_2 = """\
OTHER=$(EXTPLANE_TOKEN=$ISSUER extplane installs issue-token --address "$HOST" \\
  --tenant acme --install app-2)"""
CALL = "TOKEN=$TOKEN python walkthrough.py"
SHOW_LOGS = 'EXTPLANE_TOKEN=$READER extplane logs --address "$HOST" --tenant acme --install app-1'
CALL_AS_APP_2 = "TOKEN=$OTHER python walkthrough.py"
FORGE = """\
SIG=${TOKEN##*.}
FORGED="${TOKEN%.*}.$(printf %s "${SIG:0:40}" | tr A-Za-z B-ZAb-za)${SIG:40}\""""
CALL_FORGED = "TOKEN=$FORGED python walkthrough.py"
SHOW_DENIALS = (
    'EXTPLANE_TOKEN=$READER extplane audit export --address "$AUDIT" --action capability_deny'
)
LIST_OVER_HTTP = (
    'curl -sf -H "Authorization: Bearer $READER" "$GATEWAY/v1/admin/installs?tenant=acme"'
)
JWKS_OVER_HTTP = 'curl -sf "$GATEWAY/v1/admin/jwks.json"'

EXPECTED_CALL_OUTPUT = """\
context: acme com.example.tickets app-1 req-1
storage: greeting=hello revision 1 keys ['greeting']
secret: API_KEY=sk-live-123
clients: 2 ['Acme Corp', 'Globex']
logged: ticket synced
"""


def _section() -> str:
    text = DOC.read_text(encoding="utf-8")
    start = text.index("## Try it on `make run`")
    return text[start : text.index("\n## ", start + 1)]


def _heredoc(section: str, name: str) -> str:
    found = re.search(rf"^cat > {re.escape(name)} <<'EOF'\n(.*?\n)EOF$", section, re.S | re.M)
    assert found, f"docs/host.md shows no heredoc writing {name}"
    return found.group(1)


class Shell:
    """One command line at a time, through bash, with the second shell's variables."""

    def __init__(self, workdir: Path, variables: Mapping[str, str]) -> None:
        self.workdir = workdir
        clean = {k: v for k, v in os.environ.items() if not k.startswith("EXTPLANE_")}
        # `export PATH="$PWD/.venv/bin:$PATH"`: extplane and python of this checkout.
        clean["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{clean.get('PATH', '')}"
        self.env = {**clean, **variables}

    def run(self, line: str, *, check: bool = True) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            ["bash", "-c", f"set -o pipefail\n{line}"],
            cwd=self.workdir,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        if check:
            assert done.returncode == 0, f"{line}\n{done.stdout}\n{done.stderr}"
        return done

    def capture(self, lines: str, name: str) -> str:
        """Run lines that set NAME and keep NAME for the later lines, as the shell would."""
        value = self.run(f'{lines}\nprintf %s "${name}"').stdout
        self.env[name] = value
        return value


def _variant(error: grpc.RpcError) -> str | None:
    found = alga_errors.variant_from_error(error)
    return None if found is None else found.name


def _kid(token: str) -> str:
    kid: str = jwt.get_unverified_header(token)["kid"]
    return kid


def _forged(token: str) -> str:
    # One character of the signature changed, in the middle (the last one may
    # carry only padding bits).
    body, _, signature = token.rpartition(".")
    middle = len(signature) // 2
    swapped = "B" if signature[middle] != "B" else "C"
    return f"{body}.{signature[:middle]}{swapped}{signature[middle + 1 :]}"


def test_the_walkthrough_from_make_run_to_an_extension_call(
    tmp_path: Path, cli_processes: list[RunningCli]
) -> None:
    section = _section()
    for shown in (
        f"export EXTPLANE_AUTH__TOKENS='{TOKENS}'",
        f"export EXTPLANE_HOST_PROVIDERS__AUDIT_TOKEN={AUDIT_TOKEN}",
        SHELL_VARIABLES,
        REGISTER_APP_1,
        REGISTER_APP_2,
        SET_SECRET,
        LOAD_CLIENTS,
        ISSUE_APP_1,
        ISSUE_APP_2,
        CALL,
        SHOW_LOGS,
        CALL_AS_APP_2,
        FORGE,
        CALL_FORGED,
        SHOW_DENIALS,
        LIST_OVER_HTTP,
        JWKS_OVER_HTTP,
        EXPECTED_CALL_OUTPUT,
    ):
        assert shown in section, f"docs/host.md no longer shows:\n{shown}"

    env = ephemeral_env(
        tmp_path,
        {"EXTPLANE_AUTH__TOKENS": TOKENS, "EXTPLANE_HOST_PROVIDERS__AUDIT_TOKEN": AUDIT_TOKEN},
    )
    suite = start_cli(["up"], env, {"host", "audit", "gateway"})
    cli_processes.append(suite)
    host = suite.grpc_target("host")
    variables = dict(line.split("=", 1) for line in SHELL_VARIABLES.replace("\n", " ").split(" "))
    variables |= {
        "HOST": host,
        "AUDIT": suite.grpc_target("audit"),
        "GATEWAY": suite.http_base("gateway"),
    }
    workdir = tmp_path / "shell"
    workdir.mkdir()
    (workdir / "clients.csv").write_text(_heredoc(section, "clients.csv"), encoding="utf-8")
    (workdir / "walkthrough.py").write_text(_heredoc(section, "walkthrough.py"), encoding="utf-8")
    shell = Shell(workdir, variables)

    registered = json.loads(shell.run(REGISTER_APP_1).stdout)
    assert registered["granted_capabilities"] == sorted(
        ["cap:context.read", "cap:storage.kv", "cap:secrets.get", "cap:client.read", "cap:log.emit"]
    )
    assert json.loads(shell.run(REGISTER_APP_2).stdout)["granted_capabilities"] == [
        "cap:storage.kv"
    ]
    secret = json.loads(shell.run(SET_SECRET).stdout)
    assert secret["key"] == "API_KEY"
    assert "sk-live-123" not in json.dumps(secret)
    assert json.loads(shell.run(LOAD_CLIENTS).stdout) == {
        "tenant": "acme",
        "catalog": "clients",
        "loaded": 2,
        "replaced": 0,
    }
    token = shell.capture(ISSUE_APP_1, "TOKEN")
    other = shell.capture(ISSUE_APP_2, "OTHER")
    assert token.count(".") == 2
    assert other.count(".") == 2

    # The extension's calls, exactly as the page prints them.
    called = shell.run(CALL)
    assert called.stdout == EXPECTED_CALL_OUTPUT
    logs = shell.run(SHOW_LOGS).stdout.splitlines()
    assert len(logs) == 1
    assert logs[0].endswith(" INFO  #1 [req-1] ticket synced")

    # Refusals the page shows: a capability not granted, a forged signature.
    as_app_2 = shell.run(CALL_AS_APP_2, check=False)
    assert as_app_2.returncode == 1
    assert as_app_2.stdout == ""
    assert as_app_2.stderr.startswith(
        "refused: PERMISSION_DENIED: this install is not granted cap:context.read"
    )
    forged_by_shell = shell.capture(FORGE, "FORGED")
    assert forged_by_shell != token
    assert forged_by_shell.rpartition(".")[0] == token.rpartition(".")[0]
    refused = shell.run(CALL_FORGED, check=False)
    assert refused.returncode == 1
    assert refused.stderr == (
        "refused: UNAUTHENTICATED: install token: the signature does not verify\n"
    )

    # The denial is in the audit log, read with the reader token; polled, since
    # the host hands audit events over in the background.
    denial: dict[str, object] = {}
    deadline = time.monotonic() + 30
    while not denial and time.monotonic() < deadline:
        records = [json.loads(line) for line in shell.run(SHOW_DENIALS).stdout.splitlines()]
        if records:
            denial = records[0]["event"]
        else:
            time.sleep(0.2)
    assert denial, "no capability_deny record reached the audit log"
    assert denial["actor"] == "extension/com.example.other@app-2"
    assert denial["resource"] == "alga.extension.v1.ContextService.GetContext"
    assert denial["namespace"] == "acme"
    assert denial["outcome"] == "denied"
    details = denial["details"]
    assert isinstance(details, dict)
    jti = jwt.decode(other, options={"verify_signature": False})["jti"]
    assert details.pop("token_id") == jti
    assert details == {
        "capability": "cap:context.read",
        "extension": "com.example.other",
        "install": "app-2",
    }

    # Without a token, or with one the suite does not know: exit 3, and the line
    # says where a command takes its token from.
    for given in ("", "EXTPLANE_TOKEN=not-a-known-token-0123 "):
        refused_cli = shell.run(
            f'{given}extplane installs list --address "$HOST" --tenant acme', check=False
        )
        assert refused_cli.returncode == 3
        assert refused_cli.stdout == ""
        reason = "unknown" if given else "missing"
        assert refused_cli.stderr == (
            f"extplane: host service at {host}: UNAUTHENTICATED: {reason} bearer token "
            "(sent from --token, else $EXTPLANE_TOKEN)\n"
        )

    # The gateway: an admin route with a bearer token, and the public JWKS.
    listed = json.loads(shell.run(LIST_OVER_HTTP).stdout)
    assert [install["installId"] for install in listed["installs"]] == ["app-1", "app-2"]
    jwks = json.loads(shell.run(JWKS_OVER_HTTP).stdout)
    assert [key["kid"] for key in jwks["keys"]] == [_kid(token)]
    assert shell.run(LIST_OVER_HTTP.replace("$READER", "$ISSUER"), check=False).returncode == 22

    _attack_over_the_wire(host, token=token, other=other)
    assert suite.terminate() == 0


def _attack_over_the_wire(host: str, *, token: str, other: str) -> None:
    """What the page only says: another install sees none of app-1's data, and a
    token altered anywhere in its signature is refused before any handler."""
    with grpc.insecure_channel(host) as channel:
        storage = storage_pb2_grpc.StorageServiceStub(channel)
        as_other = (("x-extplane-install-token", other),)
        listing = storage.List(
            storage_pb2.StorageServiceListRequest(namespace="notes"), metadata=as_other, timeout=10
        )
        assert list(listing.entries) == []
        with pytest.raises(grpc.RpcError) as missing:
            storage.Get(
                storage_pb2.StorageServiceGetRequest(namespace="notes", key="greeting"),
                metadata=as_other,
                timeout=10,
            )
        assert missing.value.code() == grpc.StatusCode.NOT_FOUND
        assert _variant(missing.value) == "STORAGE_ERROR_MISSING"
        with pytest.raises(grpc.RpcError) as no_secrets:
            secrets_pb2_grpc.SecretsServiceStub(channel).Get(
                secrets_pb2.SecretsServiceGetRequest(key="API_KEY"), metadata=as_other, timeout=10
            )
        assert no_secrets.value.code() == grpc.StatusCode.PERMISSION_DENIED
        assert _variant(no_secrets.value) == "SECRET_ERROR_DENIED"
        assert "sk-live-123" not in (no_secrets.value.details() or "")

        context = context_pb2_grpc.ContextServiceStub(channel)
        for forged in (_forged(token), token + "x", ""):
            with pytest.raises(grpc.RpcError) as refused:
                context.GetContext(
                    context_pb2.GetContextRequest(),
                    metadata=(("x-extplane-install-token", forged),),
                    timeout=10,
                )
            assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED
            assert (refused.value.details() or "").startswith("install token: ")
        # The genuine token still works after all that: refusals poison nothing.
        mine = context.GetContext(
            context_pb2.GetContextRequest(),
            metadata=(("x-extplane-install-token", token),),
            timeout=10,
        )
        assert mine.context.install_id == "app-1"
