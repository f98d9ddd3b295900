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


def _slug(text: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-.") or "agent"
    return slug if slug[0].isalnum() else f"a{slug}"


def render_manifest(root: Path) -> str:
    """A starting manifest named after ``root``: valid, and not ready until owners are real."""
    project = _slug(root.resolve().name)
    agent = _slug(project.removesuffix("-agent")) + "-agent"
    adapter = re.sub(r"[^A-Za-z0-9_]", "_", agent)
    env_prefix = re.sub(r"[^A-Z0-9]", "_", agent.upper())
    return _TEMPLATE.format(project=project, agent=agent, adapter=adapter, env_prefix=env_prefix)
