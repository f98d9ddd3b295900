"""Production configuration of the triage agent (the readiness gate holds it to the manifest)."""

from __future__ import annotations

from .agent import Limits

ESCALATION_OWNERS = {
    "tool_error": "oncall-support@example.com",
    "budget_exceeded": "dana.reyes@example.com",
    "policy_violation": "security@example.com",
    "low_confidence": "support-leads@example.com",
}

LIMITS = Limits(
    tokens_per_session=20000,
    tool_calls_per_session=40,
    sequential_actions_without_confirmation=8,
)
