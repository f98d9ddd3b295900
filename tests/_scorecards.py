"""Sample scorecards for the renderer tests: a realistic one, a ready one, and hostile ones.

The hostile strings are what a malicious or careless project could put into its manifest, test
ids or check plugins; every renderer must carry them inertly.
"""

from __future__ import annotations

import copy
import json
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import jsonschema

SCHEMA_PATH = (
    Path(__file__).parent.parent / "src/pytest_agent_readiness/schemas/scorecard.schema.json"
)

HOSTILE_STRINGS: dict[str, str] = {
    "pipe": "a | b || c",
    "backticks": "`tick` ``double`` ```triple",
    "backtick-edges": "`starts and ends`",
    "html-comment-open": "before <!-- hidden",
    "html-comment-close": "--> after",
    "marker": "<!-- agent-readiness -->",
    "script": "<script>alert(1)</script>",
    "img": '<img src=x onerror="alert(1)">',
    "mention": "@octocat and @acme/security",
    "issue-ref": "#123, acme/repo#45 and GH-7",
    "link": "[click](https://evil.example/x) ![i](https://evil.example/i.png)",
    "autolink": "visit https://evil.example or www.evil.example or <https://evil.example>",
    "emphasis": "*bold* _em_ ~~strike~~ $x^2$",
    "newlines": "line one\nline two\r\n\r\n| new | row |\rline four",
    "heading": "\n# Heading\n---\n",
    "entities": "&amp; &lt; &#64;octocat \" '",
    "controls": "nul\x00 bell\x07 esc\x1b[31m del\x7f c1\x85\x9b",
    "bidi": "admin\u202e\u2066evil\u2069",
    "workflow-command": "x\n::error file=a.py,line=1::injected\n::stop-commands::tok",
    "encoded-command": "%0A::error::encoded %25 %3A %2C",
    "property-chars": "a,b:c=d",
    "cdata": "]]> <![CDATA[ x ]]>",
    "backslashes": "\\ \\| \\` \\*",
    "long": "x" * 5_000,
    "unicode": "Ünïcødé ✓ 漢字 🧪",
}


def _check(
    check_id: str,
    title: str,
    dimension: str,
    severity: str,
    level: str,
    full_level: str,
    *,
    passed: bool,
    reason: str,
    remediation: str,
    line: int | None,
    document_path: str = "",
    evidence: list[str] | None = None,
    failed_evidence: list[str] | None = None,
    waiver: dict[str, Any] | None = None,
) -> dict[str, Any]:
    points = {"missing": 0, "declared": 1, "proven": 2}
    return {
        "id": check_id,
        "title": title,
        "dimension": dimension,
        "severity": severity,
        "weight": 1,
        "level": level,
        "full_level": full_level,
        "passed": passed,
        "points": min(points[level], points[full_level]),
        "max_points": points[full_level],
        "reason": reason,
        "remediation": remediation,
        "file": "agent-readiness.yaml",
        "line": line,
        "document_path": document_path,
        "evidence": evidence or [],
        "failed_evidence": failed_evidence or [],
        "evidence_sources": dict.fromkeys([*(evidence or []), *(failed_evidence or [])], "test"),
        "waiver": waiver,
    }


# Where each sample check points inside the manifest, as the catalogue's findings do (the
# document path, never a file name: the file is the scorecard's "file").
_PLACES = {
    "GOV-001": "owner",
    "GOV-004": "tools",
    "INF-001": "kill_switch",
    "INF-002": "budgets",
    "OBS-001": "tracing",
    "OBS-002": "alerts",
    "DQ-001": "adversarial",
}


