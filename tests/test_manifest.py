"""Loading and validating agent-readiness.yaml: every bad manifest names file, line and cause."""

from __future__ import annotations

import textwrap
from typing import Any

import pytest

from conftest import Project, agent_of
from pytest_agent_readiness.manifest import ManifestError, load_manifest, manifest_schema

MINIMAL = """\
version: 1
project: demo
agents:
  bot:
    stage: pilot
    owner: {name: Ada Lovelace, email: ada@example.com}
"""


def problems_of(project: Project, text: str) -> list[str]:
    project.write_text(textwrap.dedent(text))
    with pytest.raises(ManifestError) as caught:
        load_manifest(project.manifest_path, display="agent-readiness.yaml")
    return [str(problem) for problem in caught.value.problems]


def test_the_ready_example_loads(project: Project) -> None:
    manifest = project.load()
    agent = manifest.agents["triage-bot"]
    assert manifest.project == "support-automation"
    assert manifest.gate.min_total == 14
    assert agent.stage == "stabilization"
    assert agent.owner is not None and agent.owner.name == "Dana Reyes"
    assert agent.permissions_reviewed == "2026-10-01"
    assert agent.tools["crm.issue_refund"].approval == "required"
    assert agent.tools["kb.search"].approval == "none"
    assert agent.budgets is not None and agent.budgets.tokens_per_session == 20000
    assert manifest.line_of("agents", "triage-bot", "kill_switch") == 27
    assert manifest.line_of("agents", "triage-bot", "budgets", "tokens_per_session") == 33


def test_minimal_manifest_defaults(project: Project) -> None:
    project.write_text(MINIMAL)
    manifest = load_manifest(project.manifest_path)
    assert (manifest.gate.min_total, manifest.gate.min_dimension) == (14, 3)
    assert manifest.agents["bot"].kill_switch is None
    assert manifest.waivers == ()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            MINIMAL + "    kill_swich: {mechanism: env, target: X, halt_within_s: 5}\n",
            "agent-readiness.yaml:7:5: agents.bot: unknown key 'kill_swich'; did you mean "
            "'kill_switch'?",
            id="unknown-key-typo",
        ),
        pytest.param(
            MINIMAL.replace("project: demo", "project: demo\nprojekt: again"),
            "agent-readiness.yaml:3:1: (document root): unknown key 'projekt'; did you mean "
            "'project'?",
            id="unknown-top-level-key",
        ),
        pytest.param(
            MINIMAL + "    budgets: {tokens_per_session: lots}\n",
            "agent-readiness.yaml:7:35: agents.bot.budgets.tokens_per_session: expected a whole "
            "number; got the string 'lots'",
            id="wrong-type",
        ),
        pytest.param(
            MINIMAL + "    stage: pilot\n",
            "duplicate key 'stage'",
            id="duplicate-key",
        ),
        pytest.param(
            MINIMAL.replace("stage: pilot", "stage: production"),
            "agent-readiness.yaml:5:12: agents.bot.stage: expected one of: pilot, "
            "stabilization, scaling, optimization; got the string 'production'",
            id="bad-enum",
        ),
        pytest.param(
            MINIMAL.replace("name: Ada Lovelace", "name: no"),
            "agent-readiness.yaml:6:19: agents.bot.owner.name: expected a string; YAML read "
            "`no` as the boolean false; quote it: 'no'",
            id="yaml11-boolean-owner",
        ),
        pytest.param(
            MINIMAL + "    prompts:\n      - {path: p.md, version: 3.10}\n",
            "agent-readiness.yaml:8:31: agents.bot.prompts[0].version: expected a string; "
            "YAML read `3.10` as the number 3.1; quote it: '3.10'",
            id="yaml11-float-version",
        ),
        pytest.param(
            MINIMAL + "    permissions_reviewed: 2026-13-01\n",
            "agents.bot.permissions_reviewed: expected a calendar date, YYYY-MM-DD",
            id="impossible-date",
        ),
        pytest.param(
            MINIMAL.replace("agents:\n", "gate: {min_total: 25}\nagents:\n"),
            "gate.min_total: expected a value at most 20; got the number 25",
            id="gate-out-of-range",
        ),
        pytest.param(
            MINIMAL.replace("  bot:\n    stage: pilot\n", "  bot:\n"),
            "agents.bot: missing required key 'stage'",
            id="missing-required",
        ),
        pytest.param(
            "version: 1\nagents: {}\n",
            "agent-readiness.yaml:2:9: agents: must not be empty",
            id="no-agents",
        ),
        pytest.param(
            MINIMAL.replace("version: 1", "version: 2"),
            "agent-readiness.yaml:1:10: version: expected 1; got the number 2",
            id="wrong-version",
        ),
        pytest.param("", "the file is empty", id="empty-file"),
        pytest.param("# only a comment\n", "the file is empty", id="only-comments"),
        pytest.param("- just\n- a list\n", "expected a mapping", id="not-a-mapping"),
        pytest.param("version: 1\nagents: [\n", "agent-readiness.yaml:3", id="syntax-error"),
        pytest.param(
            MINIMAL + "waivers:\n  - {check: DQ-002, agent: ghost, reason: r, approved_by: A B, "
            "expires: 2026-12-01}\n",
            "agent-readiness.yaml:8:28: waivers[0].agent: waiver names agent 'ghost', which is "
            "not declared (expected one of: bot)",
            id="waiver-unknown-agent",
        ),
        pytest.param(
            MINIMAL + "    escalation:\n      tool_eror: {owner: a@b.example}\n",
            "unknown key 'tool_eror'; did you mean 'tool_error'?",
            id="unknown-failure-state",
        ),
        pytest.param(
            MINIMAL + "    tools: {crm.write: {access: write, approval: yes}}\n",
            'agents.bot.tools["crm.write"].approval: expected one of: required, none; YAML '
            "read `yes` as the boolean true",
            id="yaml11-yes-in-enum",
        ),
    ],
)
def test_bad_manifests_report_file_line_path_and_expectation(
    project: Project, text: str, expected: str
) -> None:
    problems = problems_of(project, text)
    assert any(expected in problem for problem in problems), problems


