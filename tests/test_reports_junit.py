"""The JUnit XML renderer: one suite per agent plus the gate, one case per check, parsed back."""

from __future__ import annotations

import re
import warnings
import xml.etree.ElementTree as ET

import pytest

from _scorecards import (
    HOSTILE_STRINGS,
    hostile_scorecard,
    ready_scorecard,
    sample_scorecard,
    validate,
)
from pytest_agent_readiness.reports._text import clean, clip, one_line
from pytest_agent_readiness.reports.junit import render_junit

# Characters XML 1.0 does not allow in a document, even escaped.
FORBIDDEN_IN_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def parse(document: str) -> ET.Element:
    return ET.fromstring(document.encode("utf-8"))


def suites(root: ET.Element) -> dict[str, ET.Element]:
    return {suite.attrib["name"]: suite for suite in root.iter("testsuite")}


def cases(suite: ET.Element) -> dict[str, ET.Element]:
    return {case.attrib["name"]: case for case in suite.iter("testcase")}


def test_one_suite_per_agent_and_a_gate_suite() -> None:
    root = parse(render_junit(validate(sample_scorecard())))

    assert list(suites(root)) == ["refund-agent", "triage-bot", "gate"]
    assert root.attrib["tests"] == "11"
    assert root.attrib["failures"] == "5"


def test_one_case_per_check_with_classname_file_and_line() -> None:
    triage = suites(parse(render_junit(validate(sample_scorecard()))))["triage-bot"]

    by_name = cases(triage)
    assert len(by_name) == 8
    kill_switch = by_name["INF-001 Kill switch halts the agent"]
    assert kill_switch.attrib["classname"] == "agent-readiness.triage-bot"
    assert kill_switch.attrib["file"] == "agent-readiness.yaml"
    assert kill_switch.attrib["line"] == "3"
    assert "line" not in by_name["DQ-002 Drift detection declared"].attrib  # no manifest line


@pytest.mark.parametrize(
    ("agent", "case", "failure_type", "message"),
    [
        (
            "triage-bot",
            "INF-001 Kill switch halts the agent",
            "critical",
            "No kill switch is declared.",
        ),
        (
            "triage-bot",
            "OBS-002 Alerts declared for the article's signals",
            "standard",
            "No alert for unusual_call_frequency, unexpected_data_access.",
        ),
        ("refund-agent", "GOV-001 Named human owner", "critical", "No owner is named."),
    ],
)  # fmt: skip
def test_failed_checks_fail_with_their_reason(
    agent: str, case: str, failure_type: str, message: str
) -> None:
    suite = suites(parse(render_junit(validate(sample_scorecard()))))[agent]

    failure = cases(suite)[case].find("failure")

    assert failure is not None
    assert failure.attrib == {"type": failure_type, "message": message}
    assert failure.text is not None
    assert message in failure.text
    assert "Fix: " in failure.text


def test_pass_short_of_full_marks_passes_with_the_reason_in_system_out() -> None:
    triage = suites(parse(render_junit(validate(sample_scorecard()))))["triage-bot"]

    least_privilege = cases(triage)["GOV-004 Least privilege"]

    assert least_privilege.find("failure") is None
    out = least_privilege.findtext("system-out")
    assert out is not None
    assert out.startswith("Passed at level declared; full marks need proven.\n")
    assert "Write tools need approval; not proven by a run yet." in out


def test_evidence_and_waivers_are_reported() -> None:
    triage = cases(suites(parse(render_junit(validate(sample_scorecard()))))["triage-bot"])

    assert "Evidence: tests/test_tracing.py::test_spans" in (
        triage["OBS-001 Every tool call traced"].findtext("system-out") or ""
    )
    assert "Covered by a waiver" in (
        triage["DQ-002 Drift detection declared"].findtext("system-out") or ""
    )


def test_gate_fails_with_every_gate_failure_when_not_ready() -> None:
    gate = suites(parse(render_junit(validate(sample_scorecard()))))["gate"]

    failure = cases(gate)["gate"].find("failure")

    assert failure is not None
    assert failure.attrib["message"] == "Total 11 is under min_total 14."
    assert (failure.text or "").splitlines() == [
        "Not ready. Total 11 of 20.",
        "Total 11 is under min_total 14.",
        "Infrastructure 2 is under min_dimension 3: INF-001 on triage-bot.",
    ]


def test_gate_passes_when_ready() -> None:
    root = parse(render_junit(validate(ready_scorecard())))

    gate = cases(suites(root)["gate"])["gate"]

    assert gate.find("failure") is None
    assert gate.findtext("system-out") == "Ready. Total 20 of 20."
    assert root.attrib["failures"] == "0"


def test_incomplete_run_fails_the_gate_even_with_a_ready_verdict() -> None:
    card = ready_scorecard()
    card.update(incomplete=True, incomplete_reasons=["Collection error in tests/test_x.py."])

    gate = cases(suites(parse(render_junit(validate(card))))["gate"])["gate"]

    failure = gate.find("failure")
    assert failure is not None
    assert failure.attrib["message"] == "Incomplete: Collection error in tests/test_x.py."


def test_rendering_emits_no_warnings() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        render_junit(validate(sample_scorecard()))


@pytest.mark.parametrize("text", HOSTILE_STRINGS.values(), ids=HOSTILE_STRINGS.keys())
def test_hostile_strings_give_well_formed_xml_that_keeps_them(text: str) -> None:
    document = render_junit(validate(hostile_scorecard(text)))

    root = parse(document)

    assert not FORBIDDEN_IN_XML.search(document)
    expected = clip(one_line(clean(text)), 500)
    assert next(iter(suites(root))) == expected
    classnames = {case.attrib["classname"] for case in root.iter("testcase")}
    assert f"agent-readiness.{expected}" in classnames
    failures = [failure.attrib["message"] for failure in root.iter("failure")]
    assert expected in failures
    assert len(list(root.iter("testsuite"))) == 3


def test_output_is_deterministic() -> None:
    assert render_junit(validate(sample_scorecard())) == render_junit(validate(sample_scorecard()))