def _placed(agent: str, checks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    for check in checks:
        if check["line"] is not None:
            check["document_path"] = f"agents.{agent}.{_PLACES[check['id']]}"
    return checks


def _triage_checks() -> list[dict[str, Any]]:
    return _placed("triage-bot", [
        _check(
            "GOV-001", "Named human owner", "governance", "critical", "declared", "declared",
            passed=True, reason="Owner Dana Reyes is named.", remediation="Name an owner.", line=5,
        ),
        _check(
            "GOV-004", "Least privilege", "governance", "critical", "declared", "proven",
            passed=True, reason="Write tools need approval; not proven by a run yet.",
            remediation="Add a test that requests crm.issue_refund without approval.", line=14,
        ),
        _check(
            "INF-001", "Kill switch halts the agent", "infrastructure", "critical", "missing",
            "proven", passed=False, reason="No kill switch is declared.",
            remediation="Declare kill_switch with a mechanism, target and halt_within_s.", line=3,
        ),
        _check(
            "INF-002", "Budgets enforced", "infrastructure", "critical", "proven", "proven",
            passed=True, reason="The runaway session stopped at 40 tool calls.",
            remediation="Declare budgets.", line=22,
            evidence=["tests/test_budgets.py::test_runaway_session[triage-bot]"],
        ),
        _check(
            "OBS-001", "Every tool call traced", "observability", "critical", "proven", "proven",
            passed=True, reason="12 of 12 tool calls had execute_tool spans.",
            remediation="Instrument the agent with OpenTelemetry.", line=27,
            evidence=["tests/test_tracing.py::test_spans"],
        ),
        _check(
            "OBS-002", "Alerts declared for the article's signals", "observability", "standard",
            "missing", "declared", passed=False,
            reason="No alert for unusual_call_frequency, unexpected_data_access.",
            remediation="Declare an alert for each signal.", line=28,
        ),
        _check(
            "DQ-001", "Adversarial suites pass", "data_quality", "critical", "proven", "proven",
            passed=True, reason="6 suites passed at 100%.", remediation="Run the suites.", line=33,
            evidence=["readiness::adversarial[prompt_injection]"],
            failed_evidence=["tests/test_red_team.py::test_jailbreak_variant"],
        ),
        _check(
            "DQ-002", "Drift detection declared", "data_quality", "standard", "declared",
            "declared", passed=True, reason="Waived until 2026-12-31.",
            remediation="Declare data_quality.drift.", line=None,
            waiver={"approved_by": "Dana Reyes", "expires": "2026-12-31"},
        ),
    ])  # fmt: skip


def _refund_checks() -> list[dict[str, Any]]:
    return _placed("refund-agent", [
        _check(
            "GOV-001", "Named human owner", "governance", "critical", "missing", "declared",
            passed=False, reason="No owner is named.", remediation="Name an owner.", line=41,
        ),
        _check(
            "INF-001", "Kill switch halts the agent", "infrastructure", "critical", "declared",
            "proven", passed=False,
            reason="Tool calls kept starting 9.5 s after the switch (allowed 5 s).",
            remediation="Check the kill switch between tool calls.", line=44,
            failed_evidence=["readiness::kill_switch[refund-agent]"],
        ),
    ])  # fmt: skip


def sample_scorecard() -> dict[str, Any]:
    """A not-ready scorecard: one gated agent failing two checks, one failing pilot, a waiver."""
    return {
        "schema_version": 2,
        "tool": {"name": "pytest-agent-readiness", "version": "0.1.0"},
        "project": "support-automation",
        "manifest": {"file": "agent-readiness.yaml", "sha256": "0" * 64},
        "as_of": "2026-11-25",
        "verdict": "not_ready",
        "incomplete": False,
        "incomplete_reasons": [],
        "total": 11,
        "dimensions": {"governance": 3, "infrastructure": 2, "observability": 3, "data_quality": 3},
        "gate": {
            "min_total": 14,
            "min_dimension": 3,
            "failures": [
                "Total 11 is under min_total 14.",
                "Infrastructure 2 is under min_dimension 3: INF-001 on triage-bot.",
            ],
        },
        "agents": {
            "triage-bot": {
                "stage": "stabilization",
                "gated": True,
                "owner": "Dana Reyes",
                "total": 11,
                "dimensions": {
                    "governance": 3,
                    "infrastructure": 2,
                    "observability": 3,
                    "data_quality": 3,
                },
                "checks": _triage_checks(),
            },
            "refund-agent": {
                "stage": "pilot",
                "gated": False,
                "owner": None,
                "total": 7,
                "dimensions": {
                    "governance": 2,
                    "infrastructure": 1,
                    "observability": 2,
                    "data_quality": 2,
                },
                "checks": _refund_checks(),
            },
        },
        "waivers": [
            {
                "check": "DQ-002",
                "agent": "triage-bot",
                "reason": "The drift dashboard lands in Q1.",
                "approved_by": "Dana Reyes",
                "expires": "2026-12-31",
                "status": "expiring",
                "note": "Expires in 36 days.",
                "file": "agent-readiness.yaml",
                "line": 50,
            }
        ],
        "warnings": [],
    }


def ready_scorecard() -> dict[str, Any]:
    """A ready scorecard: every check of the one gated agent passes at full marks."""
    card = sample_scorecard()
    del card["agents"]["refund-agent"]
    agent = card["agents"]["triage-bot"]
    for check in agent["checks"]:
        check.update(passed=True, level=check["full_level"], waiver=None)
    agent["dimensions"] = dict.fromkeys(agent["dimensions"], 5)
    agent["total"] = 20
    card.update(
        verdict="ready",
        total=20,
        dimensions=dict(agent["dimensions"]),
        waivers=[],
    )
    card["gate"]["failures"] = []
    return card


def hostile_scorecard(text: str) -> dict[str, Any]:
    """The sample scorecard with ``text`` in every string the project controls."""
    card = sample_scorecard()
    card["project"] = text
    card["manifest"]["file"] = f"config/{text}.yaml"
    card["incomplete"] = True
    card["incomplete_reasons"] = [text]
    card["gate"]["failures"] = [text, f"second {text}"]
    card["warnings"] = [text]
    agents = {}
    for index, (name, agent) in enumerate(sorted(card["agents"].items())):
        agent["owner"] = text
        for check in agent["checks"]:
            check.update(
                id=f"{check['id']}{text}" if index else check["id"],
                title=text,
                reason=text,
                remediation=text,
                file=card["manifest"]["file"],
                document_path=text,
                evidence=[text, *check["evidence"]],
                failed_evidence=[text],
            )
        agents[f"{text}-{name}" if index else text] = agent
    card["agents"] = agents
    for waiver in card["waivers"]:
        waiver.update(
            agent=text,
            reason=text,
            approved_by=text,
            note=text,
            check=text,
            file=card["manifest"]["file"],
        )
    return card


REPO = Path(__file__).resolve().parent.parent
UNREADY_MANIFEST = REPO / "examples" / "unready-pilot" / "agent-readiness.yaml"


def real_scorecard(manifest_file: Path = UNREADY_MANIFEST) -> dict[str, Any]:
    """The scorecard the real code writes for ``manifest_file`` judged on its declarations alone
    (no run-time evidence), read back from its JSON: every field, locations included, is what a
    run produces. Paths are relative to the repository around the manifest (this checkout for
    the examples)."""
    from datetime import date

    from pytest_agent_readiness.catalogue import BUILTIN_CHECKS
    from pytest_agent_readiness.checks import CheckRegistry
    from pytest_agent_readiness.manifest import load_manifest
    from pytest_agent_readiness.scorecard import build_scorecard, dumps, repository_path
    from pytest_agent_readiness.scoring import assess

    checks = CheckRegistry()
    checks.extend(BUILTIN_CHECKS)
    manifest = load_manifest(manifest_file, display=manifest_file.name)
    assessment = assess(manifest, checks, [], today=date(2026, 11, 25))
    file = repository_path(manifest_file, manifest_file.parent, {})
    card: dict[str, Any] = json.loads(
        dumps(build_scorecard(assessment, manifest_in_repository=file))
    )
    return card


def validate(card: dict[str, Any]) -> dict[str, Any]:
    """``card`` after checking it against the scorecard schema (the samples obey the contract)."""
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    jsonschema.validate(card, schema)
    return copy.deepcopy(card)


class _Structure(HTMLParser):
    """Records an HTML document's tags (with attribute names), comments and text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.attributes: list[tuple[str, str, str | None]] = []
        self.comments: list[str] = []
        self.texts: list[tuple[str, str]] = []  # (innermost open tag, text)
        self._open: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(f"<{tag} {' '.join(sorted(name for name, _ in attrs))}>")
        self.attributes += [(tag, name, value) for name, value in attrs]
        if tag not in VOID_TAGS:
            self._open.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(f"<{tag} {' '.join(sorted(name for name, _ in attrs))}/>")
        self.attributes += [(tag, name, value) for name, value in attrs]

    def handle_endtag(self, tag: str) -> None:
        self.tags.append(f"</{tag}>")
        if tag in self._open:
            while self._open.pop() != tag:
                pass

    def handle_comment(self, data: str) -> None:
        self.comments.append(data)

    def handle_data(self, data: str) -> None:
        self.texts.append((self._open[-1] if self._open else "", data))


VOID_TAGS = frozenset({"br", "meta", "hr", "img", "input", "link", "wbr"})


def parse_html(document: str) -> _Structure:
    """The tags, attributes, comments and text of an HTML document (or fragment)."""
    parser = _Structure()
    parser.feed(document)
    parser.close()
    return parser
