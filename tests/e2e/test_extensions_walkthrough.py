"""docs/extensions.md, run as written: `extplane up` as a process, the page's
app.py and app.js built with the page's commands, uploaded, installed with
grants and called through the gateway with the page's curl commands, then
what the page says goes wrong: a capability not granted (a WIT error the guest
handles, a trap it cannot), a memory limit, an idempotent retry and an upload
refused for an import outside the world.

Each command is kept here as the page prints it and checked to be there
verbatim, so the page cannot drift from what is proven; the sources it writes
(app.py, app.js, wit-debug/debug.wit) are read from the page itself.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.cli_process import RunningCli, ephemeral_env, start_cli

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "extensions.md"

# Three builds (10-60 s each), three uploads that compile, two first executions
# that compile: minutes on a loaded two-core machine.
pytestmark = pytest.mark.timeout(1800)
COMMAND_TIMEOUT_S = 600

TOKENS = """[
  {"name": "ops", "token": "extensions-admin-0123456789", "roles": ["installs.admin"]},
  {"name": "runner", "token": "extensions-issuer-0123456789", "roles": ["installs.issuer"]},
  {"name": "platform", "token": "extensions-writer-0123456789",
   "roles": ["audit.writer", "metering.writer"]},
  {"name": "acme-portal", "token": "extensions-acme-0123456789",
   "roles": ["extensions.execute"], "tenant": "acme"}
]"""
WRITER = "extensions-writer-0123456789"
SUITE_ENV = {
    "EXTPLANE_AUTH__TOKENS": TOKENS,
    "EXTPLANE_RUNNER__HOST_TOKEN": "extensions-issuer-0123456789",
    "EXTPLANE_HOST_PROVIDERS__AUDIT_TOKEN": WRITER,
    "EXTPLANE_RUNNER__AUDIT_TOKEN": WRITER,
    "EXTPLANE_RUNNER__METERING_TOKEN": WRITER,
}

SHELL_SETUP = """\
export PATH="$PWD/.venv/bin:$PATH" SRC=$PWD
export HOST=127.0.0.1:50054 GATEWAY=http://127.0.0.1:8080"""
SHELL_VARIABLES = "ADMIN=extensions-admin-0123456789 APP=extensions-acme-0123456789"
MAKE_DIR = "mkdir -p hello && cd hello"
COPY_WIT = 'cp -r "$SRC/wit" .'

BUILD_PY = "componentize-py -d wit -w runner componentize app -o app.wasm"
BUILD_JS = 'node "$SRC/tools/guests/componentize.mjs" app.js wit runner app-js.wasm'
UPLOAD_PY = """\
EXTPLANE_TOKEN=$ADMIN extplane extensions upload --address "$HOST" \\
  --extension-id com.example.hello --version 1.0.0 app.wasm \\
  --capability cap:context.read --capability cap:storage.kv --capability cap:log.emit"""
UPLOAD_JS = """\
EXTPLANE_TOKEN=$ADMIN extplane extensions upload --address "$HOST" \\
  --extension-id com.example.hello-js --version 1.0.0 app-js.wasm \\
  --capability cap:context.read --capability cap:storage.kv --capability cap:log.emit"""
INSTALL_PY = """\
EXTPLANE_TOKEN=$ADMIN extplane installs register --address "$HOST" --tenant acme \\
  --install-id hello --extension-id com.example.hello --version 1.0.0 \\
  --grant cap:context.read --grant cap:storage.kv --grant cap:log.emit"""
INSTALL_JS = """\
EXTPLANE_TOKEN=$ADMIN extplane installs register --address "$HOST" --tenant acme \\
  --install-id hello-js --extension-id com.example.hello-js --version 1.0.0 \\
  --grant cap:context.read --grant cap:storage.kv --grant cap:log.emit"""
CALL_PY = 'curl -s -H "Authorization: Bearer $APP" "$GATEWAY/v1/extensions/hello/hello"'
CALL_JS = 'curl -s -H "Authorization: Bearer $APP" "$GATEWAY/v1/extensions/hello-js/hello"'
SHOWN_ANSWERS = """\
{"hello": "acme", "install": "hello", "path": "/hello", "count": 1, "language": "python"}
{"hello":"acme","install":"hello-js","path":"/hello","count":1,"language":"javascript"}"""

