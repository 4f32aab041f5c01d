"""The conformance kit: does an implementation of an extplane contract behave as
the runtime expects? Runs over gRPC against any implementation, in any language.

    from extplane_client.conformance import Level, Options, run_conformance

    report = await run_conformance("metering", "127.0.0.1:50052",
                                   options=Options(level=Level.FULL))
    assert report.conformant, render_text(report)

The same from a shell: `extplane conformance metering 127.0.0.1:50052 --level full`;
from pytest: `pytest -p extplane_client.conformance.pytest_plugin` (see
docs/conformance.md). Needs only this client package, never the servers.
"""

from extplane_client.conformance._model import (
    Check,
    CheckResult,
    Clause,
    Finding,
    Level,
    Report,
    Verdict,
)
from extplane_client.conformance._probe import Counter
from extplane_client.conformance._runner import (
    DEFAULT_DEADLINE_S,
    SUITES,
    ConformanceClient,
    Options,
    run_conformance,
    suite_checks,
)
from extplane_client.conformance.counting import command_counter, query_counter
from extplane_client.conformance.report import (
    EXIT_CONFORMANT,
    EXIT_FAILED,
    EXIT_UNVERIFIED,
    exit_status,
    junit_xml,
    render_text,
    summary,
    to_json,
)

__all__ = [
    "DEFAULT_DEADLINE_S",
    "EXIT_CONFORMANT",
    "EXIT_FAILED",
    "EXIT_UNVERIFIED",
    "SUITES",
    "Check",
    "CheckResult",
    "Clause",
    "ConformanceClient",
    "Counter",
    "Finding",
    "Level",
    "Options",
    "Report",
    "Verdict",
    "command_counter",
    "exit_status",
    "junit_xml",
    "query_counter",
    "render_text",
    "run_conformance",
    "suite_checks",
    "summary",
    "to_json",
]
