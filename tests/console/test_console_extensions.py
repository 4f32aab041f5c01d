"""The Extensions panel in headless Chromium against `extplane up`: installs registered
through the gateway, log records written through the real LoggingService with install
tokens, a capability the host refuses (and audits); the panel lists exactly the installs
and, for the one selected, exactly its records and its denials. Tokens without a role
see that part refused, verbatim. One suite and one browser for the module."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import grpc
import pytest
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver

from extplane_protos.alga.extension.v1 import (
    context_pb2,
    context_pb2_grpc,
    logging_pb2,
    logging_pb2_grpc,
)
from tests.console.browser import chromium, idle, screenshot, visible, wait_for
from tests.console.suite import (
    ADMIN,
    BILLING,
    INSTALLS,
    ISSUER,
    OPERATOR,
    Suite,
    running_suite,
)

TOKEN_KEY = "x-extplane-install-token"
CONTEXT = "alga.extension.v1.ContextService.GetContext"
INSTALL_ROWS = [
    # tenant, install, extension, version, grants, enabled
    ("acme", "tickets-1", "com.example.tickets", "1.2.0", ["cap:log.emit", "cap:storage.kv"], True),
    ("acme", "other-1", "com.example.other", "0.3.0", ["cap:log.emit"], True),
    ("globex", "quiet-1", "com.example.quiet", "2.0.0", [], False),
]
# What tickets-1 logs, oldest first, and under which request id.
TICKETS_LOG = [
    ("req-7", "info", "ticket synced"),
    ("req-7", "warn", "upstream slow: 2.1 s"),
    ("req-8", "error", "<b>upstream 503</b>"),
]


def _issue(suite: Suite, tenant: str, install: str, request_id: str) -> str:
    answer = suite.post(
        f"/v1/admin/tenants/{tenant}/installs/{install}:issueToken",
        ISSUER,
        {"requestId": request_id},
    )
    token: str = answer.json()["token"]
    return token


def _log(host: str, token: str, level: str, message: str) -> None:
    with grpc.insecure_channel(host) as channel:
        stub = logging_pb2_grpc.LoggingServiceStub(channel)
        metadata = ((TOKEN_KEY, token),)
        if level == "info":
            stub.Info(logging_pb2.LoggingServiceInfoRequest(message=message), metadata=metadata)
        elif level == "warn":
            stub.Warn(logging_pb2.LoggingServiceWarnRequest(message=message), metadata=metadata)
        else:
            stub.Error(logging_pb2.LoggingServiceErrorRequest(message=message), metadata=metadata)


def _denied_context(host: str, token: str) -> None:
    with grpc.insecure_channel(host) as channel:
        stub = context_pb2_grpc.ContextServiceStub(channel)
        with pytest.raises(grpc.RpcError) as refused:
            stub.GetContext(context_pb2.GetContextRequest(), metadata=((TOKEN_KEY, token),))
    assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED


def _denials(suite: Suite, actor: str) -> list[dict[str, object]]:
    answer = suite.get("/v1/audit/events", action="capability_deny", actor=actor).json()
    events: list[dict[str, object]] = answer.get("events", [])
    return events


def _await_denials(suite: Suite, actor: str, count: int) -> None:
    # The host hands audit events over in the background: polled, with a bound.
    deadline = time.monotonic() + 30
    while len(_denials(suite, actor)) < count:
        assert time.monotonic() < deadline, f"{actor}'s denials never reached the audit log"
        time.sleep(0.1)


@pytest.fixture(scope="module")
def suite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Suite]:
    with running_suite(tmp_path_factory.mktemp("suite")) as running:
        for tenant, install, extension, version, grants, enabled in INSTALL_ROWS:
            running.post(
                f"/v1/admin/tenants/{tenant}/installs",
                ADMIN,
                {
                    "installId": install,
                    "extensionId": extension,
                    "version": version,
                    "grantedCapabilities": grants,
                },
            )
            if not enabled:
                running.post(f"/v1/admin/tenants/{tenant}/installs/{install}:disable", ADMIN, {})
        host = running.cli.grpc_target("host")
        tokens = {rid: _issue(running, "acme", "tickets-1", rid) for rid in ("req-7", "req-8")}
        for request_id, level, message in TICKETS_LOG:
            _log(host, tokens[request_id], level, message)
        other = _issue(running, "acme", "other-1", "req-90")
        _log(host, other, "info", "another install's line")
        _denied_context(host, tokens["req-8"])
        _denied_context(host, other)
        _denied_context(host, other)
        _await_denials(running, "extension/com.example.tickets@tickets-1", 1)
        _await_denials(running, "extension/com.example.other@other-1", 2)
        yield running


@pytest.fixture(scope="module")
def browser(suite: Suite, tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebDriver]:
    with chromium(tmp_path_factory.mktemp("downloads")) as driver:
        yield driver


def _sign_in(browser: WebDriver, suite: Suite, token: str) -> None:
    browser.get(suite.base + "/console")
    browser.execute_script("sessionStorage.clear()")
    browser.get(suite.base + "/console")
    browser.find_element("id", "token").send_keys(token, Keys.ENTER)
    browser.find_element("id", "tab-extensions").click()
    idle(browser, "extensions")


def _cells(browser: WebDriver, table: str) -> list[list[str]]:
    rows = browser.find_elements("css selector", f"#{table} tbody tr")
    return [[cell.text for cell in row.find_elements("css selector", "th, td")] for row in rows]


def _open(browser: WebDriver, key: str) -> None:
    row = browser.find_element("css selector", f'#extensions-installs tr[data-install="{key}"]')
    row.find_element("css selector", "button").click()
    for part in ("logs", "denials"):
        wait_for(
            browser,
            lambda d, part=part: (
                d.find_element("id", f"extensions-{part}-status").text not in ("", "Loading…")
                or d.find_element("id", f"extensions-{part}-error").is_displayed()
            ),
        )


def _utc(value: str) -> str:
    return datetime.fromisoformat(value).strftime("%Y-%m-%d %H:%M:%S")


def test_the_installs_their_logs_and_their_denials(
    suite: Suite, browser: WebDriver, tmp_path: Path
) -> None:
    _sign_in(browser, suite, OPERATOR)
    api = suite.get("/v1/admin/installs").json()["installs"]
    assert _cells(browser, "extensions-installs") == [
        [
            i["tenant"],
            i["installId"],
            f"{i['extensionId']}@{i['version']}",
            "yes" if i.get("enabled") else "no",
            ", ".join(i.get("grantedCapabilities", [])) or "none",
            "Logs and denials",
        ]
        for i in api
    ]
    assert sorted(row[:2] for row in _cells(browser, "extensions-installs")) == sorted(
        [tenant, install] for tenant, install, *_ in INSTALL_ROWS
    )
    disabled = [row for row in _cells(browser, "extensions-installs") if row[3] == "no"]
    assert [row[1] for row in disabled] == ["quiet-1"]
    assert browser.find_element("id", "extensions-status").text == "3 installs."

    _open(browser, "acme/tickets-1")
    title = browser.find_element("id", "extensions-install-title").text
    assert title == "acme / tickets-1 — com.example.tickets@1.2.0"
    records = suite.get("/v1/admin/tenants/acme/installs/tickets-1/logs").json()["records"]
    assert [(r["requestId"], r["message"]) for r in records] == [
        (rid, message) for rid, _, message in TICKETS_LOG
    ]
    assert _cells(browser, "extensions-logs") == [
        [r["sequence"], _utc(r["time"]), level.upper(), r["message"], r["requestId"]]
        for r, (_, level, _) in reversed(list(zip(records, TICKETS_LOG, strict=True)))
    ]
    # The message is text, never markup.
    assert browser.find_elements("css selector", "#extensions-logs b") == []
    assert browser.find_element("id", "extensions-logs-status").text == (
        "3 records, newest first (the 100 most recent at most)."
    )

    denials = _denials(suite, "extension/com.example.tickets@tickets-1")
    assert len(denials) == 1
    event = denials[0]["event"]
    assert isinstance(event, dict)
    assert event["details"]["capability"] == "cap:context.read"
    assert _cells(browser, "extensions-denials") == [
        [_utc(event["timestamp"]), CONTEXT, "cap:context.read", "req-8"]
    ]
    assert browser.find_element("id", "extensions-denials-status").text == (
        "1 denial, newest first (the 50 most recent at most)."
    )
    screenshot(browser, tmp_path, "extensions")

    # Another install of the same tenant: its own line and its own two denials only.
    _open(browser, "acme/other-1")
    logs = _cells(browser, "extensions-logs")
    assert [row[2:] for row in logs] == [["INFO", "another install's line", "req-90"]]
    shown = _cells(browser, "extensions-denials")
    assert [row[1:] for row in shown] == [[CONTEXT, "cap:context.read", "req-90"]] * 2

    # A disabled install with nothing logged and nothing denied says so.
    _open(browser, "globex/quiet-1")
    assert browser.find_element("id", "extensions-logs-status").text == "No log records."
    denied = browser.find_element("id", "extensions-denials-status").text
    assert denied == "No capability denied."
    assert not browser.find_element("id", "extensions-logs").is_displayed()


def test_the_tenant_filter_is_the_apis(suite: Suite, browser: WebDriver) -> None:
    _sign_in(browser, suite, OPERATOR)
    browser.find_element("id", "extensions-tenant").send_keys("globex", Keys.ENTER)
    wait_for(
        browser,
        lambda d: d.find_element("id", "extensions-status").text == "1 install.",
    )
    api = suite.get("/v1/admin/installs", tenant="globex").json()["installs"]
    assert [i["installId"] for i in api] == ["quiet-1"]
    assert [row[:5] for row in _cells(browser, "extensions-installs")] == [
        ["globex", "quiet-1", "com.example.quiet@2.0.0", "no", "none"]
    ]


def test_a_token_without_installs_reader_sees_the_refusal(
    suite: Suite, browser: WebDriver, tmp_path: Path
) -> None:
    _sign_in(browser, suite, BILLING)
    error = wait_for(browser, visible(browser, "#extensions-error"))
    refusal = suite.get("/v1/admin/installs", token=BILLING)
    assert refusal.status_code == 403
    assert error.text == f"403 PERMISSION_DENIED: {refusal.json()['message']}"
    assert not browser.find_element("id", "extensions-result").is_displayed()
    assert _cells(browser, "extensions-installs") == []
    screenshot(browser, tmp_path, "extensions-refused")


def test_a_token_without_audit_reader_sees_logs_and_the_denials_refused(
    suite: Suite, browser: WebDriver
) -> None:
    _sign_in(browser, suite, INSTALLS)
    _open(browser, "acme/tickets-1")
    assert [row[3] for row in _cells(browser, "extensions-logs")] == [
        message for _, _, message in reversed(TICKETS_LOG)
    ]
    error = wait_for(browser, visible(browser, "#extensions-denials-error"))
    refusal = suite.get(
        "/v1/audit/events",
        token=INSTALLS,
        action="capability_deny",
        actor="extension/com.example.tickets@tickets-1",
    )
    assert refusal.status_code == 403
    assert error.text == f"403 PERMISSION_DENIED: {refusal.json()['message']}"
    assert not browser.find_element("id", "extensions-denials").is_displayed()