INSTALL_BARE = """\
EXTPLANE_TOKEN=$ADMIN extplane installs register --address "$HOST" --tenant acme \\
  --install-id hello-bare --extension-id com.example.hello --version 1.0.0 \\
  --grant cap:context.read --grant cap:log.emit"""
INSTALL_NONE = """\
EXTPLANE_TOKEN=$ADMIN extplane installs register --address "$HOST" --tenant acme \\
  --install-id hello-none --extension-id com.example.hello --version 1.0.0"""
CALL_BARE = 'curl -s -i -H "Authorization: Bearer $APP" "$GATEWAY/v1/extensions/hello-bare/hello"'
CALL_NONE = 'curl -s -i -H "Authorization: Bearer $APP" "$GATEWAY/v1/extensions/hello-none/hello"'
TRAP_CAUSE = (
    "trap: host call context.get-context: PERMISSION_DENIED: this install is not granted "
    "cap:context.read, which alga.extension.v1.ContextService.GetContext requires"
)

UPLOAD_SMALL = """\
EXTPLANE_TOKEN=$ADMIN extplane extensions upload --address "$HOST" \\
  --extension-id com.example.hello --version 1.0.1 app.wasm --memory-bytes 8388608"""
INSTALL_SMALL = """\
EXTPLANE_TOKEN=$ADMIN extplane installs register --address "$HOST" --tenant acme \\
  --install-id hello-small --extension-id com.example.hello --version 1.0.1 \\
  --grant cap:context.read --grant cap:storage.kv --grant cap:log.emit"""
CALL_SMALL = 'curl -s -i -H "Authorization: Bearer $APP" "$GATEWAY/v1/extensions/hello-small/hello"'

CALL_IDEMPOTENT = """\
curl -s -D - -X POST -H "Authorization: Bearer $APP" -H "Idempotency-Key: order-7" \\
  "$GATEWAY/v1/extensions/hello/orders\""""

UPLOAD_GRPC = """\
EXTPLANE_TOKEN=$ADMIN extplane extensions upload --address "$HOST" \\
  --extension-id com.example.hello-grpc --version 1.0.0 --grpc-address 127.0.0.1:7100"""

MAKE_WIT_DEBUG = "mkdir -p wit-debug && cp wit/alga-extension.wit wit-debug/"
BUILD_DEBUG = "componentize-py -d wit-debug -w runner-debug componentize app -o app-debug.wasm"
UPLOAD_DEBUG = """\
EXTPLANE_TOKEN=$ADMIN extplane extensions upload --address "$HOST" \\
  --extension-id com.example.hello --version 1.0.2 app-debug.wasm"""
REFUSED_DEBUG = (
    "extplane: host service at 127.0.0.1:50054: INVALID_ARGUMENT: component: import "
    "'alga:extension/debug' is neither an interface of the Alga world (alga:extension) nor "
    "a WASI interface the runner provides"
)


def _heredoc(page: str, name: str) -> str:
    found = re.search(rf"^cat > {re.escape(name)} <<'EOF'\n(.*?\n)EOF$", page, re.S | re.M)
    assert found, f"docs/extensions.md shows no heredoc writing {name}"
    return found.group(1)


class Shell:
    """One command at a time, through bash, with the second shell's variables."""

    def __init__(self, workdir: Path, variables: Mapping[str, str]) -> None:
        self.workdir = workdir
        clean = {k: v for k, v in os.environ.items() if not k.startswith("EXTPLANE_")}
        # `export PATH="$PWD/.venv/bin:$PATH"`: extplane and componentize-py of this checkout.
        clean["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{clean.get('PATH', '')}"
        self.env = {**clean, **variables}

    def run(self, line: str, *, check: bool = True) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            ["bash", "-c", f"set -o pipefail\n{line}"],
            cwd=self.workdir,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=COMMAND_TIMEOUT_S,
        )
        if check:
            assert done.returncode == 0, f"{line}\n{done.stdout}\n{done.stderr}"
        return done

    def json(self, line: str) -> Any:
        return json.loads(self.run(line).stdout)