def test_alias_bomb_fails_fast(project: Project) -> None:
    bomb = ["version: 1", "a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for level in range(1, 10):
        previous = f"*a{level - 1}"
        bomb.append(f"a{level}: &a{level} [{', '.join([previous] * 10)}]")
    problems = problems_of(project, "\n".join(bomb) + "\nagents: {bot: {stage: pilot}}\n")
    assert any("expands to more than" in problem for problem in problems), problems


def test_every_problem_is_reported_not_just_the_first(project: Project) -> None:
    problems = problems_of(
        project,
        MINIMAL + "    kill_swich: {}\n    budgets: {tokens_per_session: -1}\n    tracing: yes\n",
    )
    assert len(problems) == 3, problems
    assert [int(p.split(":")[1]) for p in problems] == [7, 8, 9]


def test_python_tags_are_refused(project: Project) -> None:
    problems = problems_of(
        project, MINIMAL + "    description: !!python/object/apply:os.system ['true']\n"
    )
    assert any(":7" in problem for problem in problems), problems


def test_missing_file_is_an_error(project: Project) -> None:
    with pytest.raises(ManifestError, match="no such file"):
        load_manifest(project.root / "absent.yaml")


def test_anchors_and_merge_keys_work(project: Project) -> None:
    project.write_text(
        textwrap.dedent(
            """\
            version: 1
            x-oncall: &oncall {owner: oncall@example.com}
            agents:
              bot:
                stage: pilot
                escalation:
                  tool_error: *oncall
                  budget_exceeded: {<<: *oncall, channel: pager}
            """
        )
        .replace("x-oncall: &oncall {owner: oncall@example.com}\n", "")
        .replace("tool_error: *oncall", "tool_error: &oncall {owner: oncall@example.com}")
    )
    manifest = load_manifest(project.manifest_path)
    assert manifest.agents["bot"].escalation == {
        "tool_error": "oncall@example.com",
        "budget_exceeded": "oncall@example.com",
    }


def test_schema_is_strict_everywhere() -> None:
    """Every object in the schema refuses unknown keys: a typo never drops a control."""
    loose: list[str] = []

    def walk(node: Any, where: str) -> None:
        if isinstance(node, dict):
            if node.get("type") == "object" and "additionalProperties" not in node:
                loose.append(where)
            for key, child in node.items():
                walk(child, f"{where}/{key}")
        elif isinstance(node, list):
            for index, child in enumerate(node):
                walk(child, f"{where}/{index}")

    walk(manifest_schema(), "#")
    assert loose == []


def test_example_manifest_reference_lines(project: Project, data: dict[str, Any]) -> None:
    agent_of(data)["budgets"]["tokens_per_session"] = "many"
    project.write(data)
    with pytest.raises(ManifestError) as caught:
        load_manifest(project.manifest_path)
    (problem,) = caught.value.problems
    assert problem.doc_path == "agents.triage-bot.budgets.tokens_per_session"
    assert problem.line is not None
