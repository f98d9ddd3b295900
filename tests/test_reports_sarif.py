"""The SARIF renderer, validated against the OASIS SARIF 2.1.0 JSON Schema."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from _scorecards import (
    HOSTILE_STRINGS,
    hostile_scorecard,
    ready_scorecard,
    sample_scorecard,
    validate,
)
from pytest_agent_readiness.reports.sarif import (
    FINGERPRINT_KEY,
    GATE_RULE,
    INCOMPLETE_RULE,
    render_sarif,
)

SARIF_SCHEMA = json.loads(
    (Path(__file__).parent / "data" / "sarif-schema-2.1.0.json").read_text(encoding="utf-8")
)


def sarif(card: dict[str, Any]) -> dict[str, Any]:
    """Render ``card`` and check the log against the SARIF schema."""
    log: dict[str, Any] = json.loads(render_sarif(validate(card)))
    validator = jsonschema.Draft7Validator(
        SARIF_SCHEMA, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER
    )
    validator.validate(log)
    return log


def results_by(log: dict[str, Any]) -> dict[tuple[str, str | None], dict[str, Any]]:
    return {
        (result["ruleId"], result.get("properties", {}).get("agent")): result
        for result in log["runs"][0]["results"]
    }


def test_log_is_valid_sarif_with_one_run_and_our_driver() -> None:
    log = sarif(sample_scorecard())

    assert log["version"] == "2.1.0"
    assert len(log["runs"]) == 1
    driver = log["runs"][0]["tool"]["driver"]
    assert (driver["name"], driver["version"]) == ("pytest-agent-readiness", "0.1.0")


def test_one_rule_per_check_id_with_title_remediation_and_properties() -> None:
    rules = sarif(sample_scorecard())["runs"][0]["tool"]["driver"]["rules"]

    assert [rule["id"] for rule in rules] == [
        "DQ-001", "DQ-002", "GOV-001", "GOV-004", "INF-001", "INF-002", "OBS-001", "OBS-002",
        GATE_RULE, INCOMPLETE_RULE,
    ]  # fmt: skip
    kill_switch = rules[4]
    assert kill_switch["name"] == "KillSwitchHaltsTheAgent"
    assert kill_switch["shortDescription"] == {"text": "Kill switch halts the agent"}
    # Described by the first agent in name order that has the check.
    assert kill_switch["help"] == {"text": "Check the kill switch between tool calls."}
    assert kill_switch["properties"]["dimension"] == "infrastructure"
    assert kill_switch["properties"]["severity"] == "critical"
    assert kill_switch["defaultConfiguration"] == {"level": "error"}


@pytest.mark.parametrize(
    ("rule", "agent", "level", "line"),
    [
        ("INF-001", "triage-bot", "error", 3),  # critical, gated
        ("OBS-002", "triage-bot", "warning", 28),  # standard
        ("GOV-001", "refund-agent", "warning", 41),  # critical, but a pilot
        ("INF-001", "refund-agent", "warning", 44),
        (GATE_RULE, None, "error", 1),
    ],
)
def test_results_for_failed_checks_and_the_gate(
    rule: str, agent: str | None, level: str, line: int
) -> None:
    log = sarif(sample_scorecard())

    result = results_by(log)[(rule, agent)]

    assert result["level"] == level
    location = result["locations"][0]["physicalLocation"]
    assert location["artifactLocation"] == {"uri": "agent-readiness.yaml", "uriBaseId": "%SRCROOT%"}
    assert location["region"] == {"startLine": line}
    rules = log["runs"][0]["tool"]["driver"]["rules"]
    assert rules[result["ruleIndex"]]["id"] == rule


def test_only_failures_become_results() -> None:
    results = sarif(sample_scorecard())["runs"][0]["results"]

    assert [result["ruleId"] for result in results] == [
        GATE_RULE, GATE_RULE, "INF-001", "GOV-001", "INF-001", "OBS-002",
    ]  # fmt: skip


def test_message_names_agent_reason_and_fix() -> None:
    result = results_by(sarif(sample_scorecard()))[("INF-001", "triage-bot")]

    assert result["message"]["text"] == (
        "INF-001 Kill switch halts the agent fails for agent 'triage-bot' (Infrastructure, "
        "critical). No kill switch is declared. Fix: Declare kill_switch with a mechanism, "
        "target and halt_within_s."
    )


def test_ready_scorecard_has_rules_but_no_results() -> None:
    log = sarif(ready_scorecard())

    assert log["runs"][0]["results"] == []
    assert log["runs"][0]["properties"]["verdict"] == "ready"


def test_incomplete_run_is_a_result_on_the_manifest() -> None:
    card = ready_scorecard()
    card.update(incomplete=True, incomplete_reasons=["Worker gw2 was lost."])

    result = results_by(sarif(card))[(INCOMPLETE_RULE, None)]

    assert result["level"] == "error"
    assert result["message"]["text"] == "Worker gw2 was lost."
    assert result["locations"][0]["physicalLocation"]["region"] == {"startLine": 1}


def test_fingerprints_are_stable_per_check_and_agent() -> None:
    before = results_by(sarif(sample_scorecard()))
    moved = sample_scorecard()
    for check in moved["agents"]["triage-bot"]["checks"]:
        check["line"] = (check["line"] or 0) + 7
        check["reason"] += " (reworded)"
    moved["total"] = 12
    moved["gate"]["failures"][0] = "Total 12 is under min_total 14."
    after = results_by(sarif(moved))

    def prints(results: dict[Any, dict[str, Any]]) -> dict[Any, str]:
        return {
            key: result["partialFingerprints"][FINGERPRINT_KEY] for key, result in results.items()
        }

    assert prints(before) == prints(after)
    assert len(set(prints(before).values())) == len(before)  # (check, agent) pairs differ


def test_output_is_sorted_indented_json() -> None:
    document = render_sarif(validate(sample_scorecard()))

    assert (
        document
        == json.dumps(json.loads(document), sort_keys=True, indent=2, ensure_ascii=False) + "\n"
    )


@pytest.mark.parametrize("text", HOSTILE_STRINGS.values(), ids=HOSTILE_STRINGS.keys())
def test_hostile_strings_give_valid_sarif(text: str) -> None:
    log = sarif(hostile_scorecard(text))

    uris = {
        location["physicalLocation"]["artifactLocation"]["uri"]
        for result in log["runs"][0]["results"]
        for location in result["locations"]
    }
    assert len(uris) == 1
    assert not set(uris.pop()) & set(' <>"{}|\\^`\n\r\t')  # percent-encoded


def test_absolute_manifest_path_has_no_base_id() -> None:
    card = sample_scorecard()
    card["manifest"]["file"] = "/srv/app/agent-readiness.yaml"
    for agent in card["agents"].values():
        for check in agent["checks"]:
            check["file"] = "/srv/app/agent-readiness.yaml"

    result = sarif(card)["runs"][0]["results"][0]

    assert result["locations"][0]["physicalLocation"]["artifactLocation"] == {
        "uri": "/srv/app/agent-readiness.yaml"
    }