@dataclass(frozen=True)
class HttpAnswer:
    """What `curl -i` / `curl -D -` printed: the status, the headers, the body."""

    status: int
    headers: dict[str, str]
    body: str

    @classmethod
    def parse(cls, printed: str) -> HttpAnswer:
        # The shell's output was read as text: CRLF already became LF.
        head, separator, body = printed.replace("\r\n", "\n").partition("\n\n")
        assert separator, f"no headers and body in {printed!r}"
        status_line, *lines = head.split("\n")
        headers = {}
        for line in lines:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        return cls(int(status_line.split()[1]), headers, body)

    def json(self) -> Any:
        return json.loads(self.body)


def _error_cause(answer: HttpAnswer) -> tuple[str, str]:
    status = answer.json()
    (info,) = status["details"]
    assert info["domain"] == "extplane.runner"
    return info["reason"], info["metadata"]["cause"]


def test_the_extension_authors_guide_as_written(
    tmp_path: Path, cli_processes: list[RunningCli]
) -> None:
    page = DOC.read_text(encoding="utf-8")
    for shown in (
        f"export EXTPLANE_AUTH__TOKENS='{TOKENS}'",
        *(
            f"export {name}={value}"
            for name, value in SUITE_ENV.items()
            if name != "EXTPLANE_AUTH__TOKENS"
        ),
        SHELL_SETUP,
        SHELL_VARIABLES,
        MAKE_DIR,
        COPY_WIT,
        BUILD_PY,
        BUILD_JS,
        UPLOAD_PY,
        UPLOAD_JS,
        INSTALL_PY,
        INSTALL_JS,
        CALL_PY,
        CALL_JS,
        SHOWN_ANSWERS,
        INSTALL_BARE,
        INSTALL_NONE,
        CALL_BARE,
        CALL_NONE,
        TRAP_CAUSE,
        UPLOAD_SMALL,
        INSTALL_SMALL,
        CALL_SMALL,
        f"{CALL_IDEMPOTENT}\n{CALL_IDEMPOTENT}",
        UPLOAD_GRPC,
        MAKE_WIT_DEBUG,
        BUILD_DEBUG,
        UPLOAD_DEBUG,
        REFUSED_DEBUG,
    ):
        assert shown in page, f"docs/extensions.md no longer shows:\n{shown}"

    suite = start_cli(["up"], ephemeral_env(tmp_path, SUITE_ENV), {"host", "runner", "gateway"})
    cli_processes.append(suite)
    host = suite.grpc_target("host")
    variables = dict(pair.split("=", 1) for pair in SHELL_VARIABLES.split(" "))
    variables |= {"SRC": str(ROOT), "HOST": host, "GATEWAY": suite.http_base("gateway")}
    Shell(tmp_path, variables).run(MAKE_DIR)
    workdir = tmp_path / "hello"
    shell = Shell(workdir, variables)
    shell.run(COPY_WIT)
    assert (workdir / "wit" / "alga-extension.wit").is_file()

    # Build both, from the page's sources.
    (workdir / "app.py").write_text(_heredoc(page, "app.py"), encoding="utf-8")
    (workdir / "app.js").write_text(_heredoc(page, "app.js"), encoding="utf-8")
    shell.run(BUILD_PY)
    shell.run(BUILD_JS)
    app_sha = hashlib.sha256((workdir / "app.wasm").read_bytes()).hexdigest()

    # Upload: the version as stored, with the imports the host found.
    uploaded = shell.json(UPLOAD_PY)
    assert (uploaded["extension_id"], uploaded["version"]) == ("com.example.hello", "1.0.0")
    assert uploaded["component"]["sha256"] == app_sha
    assert uploaded["declared_capabilities"] == [
        "cap:context.read",
        "cap:log.emit",
        "cap:storage.kv",
    ]
    assert "alga:extension/storage" in uploaded["component"]["imports"]
    uploaded_js = shell.json(UPLOAD_JS)
    assert uploaded_js["extension_id"] == "com.example.hello-js"
    assert any(name.startswith("wasi:http/") for name in uploaded_js["component"]["imports"])

    for install in (INSTALL_PY, INSTALL_JS):
        registered = shell.json(install)
        assert registered["granted_capabilities"] == [
            "cap:context.read",
            "cap:log.emit",
            "cap:storage.kv",
        ]

    # The calls answer what the page shows, byte for byte.
    shown_py, shown_js = SHOWN_ANSWERS.splitlines()
    logs = suite.stderr_tail
    assert shell.run(CALL_PY).stdout == shown_py, "".join(logs[-10:])
    assert shell.run(CALL_JS).stdout == shown_js, "".join(logs[-10:])
    # Each install counts in its own storage.
    assert json.loads(shell.run(CALL_PY).stdout)["count"] == 2

    # A capability not granted: a WIT error the guest handles, a trap it cannot.
    assert shell.json(INSTALL_BARE)["granted_capabilities"] == [
        "cap:context.read",
        "cap:log.emit",
    ]
    assert shell.json(INSTALL_NONE)["granted_capabilities"] == []
    bare = HttpAnswer.parse(shell.run(CALL_BARE).stdout)
    assert (bare.status, bare.json()) == (403, {"error": "storage: denied"})
    assert bare.headers["content-type"] == "application/json"
    none = HttpAnswer.parse(shell.run(CALL_NONE).stdout)
    assert none.status == 500
    assert none.json()["message"] == f"the execution failed: {TRAP_CAUSE}"
    assert _error_cause(none) == ("GUEST_FAILED", TRAP_CAUSE)
    shown_status = re.search(r'^\{"code":13,"message":"the execution failed: trap.*$', page, re.M)
    assert shown_status, "docs/extensions.md no longer shows the trap's status body"
    assert none.json() == json.loads(shown_status.group(0))

    # A memory limit: that request fails, named; the next one is served.
    small = shell.json(UPLOAD_SMALL)
    assert small["limits"]["memory_bytes"] == "8388608"
    assert small["component"]["sha256"] == app_sha
    shell.json(INSTALL_SMALL)
    limited = HttpAnswer.parse(shell.run(CALL_SMALL).stdout)
    assert limited.status == 429
    assert "retry-after" not in limited.headers
    assert '"message":"the execution failed: memory"' in limited.body
    assert _error_cause(limited) == ("LIMIT_EXCEEDED", "memory")

    # An idempotent retry gets the first answer: the guest ran once.
    first = HttpAnswer.parse(shell.run(CALL_IDEMPOTENT).stdout)
    again = HttpAnswer.parse(shell.run(CALL_IDEMPOTENT).stdout)
    assert first.status == again.status == 200
    assert first.json() == again.json()
    assert first.json()["count"] == 3
    assert first.json()["path"] == "/orders"
    assert "idempotent-replayed" not in first.headers
    assert again.headers["idempotent-replayed"] == "true"
    assert again.headers["x-extplane-request-id"] == first.headers["x-extplane-request-id"]
    assert json.loads(shell.run(CALL_PY).stdout)["count"] == 4

    # A polyglot handler is a version naming an address.
    grpc_version = shell.json(UPLOAD_GRPC)
    assert grpc_version["grpc_address"] == "127.0.0.1:7100"
    assert "component" not in grpc_version

    # An import outside the world: refused at upload, naming it; nothing stored.
    shell.run(MAKE_WIT_DEBUG)
    (workdir / "wit-debug" / "debug.wit").write_text(
        _heredoc(page, "wit-debug/debug.wit"), encoding="utf-8"
    )
    shell.run(BUILD_DEBUG)
    refused = shell.run(UPLOAD_DEBUG, check=False)
    assert refused.returncode == 3
    assert refused.stdout == ""
    assert refused.stderr == REFUSED_DEBUG.replace("127.0.0.1:50054", host) + "\n"
    listed = shell.run(
        'EXTPLANE_TOKEN=$ADMIN extplane extensions list --address "$HOST" '
        "--extension-id com.example.hello"
    ).stdout.splitlines()
    assert [json.loads(line)["version"] for line in listed] == ["1.0.0", "1.0.1"]

    assert suite.terminate() == 0
