"""docs/conformance.md lists every check on one line with the clause it tests,
and every clause's section exists in the document it names."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from extplane_client.conformance import Check, Level, Options, suite_checks

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "conformance.md"
RUNS = [
    ("metering", {}),
    ("audit", {}),
    ("capabilities", {"role": "provider"}),
    ("capabilities", {"role": "core"}),
    ("handler", {}),
]


def every_check() -> list[Check]:
    checks: dict[str, Check] = {}
    for suite, settings in RUNS:
        for check in suite_checks(suite, Options(Level.FULL, settings=settings)):
            checks.setdefault(check.name, check)
    return list(checks.values())


def anchors(markdown: str) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens."""
    headings = re.findall(r"^#+ (.+)$", markdown, flags=re.MULTILINE)
    return {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-") for h in headings}


@pytest.mark.parametrize("check", every_check(), ids=lambda check: check.name)
def test_each_check_has_one_line_naming_its_level_clause_and_section(check: Check) -> None:
    lines = [line for line in DOC.read_text().splitlines() if f"`{check.name}`" in line]
    assert len(lines) == 1, f"{check.name}: {len(lines)} lines"
    advisory = "" if check.required else ", advisory"
    section = check.clause.section.removeprefix("docs/")
    assert lines[0] == (
        f"| `{check.name}` | {check.level.value}{advisory} | {check.clause.text} "
        f"| [{section}]({section}) |"
    )


def test_the_doc_lists_no_check_the_kit_does_not_have() -> None:
    listed = set(re.findall(r"^\| `([\w.]+)` \|", DOC.read_text(), flags=re.MULTILINE))
    assert listed == {check.name for check in every_check()}


@pytest.mark.parametrize(
    "section", sorted({c.clause.section for c in every_check()}), ids=lambda s: s
)
def test_each_clause_section_exists(section: str) -> None:
    path, _, anchor = section.partition("#")
    assert anchor in anchors((ROOT / path).read_text()), section


def test_the_readme_links_the_doc() -> None:
    assert "(docs/conformance.md)" in (ROOT / "README.md").read_text()
