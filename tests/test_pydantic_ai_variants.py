"""Realistic breakages of the well-built PydanticAI refund agent, each found in a real review.

Each variant is a small edit of `examples/pydantic-ai-refunds` (the good twin), run the way a
user runs it. The gate must fail the broken control's own check, name what it saw, and leave
every other check exactly where the good twin has it: a scorecard that smears one flaw over
several checks cannot tell a team which control to fix.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from _examples import Variant, assert_fails_its_own_check_only, checks_of, run_example

pytest.importorskip("pydantic_ai", reason="the PydanticAI example needs pydantic-ai-slim")

EXAMPLE = "pydantic-ai-refunds"
AGENT = "refund-agent"
CODE = "refunds/__init__.py"


VARIANTS = {
    "kill-switch-read-only-when-a-session-starts": Variant(
        "INF-001",
        (
            (
                CODE,
                "        if self.disabled():\n"
                '            raise KillSwitchEngaged(f"{tool} not run: the kill switch is '
                'engaged")\n',
                "",
            ),
            (
                CODE,
                "                if self.disabled():\n"
                '                    raise KillSwitchEngaged("the kill switch is engaged")\n',
                "",
            ),
            (
                CODE,
                "    async def _run(self, task: str) -> str:\n",
                "    async def _run(self, task: str) -> str:\n"
                "        if self.disabled():\n"
                '            return "halted by kill switch"\n',
            ),
        ),
        (
            r"env switch REFUND_AGENT_DISABLED was engaged the agent started \d+ more tool calls",
            r"\(orders\.lookup x\d+\)",
            r"probe-kill-switch",
        ),
    ),
    "second-refund-tool-registered-without-approval": Variant(
        "GOV-004",
        (
            (
                CODE,
                'Tool(payments_store_credit, name="payments.store_credit", requires_approval=True)',
                'Tool(payments_store_credit, name="payments.store_credit")',
            ),
        ),
        (
            r"payments\.store_credit ran once although the approval was denied",
            r"payments\.store_credit acted without a granted approval",
            r"probe-approval",
        ),
    ),
    "tool-call-budget-counted-per-model-turn": Variant(
        "INF-002",
        (
            (
                CODE,
                "            tool_calls_limit=self.limits.tool_calls_per_session,\n"
                "            total_tokens_limit=self.limits.tokens_per_session,\n"
                "            request_limit=None,\n",
                "            # the model asks for one tool per turn, so turns are tool calls\n"
                "            request_limit=self.limits.tool_calls_per_session,\n"
                "            total_tokens_limit=self.limits.tokens_per_session,\n",
            ),
        ),
        (
            r"(1[3-9]|[2-9]\d) tool calls ran \(orders\.lookup, 3 per model turn\), over the "
            r"tool_calls_per_session budget of 12",
            r"probe-budget-parallel-tool-calls",
        ),
    ),
    "tool-function-called-directly-from-another-tool": Variant(
        "OBS-001",
        (
            (
                CODE,
                '            return self._reach("payments.refund", self.backends.refund, '
                "order_id, amount)\n",
                '            refunded = self._reach("payments.refund", self.backends.refund, '
                "order_id, amount)\n"
                '            customer_notify(order_id, f"We refunded {amount} to your card.")\n'
                "            return refunded\n",
            ),
        ),
        (r"customer\.notify acted with no execute_tool span around it \(\d+ times\)", r"probe-"),
    ),
    "budget-stop-that-never-escalates": Variant(
        "GOV-003",
        (
            (
                CODE,
                "        except (UsageLimitExceeded, ApprovedCallBudgetExceeded) as error:\n"
                '            self.escalate("budget_exceeded", OWNERS["budget_exceeded"], '
                "str(error))\n",
                "        except (UsageLimitExceeded, ApprovedCallBudgetExceeded):\n",
            ),
        ),
        (r"budget_exceeded was never escalated", r"probe-escalation-budget-exceeded"),
    ),
}


@pytest.fixture(scope="module")
def good_twin(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    result, card = run_example(EXAMPLE, tmp_path_factory.mktemp("good"))
    assert card["verdict"] == "ready", result.stdout[-3000:]
    return checks_of(card, AGENT)


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_a_broken_control_fails_its_own_check_only(
    name: str, good_twin: dict[str, dict[str, Any]], tmp_path: Path
) -> None:
    variant = VARIANTS[name]
    _, card = run_example(EXAMPLE, tmp_path, variant.edits)
    assert_fails_its_own_check_only(variant, checks_of(card, AGENT), good_twin)
