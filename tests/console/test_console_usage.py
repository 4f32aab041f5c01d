"""The usage panel and the capabilities panel in headless Chromium, against `extplane up`
with usage recorded by the metering sink adapter. One suite and one browser for the module."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.select import Select

from tests.console.browser import chromium, downloaded, idle, screenshot, visible, wait_for
from tests.console.suite import OPERATOR, Suite, running_suite, seed_usage, utc_now

METRICS = ("events", "tokens_in", "tokens_out", "tool_calls", "duration_ms", "cost")
CAMEL = {
    "events": "events",
    "tokens_in": "tokensIn",
    "tokens_out": "tokensOut",
    "tool_calls": "toolCalls",
    "duration_ms": "durationMs",
    "cost": "cost",
}


@pytest.fixture(scope="module")
def suite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Suite]:
    with running_suite(tmp_path_factory.mktemp("suite")) as running:
        seed_usage(running, utc_now())
        yield running


@pytest.fixture(scope="module")
def downloads(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("downloads")


@pytest.fixture(scope="module")
def browser(suite: Suite, downloads: Path) -> Iterator[WebDriver]:
    with chromium(downloads) as driver:
        driver.get(suite.base + "/console")
        driver.find_element("id", "token").send_keys(OPERATOR, Keys.ENTER)
        idle(driver, "usage")
        yield driver


def _shown_query(browser: WebDriver) -> dict[str, str]:
    table = browser.find_element("id", "usage-table")
    params = {
        "start_time": table.get_attribute("data-start") or "",
        "end_time": table.get_attribute("data-end") or "",
        "window": table.get_attribute("data-window") or "",
    }
    group = table.get_attribute("data-group-by")
    if group:
        params["group_by"] = group
    return params


def _table_rows(browser: WebDriver) -> list[dict[str, str]]:
    return [
        {
            cell.get_attribute("data-field") or "": cell.get_attribute("data-value") or ""
            for cell in row.find_elements("css selector", "[data-field]")
        }
        for row in browser.find_elements("css selector", "#usage-table tbody tr")
    ]


def _api_rows(usage: dict[str, object], group: str | None) -> list[dict[str, str]]:
    rows = []
    for bucket in usage["buckets"]:  # type: ignore[attr-defined]
        row = {"window_start": bucket["windowStart"]}
        if group:
            row[group] = bucket.get(group, "")
        row.update({name: str(bucket.get(CAMEL[name], "0")) for name in METRICS})
        rows.append(row)
    return rows


def _check_against_the_api(suite: Suite, browser: WebDriver) -> dict[str, object]:
    query = _shown_query(browser)
    answer = suite.get("/v1/metering/usage", **query)
    assert answer.status_code == 200
    usage: dict[str, object] = answer.json()
    group = query.get("group_by")
    assert usage["buckets"], "the seeded usage is in the range shown"
    assert _table_rows(browser) == _api_rows(usage, group)

    total = usage["total"]
    footer = {
        cell.get_attribute("data-field"): cell.get_attribute("data-value")
        for cell in browser.find_elements("css selector", "#usage-table tfoot [data-field]")
    }
    assert footer == {name: str(total.get(CAMEL[name], "0")) for name in METRICS}  # type: ignore[attr-defined]
    assert f"{total['cost']} EUR" in browser.find_element("id", "usage-totals").text  # type: ignore[index]
    assert "Cost (EUR)" in browser.find_element("css selector", "#usage-table thead").text

    # The bars hold the charted metric of every (window, group) of the table.
    metric = Select(browser.find_element("id", "usage-metric")).first_selected_option
    field = metric.get_attribute("value") or ""
    bars: dict[tuple[str, str], float] = {}
    for rect in browser.find_elements("css selector", "#usage-chart rect.bar"):
        key = (rect.get_attribute("data-window") or "", rect.get_attribute("data-group") or "")
        bars[key] = float(rect.get_attribute("data-value") or "nan")
    expected: dict[tuple[str, str], float] = {}
    for bucket in usage["buckets"]:  # type: ignore[attr-defined]
        label = bucket["windowStart"].replace("T", " ").removesuffix("Z")
        name = bucket.get(group, "(none)") if group else "all"
        expected[(label, name)] = expected.get((label, name), 0) + float(bucket.get(field, 0))
    assert bars == {key: value for key, value in expected.items() if value > 0}
    return usage


def test_signed_in_the_chart_and_the_table_show_the_apis_numbers(
    suite: Suite, browser: WebDriver, tmp_path: Path
) -> None:
    # The token is in this tab's session storage and nowhere in the URL or a cookie.
    assert browser.execute_script("return sessionStorage.getItem('extplane.console.token')") == (
        OPERATOR
    )
    assert OPERATOR not in browser.current_url
    assert browser.get_cookies() == []
    assert browser.find_element("id", "zone").text.startswith("Times are in UTC.")
    # Everything the page loaded and asked came from the gateway itself.
    origins = browser.execute_script(
        "return [...new Set(performance.getEntriesByType('resource')"
        ".map((e) => new URL(e.name).origin))]"
    )
    assert origins == [suite.base]

    usage = _check_against_the_api(suite, browser)
    groups = {b["namespace"] for b in usage["buckets"]}  # type: ignore[attr-defined]
    assert groups == {"team-a", "team-b"}
    legend = browser.find_element("id", "usage-legend").text.split("\n")
    assert sorted(legend) == ["team-a", "team-b"]
    screenshot(browser, tmp_path, "usage")


def test_changing_the_window_and_the_grouping_asks_again(
    suite: Suite, browser: WebDriver, tmp_path: Path
) -> None:
    Select(browser.find_element("id", "usage-window")).select_by_value("minute")
    idle(browser, "usage")
    Select(browser.find_element("id", "usage-group")).select_by_value("model")
    idle(browser, "usage")
    Select(browser.find_element("id", "usage-metric")).select_by_value("cost")
    idle(browser, "usage")
    assert _shown_query(browser)["window"] == "minute"
    usage = _check_against_the_api(suite, browser)
    assert {b["model"] for b in usage["buckets"]} == {"gpt-x", "small"}  # type: ignore[attr-defined]
    assert len(usage["buckets"]) == 120  # type: ignore[arg-type]  # one event a minute and a half

    # A filter narrows both the chart and the table.
    browser.find_element("id", "usage-model").send_keys("gpt-x", Keys.ENTER)
    idle(browser, "usage")
    rows = _table_rows(browser)
    assert rows
    assert {row["model"] for row in rows} == {"gpt-x"}
    browser.find_element("id", "usage-model").clear()
    screenshot(browser, tmp_path, "usage-by-model")


def test_the_csv_download_is_what_the_api_answers(
    suite: Suite, browser: WebDriver, downloads: Path
) -> None:
    Select(browser.find_element("id", "usage-window")).select_by_value("hour")
    idle(browser, "usage")
    Select(browser.find_element("id", "usage-group")).select_by_value("namespace")
    idle(browser, "usage")
    browser.find_element("id", "usage-csv").click()
    body = downloaded(downloads, "usage-hour.csv")
    rows = list(csv.DictReader(io.StringIO(body.decode())))

    usage = suite.get("/v1/metering/usage", **_shown_query(browser)).json()
    assert rows == [
        {
            "window_start": bucket["windowStart"],
            "window_end": bucket["windowEnd"],
            "namespace": bucket["namespace"],
            **{name: str(bucket.get(CAMEL[name], "0")) for name in METRICS},
            "currency": "EUR",
        }
        for bucket in usage["buckets"]
    ]
    assert body.endswith(b"\r\n")


def test_an_api_refusal_is_shown_with_its_status_message(suite: Suite, browser: WebDriver) -> None:
    # 30 days of minutes is more windows than the service answers: its refusal, verbatim.
    Select(browser.find_element("id", "usage-range")).select_by_value("30d")
    idle(browser, "usage")
    Select(browser.find_element("id", "usage-window")).select_by_value("minute")
    idle(browser, "usage")
    error = wait_for(browser, visible(browser, "#usage-error"))
    refusal = suite.get("/v1/metering/usage", **_shown_query(browser) | {"window": "minute"})
    assert refusal.status_code == 400
    assert error.text.startswith("400 INVALID_ARGUMENT: ")
    assert refusal.json()["message"] in error.text
    assert browser.find_element("id", "usage-result").is_displayed() is False
    Select(browser.find_element("id", "usage-window")).select_by_value("day")
    idle(browser, "usage")
    assert not browser.find_element("id", "usage-error").is_displayed()


def test_capabilities_name_their_source_and_the_degraded_provider(
    suite: Suite, browser: WebDriver, tmp_path: Path
) -> None:
    # Keyboard: from the focused tab, the arrow keys move along the tabs.
    tab = browser.find_element("id", "tab-usage")
    tab.send_keys(Keys.ARROW_RIGHT)
    assert browser.find_element("id", "tab-audit").get_attribute("aria-selected") == "true"
    browser.switch_to.active_element.send_keys(Keys.ARROW_RIGHT)
    assert browser.switch_to.active_element.get_attribute("id") == "tab-capabilities"
    idle(browser, "capabilities")

    snapshot = suite.get("/v1/capabilities").json()
    features = {
        row.get_attribute("data-key"): row.find_elements("css selector", "td")
        for row in browser.find_elements("css selector", "#capabilities-features tbody tr")
    }
    assert set(features) == set(snapshot["features"])
    for name, (enabled, source) in features.items():
        assert enabled.text == ("yes" if snapshot["features"][name] else "no")
        assert source.text == "core"
    degraded = browser.find_element(
        "css selector", '#capabilities-degraded [data-provider="billing-ext"]'
    )
    assert degraded.text == "billing-ext — UNAVAILABLE"
    assert snapshot["metadata"]["extplane.providers.degraded"] == "billing-ext=UNAVAILABLE"
    screenshot(browser, tmp_path, "capabilities")


def test_a_narrow_screen_keeps_the_page_inside_it(browser: WebDriver, tmp_path: Path) -> None:
    browser.set_window_size(390, 844)
    try:
        browser.find_element("id", "tab-usage").click()
        idle(browser, "usage")
        overflow = browser.execute_script(
            "return document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0  # wide tables scroll inside their own region
        screenshot(browser, tmp_path, "usage-narrow")
    finally:
        browser.set_window_size(1280, 1000)
