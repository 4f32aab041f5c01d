"""Headless Chromium, Debian's, driven through its own chromedriver.

`tools/browser.sh` (run by `make test`) installs both. A machine without them
fails these tests: a console nobody opened in a browser is not tested.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.wait import WebDriverWait

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
# Where screenshots go, besides the test's tmp dir: docs/console.md shows a copy of them.
ARTEFACTS = Path(__file__).resolve().parents[2] / "build" / "console-screenshots"

T = TypeVar("T")


def _require(path: Path) -> None:
    if not path.is_file():
        raise AssertionError(f"{path} is missing: run `make browser` (tools/browser.sh) first")


@contextmanager
def chromium(downloads: Path, width: int = 1280, height: int = 1000) -> Iterator[WebDriver]:
    _require(CHROMIUM)
    _require(CHROMEDRIVER)
    options = webdriver.ChromeOptions()
    # Given the binary and the driver, Selenium's own manager never fetches anything.
    options.binary_location = str(CHROMIUM)
    for argument in (
        "--headless=new",
        "--no-sandbox",  # tests run as root
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--window-size={width},{height}",
    ):
        options.add_argument(argument)
    options.add_experimental_option(
        "prefs",
        {
            "download.default_directory": str(downloads),
            "download.prompt_for_download": False,
        },
    )
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(str(CHROMEDRIVER)))
    try:
        driver.execute_cdp_cmd(
            "Browser.setDownloadBehavior",
            {"behavior": "allow", "downloadPath": str(downloads), "eventsEnabled": True},
        )
        yield driver
    finally:
        driver.quit()


def wait_for(driver: WebDriver, condition: Callable[[WebDriver], T], timeout: float = 15) -> T:
    return WebDriverWait(driver, timeout, poll_frequency=0.1).until(condition)


def visible(driver: WebDriver, css: str) -> Callable[[WebDriver], WebElement | bool]:
    def check(_: WebDriver) -> WebElement | bool:
        found = driver.find_elements("css selector", css)
        return found[0] if found and found[0].is_displayed() else False

    return check


def idle(driver: WebDriver, panel: str, timeout: float = 15) -> None:
    """Wait until the panel has finished loading (its aria-busy is back to false)."""
    wait_for(
        driver,
        lambda d: d.find_element("id", f"panel-{panel}").get_attribute("aria-busy") == "false",
        timeout,
    )


def downloaded(directory: Path, name: str, timeout: float = 15) -> bytes:
    deadline = time.monotonic() + timeout
    target = directory / name
    while time.monotonic() < deadline:
        partial = list(directory.glob("*.crdownload"))
        if target.is_file() and not partial:
            return target.read_bytes()
        time.sleep(0.1)
    raise AssertionError(f"{name} was not downloaded into {directory}: {list(directory.iterdir())}")


def screenshot(driver: WebDriver, tmp: Path, name: str) -> Path:
    """A full-page PNG kept in the test's tmp dir and in build/console-screenshots/."""
    metrics = driver.execute_cdp_cmd("Page.getLayoutMetrics", {})
    size = metrics["cssContentSize"]
    shot = driver.execute_cdp_cmd(
        "Page.captureScreenshot",
        {
            "format": "png",
            "captureBeyondViewport": True,
            "clip": {"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1},
        },
    )
    png = base64.b64decode(shot["data"])
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    for directory in (tmp, ARTEFACTS):
        (directory / f"{name}.png").write_bytes(png)
    return tmp / f"{name}.png"


def console_errors(driver: WebDriver) -> list[str]:
    """The browser console's errors (a CSP violation is one), as JSON lines."""
    return [
        json.dumps(entry)
        for entry in driver.get_log("browser")  # type: ignore[no-untyped-call]
        if entry["level"] == "SEVERE"
    ]
