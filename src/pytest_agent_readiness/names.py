"""The names the pytest face and the run's items share: options, markers, report properties.

Defined once, here, and imported by the plugin, the session and the items alike, so none of
them imports another for a name. Plain strings and string helpers: no pytest import.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .checks import EvidenceSource

OPTION_ENABLE = "readiness"
OPTION_MANIFEST = "readiness_manifest"
OPTION_JSON = "readiness_json"
OPTION_AS_OF = "readiness_as_of"
OPTION_PROBE_TIMEOUT = "readiness_probe_timeout"
OPTION_SESSION_THREADS = "readiness_session_threads"
OPTION_LIVE = "readiness_live"
OPTION_SHARD = "readiness_shard"
OPTION_REPORT = "readiness_report"
OPTION_STRICT = "readiness_strict"
SESSION_PLUGIN_NAME = "agent-readiness-session"

MARKER_READINESS = "readiness"
MARKER_ADVERSARIAL = "adversarial"
MARKERS = (
    "readiness(check, agent=None): a passing test is run-time evidence for the readiness check "
    "`check` (e.g. 'INF-001') for `agent` (every agent when omitted); a failing one fails it.",
    "adversarial(suite, agent=None): the test is one adversarial case of `suite` for `agent` "
    "(every agent that declares the suite when omitted); it counts toward the suite's pass rate.",
)

# Report properties and xdist worker output: what an item or a worker tells the controller.
EVIDENCE_PROPERTY = "agent_readiness"
TOOLS_PROPERTY = "agent_readiness_tools"
INCOMPLETE_PROPERTY = "agent_readiness_incomplete"
JUDGED_OUTPUT = "agent_readiness_judged"
JUDGED_LOCATIONS = "agent_readiness_judged_locations"
DESELECTED_OUTPUT = "agent_readiness_deselected"
# xdist workerinput: the manifest, suites and imports the controller loaded, pickled.
LOADED_INPUT = "agent_readiness_loaded"
CASE_PROPERTY = "agent_readiness_case"
MESSAGE_PROPERTY = "agent_readiness_message"
FINDING_PROPERTY = "agent_readiness_finding"


def finding_claim(check_id: str, agent: str, evidence: str) -> str:
    """How a probe says it saw ``check_id`` broken for ``agent`` (evidence in words)."""
    return f"{check_id} {agent} {evidence}"


def parse_finding_claim(text: str) -> tuple[str, str, str]:
    """The (check, agent, evidence) of a :func:`finding_claim`."""
    check_id, agent, evidence = [*text.split(" ", 2), "", ""][:3]
    return check_id, agent, evidence


def case_claim(agent: str, suite: str, case_id: str, source: str) -> str:
    """How an item says which adversarial case of which suite it ran."""
    return f"{agent} {suite} {case_id} {source}"


def parse_case_claim(text: str) -> tuple[str, str, str, str]:
    """The (agent, suite, case id, source) of a :func:`case_claim`."""
    agent, suite, case_id, source = text.split(" ", 3)
    return agent, suite, case_id, source


def claim(check_id: str, agent: str, source: EvidenceSource) -> str:
    """How an item says which check it is evidence for (a report property, so it crosses xdist)."""
    return f"{check_id} {agent} {source}"


def parse_claim(text: str) -> tuple[str, str, EvidenceSource]:
    """The (check, agent, source) of a :func:`claim`."""
    check_id, agent, source = [*text.split(" "), "test"][:3]
    return check_id, agent, "probe" if source == "probe" else "test"


# The hook a policy pack implements to add its checks (see hookspecs.py), and the fixtures this
# plugin gives every test: public names, exported from the package.
HOOK_CHECKS = "pytest_readiness_checks"
FIXTURES = (
    "budget_meter",
    "effects_ledger",
    "kill_switch",
    "readiness_harness",
    "readiness_manifest",
    "readiness_spans",
    "scripted_model",
)
