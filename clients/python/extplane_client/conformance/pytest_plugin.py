"""The conformance suites as pytest tests, one test per check, for an implementer's CI.

In a test module (pytest-asyncio runs the tests; your fixture serves the
implementation and returns its address):

    from extplane_client.conformance.pytest_plugin import conformance_tests

    test_my_sink = conformance_tests("metering", target="sink_address", level="full",
                                     counter="sink_counter")

A failed required check fails its test with what was sent, what came back and
the clause; skip and unverifiable are skips saying which; a failed advisory
check is an xfail. The suite runs once per address, and each test reports its
check. Loaded as a plugin (`-p extplane_client.conformance.pytest_plugin`) it
adds `--conformance-level` to override the level from the command line.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Coroutine, Mapping
from typing import Any

import pytest

from extplane_client.conformance._model import CheckResult, Level, Report, Verdict
from extplane_client.conformance._runner import (
    DEFAULT_DEADLINE_S,
    Options,
    run_conformance,
    suite_checks,
)

LEVEL_OPTION = "--conformance-level"
_reports: dict[tuple[str, str, Level], Report] = {}


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        LEVEL_OPTION,
        choices=[level.value for level in Level],
        default=None,
        help="run the conformance_tests of every module at this level (seed or full)",
    )


def _report_outcome(result: CheckResult) -> None:
    check, finding = result.check, result.finding
    if result.verdict is Verdict.PASS:
        return
    if result.verdict is Verdict.FAIL and not check.required:
        pytest.xfail(f"advisory check failed: {finding.note}")
    if result.verdict is not Verdict.FAIL:
        pytest.skip(f"{result.verdict.value}: {finding.note}")
    pytest.fail(
        f"{finding.note}\nsent: {finding.sent}\ngot: {finding.got}\n"
        f"contract: {check.clause.text} ({check.clause.section})",
        pytrace=False,
    )


def conformance_tests(
    suite: str,
    *,
    target: str,
    level: Level | str = Level.SEED,
    counter: str | None = None,
    token: str | None = None,
    deadline_s: float = DEFAULT_DEADLINE_S,
    settings: Mapping[str, Any] | None = None,
) -> Callable[..., Coroutine[Any, Any, None]]:
    """A test function parametrized by the suite's checks. `target` and `counter`
    name fixtures: the implementation's address, and an optional counter coroutine
    (see extplane_client.conformance.counting)."""
    chosen = Level(level)
    full_names = [
        c.name for c in suite_checks(suite, Options(Level.FULL, settings=dict(settings or {})))
    ]

    async def test(conformance_check: str, request: pytest.FixtureRequest, **fixtures: Any) -> None:
        override = request.config.getoption(LEVEL_OPTION, default=None)
        run_level = Level(override) if override else chosen
        address: str = fixtures[target]
        key = (suite, address, run_level)
        if key not in _reports:
            options = Options(
                run_level, deadline_s, fixtures.get(counter or ""), dict(settings or {})
            )
            _reports[key] = await run_conformance(suite, address, token=token, options=options)
        try:
            result = _reports[key].of(conformance_check)
        except KeyError:
            pytest.skip(f"a {Level.FULL.value}-level check; this run is {run_level.value}")
        _report_outcome(result)

    # pytest resolves the fixtures a test names in its signature (async ones too,
    # before the test runs), so the signature names `target` and `counter`.
    keyword = inspect.Parameter.KEYWORD_ONLY
    test.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [
            inspect.Parameter("conformance_check", keyword),
            inspect.Parameter("request", keyword),
            *(inspect.Parameter(name, keyword) for name in (target, counter) if name),
        ]
    )
    marked = pytest.mark.parametrize("conformance_check", full_names)(test)
    return pytest.mark.asyncio(marked)  # type: ignore[no-any-return]
