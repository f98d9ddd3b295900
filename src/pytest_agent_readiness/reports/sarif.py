"""The scorecard as SARIF 2.1.0, for GitHub code scanning: failed checks point at manifest lines.

One run; one rule per check id (plus one for the gate and one for an incomplete run); one result
per failed check per agent. Results carry a partial fingerprint per (check, agent), so code
scanning tracks one alert across runs even as lines move.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from ._text import (
    DIMENSION_LABELS,
    AgentView,
    CheckView,
    ScorecardView,
    failed_checks,
    finding,
    fingerprint,
    one_line,
    view,
)

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
SRCROOT = "%SRCROOT%"
GATE_RULE = "agent-readiness/gate"
INCOMPLETE_RULE = "agent-readiness/incomplete"
FINGERPRINT_KEY = "agentReadiness/v1"
_SYNTHETIC_RULES: Mapping[str, tuple[str, str, str]] = {
    GATE_RULE: (
        "ReadinessGate",
        "The readiness gate failed",
        "Raise the scores named in the message, or lower the gate in the manifest on purpose.",
    ),
    INCOMPLETE_RULE: (
        "IncompleteRun",
        "The readiness run could not judge everything",
        "Fix what stopped the run (crash, collection error, lost worker) and run it again.",
    ),
}
_DIGITS = re.compile(r"\d+")


def render_sarif(scorecard: Mapping[str, Any]) -> str:
    """Render ``scorecard`` as a SARIF 2.1.0 log (JSON, sorted keys, two-space indent)."""
    card = view(scorecard)
    rules = _rules(card)
    index = {rule["id"]: position for position, rule in enumerate(rules)}
    results = [
        *(_manifest_result(card, INCOMPLETE_RULE, reason) for reason in _incomplete(card)),
        *(_manifest_result(card, GATE_RULE, message) for message in card.gate_messages()),
        *(_check_result(agent, check) for agent, check in failed_checks(card.agents)),
    ]
    for result in results:
        result["ruleIndex"] = index[result["ruleId"]]
    log = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": card.tool_name,
                        "version": card.tool_version,
                        "rules": rules,
                    }
                },
                "columnKind": "unicodeCodePoints",
                "results": results,
                "properties": {
                    "verdict": "ready" if card.ready else "not_ready",
                    "total": card.total,
                    "incomplete": card.incomplete,
                    "project": card.project,
                },
            }
        ],
    }
    return json.dumps(log, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def _incomplete(card: ScorecardView) -> tuple[str, ...]:
    if not card.incomplete:
        return ()
    return card.incomplete_reasons or ("The run could not judge every check.",)


def _rules(card: ScorecardView) -> list[dict[str, Any]]:
    """One rule per check id, described by its first occurrence (agents are sorted by name)."""
    first: dict[str, CheckView] = {}
    for agent in card.agents:
        for check in agent.checks:
            first.setdefault(check.id, check)
    rules = [_check_rule(first[check_id]) for check_id in sorted(first)]
    for rule_id, (name, title, remediation) in _SYNTHETIC_RULES.items():
        rules.append(
            {
                "id": rule_id,
                "name": name,
                "shortDescription": {"text": title},
                "help": {"text": remediation},
                "defaultConfiguration": {"level": "error"},
                "properties": {"severity": "critical", "tags": ["agent-readiness"]},
            }
        )
    return rules


def _check_rule(check: CheckView) -> dict[str, Any]:
    title = one_line(check.title) or check.id
    return {
        "id": check.id,
        "name": _pascal_case(title) or "Check",
        "shortDescription": {"text": title},
        "help": {"text": check.remediation or title},
        "defaultConfiguration": {"level": "error" if check.critical else "warning"},
        "properties": {
            "dimension": check.dimension,
            "severity": check.severity,
            "tags": ["agent-readiness", check.dimension],
        },
    }


def _pascal_case(text: str) -> str:
    return "".join(word[:1].upper() + word[1:] for word in re.findall(r"[A-Za-z0-9]+", text))


def _location(path: str, line: int | None, document_path: str = "") -> list[dict[str, Any]]:
    # The scorecard's files are relative to the repository root, which is what %SRCROOT% names
    # for code scanning; an absolute path (no relative one existed) stands alone.
    artifact: dict[str, Any] = {"uri": quote(path, safe="/")}
    if not path.startswith("/"):
        artifact["uriBaseId"] = SRCROOT
    region = {"startLine": line if line is not None and line >= 1 else 1}
    location: dict[str, Any] = {
        "physicalLocation": {"artifactLocation": artifact, "region": region}
    }
    if document_path:
        # Where in the document, for viewers that show more than the line.
        location["logicalLocations"] = [{"fullyQualifiedName": document_path, "kind": "member"}]
    return [location]


def _check_result(agent: AgentView, check: CheckView) -> dict[str, Any]:
    level = finding(agent, check) or "note"
    label = DIMENSION_LABELS.get(check.dimension, check.dimension)
    parts = [f"{check.label} fails for agent '{agent.name}' ({label}, {check.severity}"]
    parts.append(")." if agent.gated else "; a pilot, so not blocking).")
    if check.reason:
        parts.append(f" {check.reason}")
    if check.remediation:
        parts.append(f" Fix: {check.remediation}")
    return {
        "ruleId": check.id,
        "level": level,
        "message": {"text": "".join(parts)},
        "locations": _location(check.file, check.line, check.document_path),
        "partialFingerprints": {FINGERPRINT_KEY: fingerprint(check.id, agent.name)},
        "properties": {"agent": agent.name, "stage": agent.stage, "gated": agent.gated},
    }


def _manifest_result(card: ScorecardView, rule_id: str, message: str) -> dict[str, Any]:
    # Scores inside the sentence change from run to run; the rule it names does not.
    stable = _DIGITS.sub("#", one_line(message))
    return {
        "ruleId": rule_id,
        "level": "error",
        "message": {"text": message or "Not ready."},
        "locations": _location(card.manifest_file, 1),
        "partialFingerprints": {FINGERPRINT_KEY: fingerprint(rule_id, stable)},
    }
