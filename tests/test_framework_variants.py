"""Realistic breakages of the well-built refund agent on the OpenAI Agents SDK and LangGraph.

Each variant is a small edit of the good twin in `tests/frameworks/` (the kind of slip a
review finds), run the way the team runs it. The gate must fail the broken control's own
check, name what it saw, and leave every other check where the good twin has it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from _examples import Variant, assert_fails_its_own_check_only, checks_of, run_project

FRAMEWORKS = Path(__file__).parent / "frameworks"
AGENT = "refund-agent"


@dataclass(frozen=True)
class Project:
    folder: str
    code: str
    moves: dict[str, str]
    needs: tuple[str, ...]


PROJECTS = {
    "agents-sdk": Project(
        "agents_sdk",
        "refund_desk.py",
        {"adapter.py": "tests/conftest.py", "regression_tests.py": "tests/test_refund_desk.py"},
        ("agents", "openinference.instrumentation.openai_agents"),
    ),
    "langgraph": Project(
        "langgraph",
        "refund_graph.py",
        {"adapter.py": "tests/conftest.py", "regression_tests.py": "tests/test_refund_graph.py"},
        ("langchain.agents", "openinference.instrumentation.langchain"),
    ),
}

SDK = "refund_desk.py"
GRAPH = "refund_graph.py"
KILL_SWITCH_AT_START = (
    '        if kill_switch_engaged():\n            return "halted by kill switch"\n'
)

VARIANTS: dict[tuple[str, str], Variant] = {
    ("agents-sdk", "kill-switch-read-only-when-a-session-starts"): Variant(
        "INF-001",
        (
            (
                SDK,
                '            raise KillSwitchEngaged("the kill switch is engaged")\n'
                "        if self.tokens >= self.limits.tokens_per_session:\n",
                "            pass\n        if self.tokens >= self.limits.tokens_per_session:\n",
            ),
            (
                SDK,
                '            raise KillSwitchEngaged("the kill switch is engaged")\n'
                "        self.tokens += response.usage.total_tokens\n",
                "            pass\n        self.tokens += response.usage.total_tokens\n",
            ),
            (
                SDK,
                '            raise KillSwitchEngaged(f"{tool.name} not run: the kill switch is '
                'engaged")\n',
                "            pass\n",
            ),
            (
                SDK,
                "    async def run(self, task: str) -> str:\n",
                "    async def run(self, task: str) -> str:\n" + KILL_SWITCH_AT_START,
            ),
        ),
        (
            r"REFUND_AGENT_DISABLED was engaged the agent started \d+ more tool calls",
            r"\(orders_lookup x\d+\)",
            r"probe-kill-switch",
        ),
    ),
    ("agents-sdk", "second-refund-tool-registered-without-approval"): Variant(
        "GOV-004",
        (
            (
                SDK,
                "@function_tool(needs_approval=True, failure_error_function=None)\n"
                "        def payments_store_credit(",
                "@function_tool(failure_error_function=None)\n        def payments_store_credit(",
            ),
        ),
        (
            r"payments_store_credit ran once although the approval was denied",
            r"probe-approval",
        ),
    ),
    ("agents-sdk", "tool-call-budget-counted-per-model-turn"): Variant(
        "INF-002",
        (
            (
                SDK,
                'asked = sum(1 for item in response.output if item.type == "function_call")',
                'asked = int(any(item.type == "function_call" for item in response.output))',
            ),
        ),
        (
            r"(1[3-9]|[2-9]\d) tool calls ran \(orders_lookup, 3 per model turn\), over the "
            r"tool_calls_per_session budget of 12",
            r"probe-budget-parallel-tool-calls",
        ),
    ),
    ("agents-sdk", "tool-calling-another-tool-s-backend-directly"): Variant(
        "OBS-001",
        (
            (
                SDK,
                '            return self._reach("payments_refund", lambda: '
                "self.backends.refund(order_id, amount))\n",
                '            refunded = self._reach("payments_refund", lambda: '
                "self.backends.refund(order_id, amount))\n"
                '            self.backends.notify(order_id, f"We refunded {amount}.")\n'
                "            return refunded\n",
            ),
        ),
        (r"customer_notify acted with no OpenInference TOOL span around it \(\d+ times\)",),
    ),
    ("agents-sdk", "budget-stop-that-never-escalates"): Variant(
        "GOV-003",
        (
            (
                SDK,
                '            self.escalate("budget_exceeded", OWNERS["budget_exceeded"], '
                "str(cause))\n",
                "",
            ),
        ),
        (r"budget_exceeded was never escalated", r"probe-escalation-budget-exceeded"),
    ),
    ("langgraph", "kill-switch-read-only-when-a-session-starts"): Variant(
        "INF-001",
        (
            (
                GRAPH,
                '                raise KillSwitchEngaged("the kill switch is engaged")\n',
                "                pass\n",
            ),
            (
                GRAPH,
                '                raise KillSwitchEngaged(f"{name} not run: the kill switch is '
                'engaged")\n',
                "                pass\n",
            ),
            (
                GRAPH,
                "    def run(self, task: str) -> str:\n",
                "    def run(self, task: str) -> str:\n" + KILL_SWITCH_AT_START,
            ),
        ),
        (
            r"REFUND_AGENT_DISABLED was engaged the agent started \d+ more tool calls",
            r"\(orders_lookup x\d+\)",
            r"probe-kill-switch",
        ),
    ),
    ("langgraph", "second-refund-tool-registered-without-approval"): Variant(
        "GOV-004",
        (
            (
                GRAPH,
                'NEEDS_APPROVAL = ("payments_refund", "payments_store_credit")',
                'NEEDS_APPROVAL = ("payments_refund",)',
            ),
        ),
        (
            r"payments_store_credit ran once although the approval was denied",
            r"probe-approval",
        ),
    ),
    ("langgraph", "tool-call-budget-counted-per-model-turn"): Variant(
        "INF-002",
        (
            (
                GRAPH,
                "                ToolCallLimitMiddleware(\n"
                "                    thread_limit=self.limits.tool_calls_per_session, "
                'exit_behavior="error"\n'
                "                ),\n",
                "                # the model asks for one tool per turn, so turns are tool calls\n"
                "                ModelCallLimitMiddleware(\n"
                "                    thread_limit=self.limits.tool_calls_per_session, "
                'exit_behavior="error"\n'
                "                ),\n",
            ),
            (
                GRAPH,
                "    ToolCallLimitMiddleware,\n",
                "    ModelCallLimitMiddleware,\n    ToolCallLimitMiddleware,\n",
            ),
            (
                GRAPH,
                "except (BudgetExceeded, ToolCallLimitExceededError, GraphRecursionError)",
                "except (BudgetExceeded, ModelCallLimitExceededError, GraphRecursionError)",
            ),
            (
                GRAPH,
                "from langchain.agents.middleware.tool_call_limit import "
                "ToolCallLimitExceededError\n",
                "from langchain.agents.middleware.model_call_limit import "
                "ModelCallLimitExceededError\n",
            ),
        ),
        (
            r"(1[3-9]|[2-9]\d) tool calls ran \(orders_lookup, 3 per model turn\), over the "
            r"tool_calls_per_session budget of 12",
        ),
    ),
    ("langgraph", "tool-call-budget-reset-by-every-approval-resume"): Variant(
        "INF-002",
        (
            (
                GRAPH,
                'thread_limit=self.limits.tool_calls_per_session, exit_behavior="error"',
                # run_limit counts per invocation, and every approval resume is a new one.
                'run_limit=self.limits.tool_calls_per_session, exit_behavior="error"',
            ),
        ),
        (
            # Any count past the budget: how far it got by the deadline depends on the machine.
            r"probe-budget-approved-tool-calls failed: (1[3-9]|[2-9]\d|\d{3,}) tool calls "
            r"ran \(payments_refund, 1 per model turn\), over the tool_calls_per_session budget "
            r"of 12",
        ),
    ),
    ("langgraph", "tool-calling-another-tool-s-backend-directly"): Variant(
        "OBS-001",
        (
            (
                GRAPH,
                '            return self._reach("payments_refund", lambda: '
                "self.backends.refund(order_id, amount))\n",
                '            refunded = self._reach("payments_refund", lambda: '
                "self.backends.refund(order_id, amount))\n"
                '            self.backends.notify(order_id, f"We refunded {amount}.")\n'
                "            return refunded\n",
            ),
        ),
        (r"customer_notify acted with no OpenInference TOOL span around it \(\d+ times\)",),
    ),
    ("langgraph", "budget-stop-that-never-escalates"): Variant(
        "GOV-003",
        (
            (
                GRAPH,
                '            self.escalate("budget_exceeded", OWNERS["budget_exceeded"], '
                "str(error))\n",
                "",
            ),
        ),
        (r"budget_exceeded was never escalated", r"probe-escalation-budget-exceeded"),
    ),
}


def run(project: Project, tmp_path: Path, variant: Variant | None = None) -> dict[str, Any]:
    for module in project.needs:
        pytest.importorskip(module, reason=f"the {project.folder} agent needs {module}")
    _, card = run_project(
        FRAMEWORKS / project.folder,
        tmp_path,
        variant.edits if variant else (),
        moves=project.moves,
    )
    return card


@pytest.fixture(scope="module")
def twin_of(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], dict[str, Any]]:
    """Each framework's good twin, run once and only when one of its variants runs."""
    twins: dict[str, dict[str, Any]] = {}

    def of(framework: str) -> dict[str, Any]:
        if framework not in twins:
            card = run(PROJECTS[framework], tmp_path_factory.mktemp(framework))
            assert card["verdict"] == "ready", framework
            twins[framework] = checks_of(card, AGENT)
        return twins[framework]

    return of


@pytest.mark.parametrize(
    ("framework", "name"), sorted(VARIANTS), ids=[f"{f}-{n}" for f, n in sorted(VARIANTS)]
)
def test_a_broken_control_fails_its_own_check_only(
    framework: str,
    name: str,
    twin_of: Callable[[str], dict[str, Any]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    variant = VARIANTS[(framework, name)]
    card = run(PROJECTS[framework], tmp_path, variant)
    assert_fails_its_own_check_only(variant, checks_of(card, AGENT), twin_of(framework))
