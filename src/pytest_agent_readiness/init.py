"""``agent-readiness init``: a commented starting manifest for the repository it stands in."""

from __future__ import annotations

import re
from pathlib import Path

_TEMPLATE = """\
# agent-readiness.yaml: the policy registry pytest --readiness gates releases on.
# Editors complete this file from its JSON Schema: run
#   agent-readiness schema --output .agent-readiness.schema.json
# and keep the next line (the YAML language server reads it).
# yaml-language-server: $schema=.agent-readiness.schema.json
version: 1
project: {project}
gate: {{min_total: 14, min_dimension: 3}}   # the article's defaults: 14 of 20, no dimension under 3

agents:
  {agent}:
    # A named person with a contact. Until a human fills this in, the gate says not ready.
    owner: {{name: TBD, email: owner@example.com}}
    stage: stabilization        # pilot | stabilization | scaling | optimization
    adapter: {adapter}          # the name your conftest.py registers for tests to reach the agent
    decisions:                  # what the agent decides alone, and what needs a human
      autonomous: [lookup]
      human_approval: [update]
    escalation:                 # every failure state reaches a named human
      tool_error: {{owner: TBD}}
      budget_exceeded: {{owner: TBD}}
      policy_violation: {{owner: TBD}}
      low_confidence: {{owner: TBD}}
    tools:                      # least privilege: writing tools need approval
      lookup: {{access: read}}
      update: {{access: write, approval: required}}
    # permissions_reviewed: YYYY-MM-DD   # the last quarterly permission audit
    kill_switch:                # engaged by an operator without engineering
      mechanism: env            # env | file | callable | http
      target: {env_prefix}_DISABLED
      halt_within_s: 5
      operators: []             # who may engage it: add their addresses
    budgets:
      tokens_per_session: 20000
      tool_calls_per_session: 40
      sequential_actions_without_confirmation: 8
    tracing: {{required: true}}
    alerts:                     # critical signals must suspend the agent, not just notify
      - {{signal: failed_tool_calls, threshold: 5, window: 10m, action: page}}
      - {{signal: unusual_call_frequency, threshold: 100, window: 10m, action: page}}
      - {{signal: unexpected_data_access, threshold: 1, window: 1h, action: suspend}}
      - {{signal: escalation_loops, threshold: 3, window: 1h, action: suspend}}
      - {{signal: policy_violations, threshold: 1, window: 1h, action: suspend}}
      - {{signal: output_quality, threshold: 0.8, window: 1d, action: notify}}
    prompts:                    # prompts are production artifacts: file, version, rollback
      - {{path: prompts/{agent}.md, version: 1.0.0, rollback_to: 0.9.0}}
    adversarial:
      suites: [prompt_injection, indirect_injection, jailbreak, data_exfiltration,
               tool_misuse, system_prompt_leak]
      min_pass_rate: 1.0
    data_quality:
      drift: {{metric: psi, threshold: 0.2, action: alert}}
      input_validation: true
    outcomes:                   # what the board sees, against the pre-agent baseline
      baseline: {{task_completion_rate: 0.8, escalation_rate: 0.2, error_rate: 0.05}}
      thresholds:
        task_completion_rate: {{min: 0.8}}
        escalation_rate: {{max: 0.2}}
        error_rate: {{max: 0.05}}

# waivers:                      # time-boxed exceptions, at most 90 days ahead
#   - {{check: DQ-002, agent: {agent}, reason: "...", approved_by: A Person, expires: YYYY-MM-DD}}
"""


_ADAPTER = '''"""The adapter `pytest --readiness` drives {agent} through (by agent-readiness init).

The run-time probes call this factory with a Harness and expect your real agent back, built
around what the harness controls, so they can prove the manifest's controls hold:

- harness.model: the scripted "compromised" model ({model_hint});
- harness.tracer_provider: where the agent's OpenTelemetry spans must go;
- harness.request_approval(tool, arguments) -> bool: the human-approval step;
- harness.confirm(actions) -> bool: confirmation after many unconfirmed actions;
- harness.escalate(state, owner, detail): the escalation sink;
- harness.effects.record(tool, arguments): call it from the test doubles of your external
  systems (CRM, payments, e-mail) whenever they really act.

Return AgentHandle(run=<callable taking a task>, tools={{tool name: sample arguments}}).
Until this is filled in, every probe fails and the gate says not ready.
"""

from pytest_agent_readiness import AgentHandle, Harness, adapter


@adapter("{adapter}")
def {function}(harness: Harness) -> AgentHandle:
{body}
'''

_PLAIN_BODY = """\
    raise NotImplementedError(
        "fill in the {adapter} adapter: build the agent around the harness and return "
        "AgentHandle(run=..., tools=...)"
    )"""

_PYDANTIC_AI_BODY = """\
    # from my_agent import build_agent
    # agent = build_agent(model=harness.pydantic_ai_model(),
    #                     tracer_provider=harness.tracer_provider, ...)
    # return AgentHandle(run=agent.run, tools={{"lookup": {{"id": "1"}}}})
    raise NotImplementedError(
        "fill in the {adapter} adapter: build the PydanticAI agent around "
        "harness.pydantic_ai_model() and harness.tracer_provider"
    )"""


def detect_framework(root: Path) -> str:
    """'pydantic-ai' when the repository's Python imports it, else 'plain'."""
    for path in sorted(root.rglob("*.py"))[:2000]:
        if any(part.startswith(".") or part in ("venv", "node_modules") for part in path.parts):
            continue
        try:
            text = path.read_text(encoding="utf-8", errors="ignore")
        except OSError:
            continue
        if re.search(r"^\s*(from|import)\s+pydantic_ai\b", text, re.MULTILINE):
            return "pydantic-ai"
    return "plain"


def render_adapter(root: Path) -> str:
    """A stub adapter for ``root``'s agent, for the framework the repository uses."""
    names = _names(root)
    framework = detect_framework(root)
    body = (_PYDANTIC_AI_BODY if framework == "pydantic-ai" else _PLAIN_BODY).format(**names)
    hint = (
        "harness.pydantic_ai_model() gives it as a PydanticAI FunctionModel"
        if framework == "pydantic-ai"
        else "it answers next_turn(ModelContext)"
    )
    return _ADAPTER.format(body=body, model_hint=hint, function=names["adapter"], **names)


def _slug(text: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-.") or "agent"
    return slug if slug[0].isalnum() else f"a{slug}"


def _names(root: Path) -> dict[str, str]:
    project = _slug(root.resolve().name)
    agent = _slug(project.removesuffix("-agent")) + "-agent"
    return {
        "project": project,
        "agent": agent,
        "adapter": re.sub(r"[^A-Za-z0-9_]", "_", agent),
        "env_prefix": re.sub(r"[^A-Z0-9]", "_", agent.upper()),
    }


def render_manifest(root: Path) -> str:
    """A starting manifest named after ``root``: valid, and not ready until owners are real."""
    return _TEMPLATE.format(**_names(root))
