"""The audit panel in headless Chromium against `extplane up`: pages, the verdict (intact,
then tampered with the first bad record highlighted), exports, a token without the role,
and an event whose details hold a script. One suite and one browser for the module."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.select import Select

from tests.console.browser import (
    chromium,
    console_errors,
    downloaded,
    idle,
    screenshot,
    visible,
    wait_for,
)
from tests.console.suite import BILLING, OPERATOR, Suite, running_suite, seed_audit, utc_now

RECORDS = 30
PAGE = 10
SCRIPT = '<script>window.pwned = 1</script><img src="x" onerror="window.pwned = 2">'


@pytest.fixture(scope="module")
def suite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Suite]:
    with running_suite(tmp_path_factory.mktemp("suite")) as running:
        seed_audit(running, RECORDS, utc_now(), {"note": SCRIPT})
        yield running


@pytest.fixture(scope="module")
def downloads(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("downloads")


@pytest.fixture(scope="module")
def browser(suite: Suite, downloads: Path) -> Iterator[WebDriver]:
    with chromium(downloads) as driver:
        yield driver


def _sign_in(browser: WebDriver, suite: Suite, token: str) -> None:
    browser.get(suite.base + "/console")
    browser.execute_script("sessionStorage.clear()")
    browser.get(suite.base + "/console")
    browser.find_element("id", "token").send_keys(token, Keys.ENTER)
    browser.find_element("id", "tab-audit").click()
    idle(browser, "audit")


def _shown(browser: WebDriver) -> list[str]:
    return [
        row.get_attribute("data-sequence") or ""
        for row in browser.find_elements("css selector", "#audit-table tbody tr")
    ]


def _api_page(suite: Suite, token: str = "") -> tuple[list[str], str]:
    params = {"order": "descending", "page_size": str(PAGE)}
    if token:
        params["page_token"] = token
    answer = suite.get("/v1/audit/events", **params).json()
    return [record["sequence"] for record in answer["events"]], answer.get("nextPageToken", "")


def _verdict(browser: WebDriver, word: str) -> str:
    return wait_for(
        browser,
        lambda d: (
            d.find_element("id", "audit-verdict").text
            if d.find_element("id", "audit-verdict").text.startswith(word)
            else False
        ),
    )


def test_the_log_pages_verifies_and_shows_tampering(
    suite: Suite, browser: WebDriver, tmp_path: Path
) -> None:
    _sign_in(browser, suite, OPERATOR)
    Select(browser.find_element("id", "audit-page-size")).select_by_value(str(PAGE))
    browser.find_element("css selector", "#audit-form button[type=submit]").click()
    idle(browser, "audit")

    token = ""
    pages = []
    for number in (1, 2, 3):
        expected, token = _api_page(suite, token)
        assert _shown(browser) == expected
        assert browser.find_element("id", "audit-page").text == f"Page {number}"
        pages.append(expected)
        verdict = _verdict(browser, "Intact")
        assert f"this page shows {expected[-1]} to {expected[0]}" in verdict
        if number < 3:
            browser.find_element("id", "audit-next").click()
            idle(browser, "audit")
    assert token == ""
    assert not browser.find_element("id", "audit-next").is_enabled()
    assert [s for page in pages for s in page] == [str(s) for s in range(RECORDS, 0, -1)]
    browser.find_element("id", "audit-previous").click()
    idle(browser, "audit")
    assert _shown(browser) == pages[1]

    key = suite.get("/v1/audit/public-key").json()
    assert browser.find_element("id", "audit-key-id").text == key["keyId"]
    checkpoints = suite.get("/v1/audit/checkpoints").json()["checkpoints"]
    shown = browser.find_elements("css selector", "#audit-checkpoints tbody th")
    assert [c.text for c in shown] == [c["sequence"] for c in checkpoints]
    assert checkpoints
    screenshot(browser, tmp_path, "audit")

    # Someone with the database edits record 15 (on the page shown) behind the service's back.
    with sqlite3.connect(suite.data / "audit.db") as db:
        db.execute("UPDATE audit_records SET actor = 'nobody' WHERE sequence = 15")
    api = suite.get("/v1/audit/verify", from_sequence="11", to_sequence="20").json()
    assert api["intact"] is False
    assert api["firstProblem"]["sequence"] == "15"

    browser.find_element("css selector", "#audit-form button[type=submit]").click()
    idle(browser, "audit")
    browser.find_element("id", "audit-next").click()
    idle(browser, "audit")
    verdict = _verdict(browser, "Tampered")
    assert "first bad record: 15 (MODIFIED), highlighted below" in verdict
    assert api["firstProblem"]["detail"] in verdict
    bad = browser.find_elements("css selector", "#audit-table tbody tr.bad")
    assert [row.get_attribute("data-sequence") for row in bad] == ["15"]
    assert bad[0].get_attribute("aria-describedby") == "audit-verdict"
    assert "nobody" in bad[0].text
    screenshot(browser, tmp_path, "audit-tampered")


def test_details_holding_a_script_are_text_and_the_policy_blocks_inline_script(
    suite: Suite, browser: WebDriver, tmp_path: Path
) -> None:
    _sign_in(browser, suite, OPERATOR)
    browser.execute_script(
        "window.violations = [];"
        "document.addEventListener('securitypolicyviolation',"
        " (e) => window.violations.push(e.violatedDirective));"
    )
    browser.find_element("css selector", f"#audit-record-{RECORDS} button").click()
    details = wait_for(browser, visible(browser, "#audit-details"))
    value = details.find_element("css selector", "dd.detail-value")
    assert value.text == SCRIPT
    assert details.find_elements("css selector", "script, img") == []
    assert browser.execute_script("return window.pwned") is None

    # A script slipped into the page as inline code, as an HTML injection would, never runs.
    # First line of defence: Trusted Types refuse the script text outright.
    refused = browser.execute_script(
        "const s = document.createElement('script');"
        "try { s.textContent = 'window.injected = 1'; } catch (e) { return e.name; }"
        "return 'accepted';"
    )
    assert refused == "TypeError"
    # Second: script text blessed through a policy still is inline script, which script-src
    # forbids.
    browser.execute_script(
        "const policy = trustedTypes.createPolicy('attack', {createScript: (s) => s});"
        "const s = document.createElement('script');"
        "s.textContent = policy.createScript('window.injected = 2');"
        "document.body.append(s);"
    )
    wait_for(
        browser,
        lambda d: "script-src-elem" in d.execute_script("return window.violations"),
    )
    assert browser.execute_script("return window.injected") is None
    assert "require-trusted-types-for" in browser.execute_script("return window.violations")
    assert any("Content Security Policy" in line for line in console_errors(browser))
    screenshot(browser, tmp_path, "audit-details")


def test_the_exports_are_the_apis(suite: Suite, browser: WebDriver, downloads: Path) -> None:
    _sign_in(browser, suite, OPERATOR)
    browser.find_element("id", "audit-outcome").send_keys("denied")
    for kind in ("csv", "jsonl"):
        browser.find_element("id", f"audit-export-{kind}").click()
        body = downloaded(downloads, f"audit-export.{kind}")
        api = suite.get("/v1/audit/export", format=kind, outcome="denied", order="descending")
        assert body == api.content
        assert body.count(b"denied") >= RECORDS // 5


def test_a_token_without_audit_reader_sees_the_refusal(
    suite: Suite, browser: WebDriver, tmp_path: Path
) -> None:
    _sign_in(browser, suite, BILLING)
    error = wait_for(browser, visible(browser, "#audit-error"))
    refusal = suite.get("/v1/audit/events", token=BILLING, order="descending", page_size="25")
    assert refusal.status_code == 403
    assert error.text == f"403 PERMISSION_DENIED: {refusal.json()['message']}"
    assert not browser.find_element("id", "audit-result").is_displayed()
    assert browser.find_element("id", "audit-table").find_elements("css selector", "tbody tr") == []
    screenshot(browser, tmp_path, "audit-refused")
