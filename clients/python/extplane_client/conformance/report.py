"""A report as a text table, as JSON, and as JUnit XML (which every CI reads)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

from extplane_client.conformance._model import CheckResult, Report, Verdict

EXIT_CONFORMANT = 0
EXIT_FAILED = 1
EXIT_UNVERIFIED = 4


def exit_status(report: Report) -> int:
    """0 every required check passed (or does not apply); 1 one failed; 4 none failed
    but one could not be observed (give the kit a counter, or an echo route)."""
    if report.names(Verdict.FAIL, required=True):
        return EXIT_FAILED
    if report.names(Verdict.UNVERIFIABLE, required=True):
        return EXIT_UNVERIFIED
    return EXIT_CONFORMANT


def _result_label(result: CheckResult) -> str:
    label = result.verdict.value.upper() if result.verdict is Verdict.FAIL else result.verdict.value
    return label if result.check.required else f"{label} (advisory)"


def summary(report: Report) -> str:
    counts = {v: len(report.names(v)) for v in Verdict}
    verdict = "conformant" if report.conformant else "NOT conformant"
    if not report.conformant and not report.names(Verdict.FAIL, required=True):
        verdict = "not verified"
    parts = ", ".join(f"{counts[v]} {v.value}" for v in Verdict)
    return f"{report.suite} at {report.target}, level {report.level.value}: {verdict} ({parts})"


def render_text(report: Report) -> str:
    """One row per check; under a failure: what was sent, what came back, the clause."""
    width = max((len(r.check.name) for r in report.results), default=5)
    label_width = max((len(_result_label(r)) for r in report.results), default=6)
    lines = [f"{'CHECK':<{width}}  LEVEL  {'RESULT':<{label_width}}  DETAIL"]
    for result in report.results:
        check, finding = result.check, result.finding
        lines.append(
            f"{check.name:<{width}}  {check.level.value:<5}  "
            f"{_result_label(result):<{label_width}}  {finding.note}".rstrip()
        )
        if result.verdict is Verdict.FAIL:
            indent = " " * 4
            if finding.sent:
                lines.append(f"{indent}sent:     {finding.sent}")
            if finding.got:
                lines.append(f"{indent}got:      {finding.got}")
            lines.append(f"{indent}contract: {check.clause.text} ({check.clause.section})")
    lines.append(summary(report))
    return "\n".join(lines)


def to_json(report: Report) -> dict[str, Any]:
    return {
        "suite": report.suite,
        "target": report.target,
        "level": report.level.value,
        "conformant": report.conformant,
        "exit_status": exit_status(report),
        "checks": [
            {
                "name": r.check.name,
                "level": r.check.level.value,
                "required": r.check.required,
                "result": r.verdict.value,
                "note": r.finding.note,
                "sent": r.finding.sent,
                "got": r.finding.got,
                "contract": r.check.clause.text,
                "section": r.check.clause.section,
                "seconds": round(r.seconds, 6),
            }
            for r in report.results
        ],
    }


def junit_xml(report: Report) -> str:
    """One testsuite, one testcase per check: a failed required check is a
    <failure>, a failed advisory one a <system-out> line, skip and unverifiable
    a <skipped> (its message says which)."""
    suite = ET.Element(
        "testsuite",
        name=f"extplane-conformance.{report.suite}",
        tests=str(len(report.results)),
        failures=str(len(report.names(Verdict.FAIL, required=True))),
        errors="0",
        skipped=str(len(report.names(Verdict.SKIP)) + len(report.names(Verdict.UNVERIFIABLE))),
        time=f"{sum(r.seconds for r in report.results):.3f}",
    )
    ET.SubElement(
        ET.SubElement(suite, "properties"), "property", name="level", value=report.level.value
    )
    for result in report.results:
        check, finding = result.check, result.finding
        case = ET.SubElement(
            suite,
            "testcase",
            classname=f"extplane-conformance.{report.suite}.{check.level.value}",
            name=check.name,
            time=f"{result.seconds:.3f}",
        )
        contract = f"{check.clause.text} ({check.clause.section})"
        if result.verdict is Verdict.FAIL and check.required:
            failure = ET.SubElement(case, "failure", message=finding.note, type="nonconformance")
            failure.text = f"sent: {finding.sent}\ngot: {finding.got}\ncontract: {contract}"
        elif result.verdict is Verdict.FAIL:
            ET.SubElement(case, "system-out").text = f"advisory check failed: {finding.note}"
        elif result.verdict in (Verdict.SKIP, Verdict.UNVERIFIABLE):
            ET.SubElement(case, "skipped", message=f"{result.verdict.value}: {finding.note}")
    ET.indent(suite)
    return ET.tostring(suite, encoding="unicode", xml_declaration=True) + "\n"
