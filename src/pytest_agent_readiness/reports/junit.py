"""The scorecard as JUnit XML (through the ``junit-xml`` package): one test case per check.

Each agent is a test suite; a check that failed is a failing case carrying the reason, and a
check that passed short of full marks passes with the reason in ``system-out``. A ``gate`` suite
with one case fails whenever the verdict is not ready, so a CI view of the XML alone tells the
verdict. Characters XML 1.0 forbids are replaced before they reach the document.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from junit_xml import TestCase, TestSuite, to_xml_report_string

from ..model import DIMENSIONS
from ._text import (
    AgentView,
    CheckView,
    ScorecardView,
    blockers_first,
    clip,
    one_line,
    score_text,
    view,
)

CLASSNAME_PREFIX = "agent-readiness"
GATE_SUITE = "gate"
# Attribute values (names, failure messages) are one line and bounded; full text goes in bodies.
_ATTRIBUTE_LIMIT = 500


def render_junit(scorecard: Mapping[str, Any]) -> str:
    """Render ``scorecard`` as a JUnit XML document (a string, UTF-8 ready)."""
    card = view(scorecard)
    suites = [_agent_suite(card, agent) for agent in card.agents]
    suites.append(_gate_suite(card))
    xml: str = to_xml_report_string(suites, prettyprint=True)
    return xml


def _attribute(text: str) -> str:
    return clip(one_line(text), _ATTRIBUTE_LIMIT)


def _agent_suite(card: ScorecardView, agent: AgentView) -> TestSuite:
    properties = {"stage": agent.stage, "gated": str(agent.gated).lower()}
    properties["total"] = score_text(agent.total)
    properties.update({d: score_text(agent.dimensions[d]) for d in DIMENSIONS})
    cases = [_case(agent, check) for _, check in blockers_first([agent])]
    return TestSuite(
        _attribute(agent.name), cases, properties=properties, file=_attribute(card.manifest_file)
    )


def _case(agent: AgentView, check: CheckView) -> TestCase:
    case = TestCase(
        _attribute(check.label),
        classname=f"{CLASSNAME_PREFIX}.{_attribute(agent.name)}",
        file=_attribute(check.file),
        line=str(check.line) if check.line is not None else None,
        stdout=_details(check) if check.passed else None,
    )
    if not check.passed:
        case.add_failure_info(
            message=_attribute(check.reason or "The check failed."),
            output=_details(check),
            failure_type=check.severity,
        )
    return case


def _details(check: CheckView) -> str | None:
    lines = []
    if check.passed and not check.at_full_level:
        lines.append(f"Passed at level {check.level}; full marks need {check.full_level}.")
    elif not check.passed:
        lines.append(f"Failed ({check.severity}) at level {check.level}.")
    if check.reason:
        lines.append(check.reason)
    if check.remediation and not (check.passed and check.at_full_level):
        lines.append(f"Fix: {check.remediation}")
    if check.waived:
        lines.append("Covered by a waiver: counted as declared, never proven.")
    lines += [f"Evidence: {one_line(node)}" for node in check.evidence]
    lines += [f"Failed evidence: {one_line(node)}" for node in check.failed_evidence]
    return "\n".join(lines) or None


def _gate_suite(card: ScorecardView) -> TestSuite:
    manifest = _attribute(card.manifest_file)
    case = TestCase(GATE_SUITE, classname=f"{CLASSNAME_PREFIX}.{GATE_SUITE}", file=manifest)
    reasons = list(card.gate_messages()) + [f"Incomplete: {r}" for r in card.incomplete_reasons]
    if card.incomplete and not card.incomplete_reasons:
        reasons.append("Incomplete: the run could not judge every check.")
    summary = f"Total {score_text(card.total)} of {card.max_total}"
    if card.ready:
        case.stdout = f"Ready. {summary}."
    else:
        case.add_failure_info(
            message=_attribute(reasons[0]),
            output="\n".join([f"Not ready. {summary}.", *reasons]),
            failure_type="not_ready",
        )
    properties = {
        "verdict": "ready" if card.ready else "not_ready",
        "total": score_text(card.total),
        "min_total": score_text(card.min_total),
        "min_dimension": score_text(card.min_dimension),
    }
    return TestSuite(GATE_SUITE, [case], properties=properties, file=manifest)
