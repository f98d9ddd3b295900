"""Readiness checks as pytest items, so -k, -v, --junitxml and IDEs see each one."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from _pytest._code.code import ExceptionInfo, TerminalRepr

    from .checks import Check, CheckResult
    from .session import ReadinessSession


class CheckFailed(Exception):
    """A readiness check did not pass for an agent."""

    def __init__(self, result: CheckResult, manifest: str) -> None:
        self.result = result
        self.manifest = manifest
        super().__init__(result.reason)

    def describe(self) -> str:
        check = self.result.check
        where = self.manifest + (
            f":{self.result.manifest_line}" if self.result.manifest_line else ""
        )
        return (
            f"{check.id} {check.title} [{check.severity}, {check.dimension}] "
            f"for {self.result.agent}\n"
            f"  {where}: {self.result.reason}\n"
            f"  level: {self.result.level}\n"
            f"  fix: {check.remediation}"
        )


class GateFailed(Exception):
    """The readiness gate says not ready."""

    def __init__(self, failures: tuple[str, ...], total: int) -> None:
        self.failures = failures
        self.total = total
        super().__init__("; ".join(failures))

    def describe(self) -> str:
        lines = [f"readiness gate: NOT READY (total {self.total}/20)"]
        lines.extend(f"  - {failure}" for failure in self.failures)
        return "\n".join(lines)


class ManifestFile(pytest.File):
    """The manifest as a pytest node: one child per agent."""

    def collect(self) -> Iterator[pytest.Item | pytest.Collector]:
        # Readiness items are added by the readiness session, not found by directory walking.
        return iter(())

    def collect_items(self, readiness: ReadinessSession) -> list[pytest.Item]:
        """One item per (agent, applicable check), then the gate."""
        items: list[pytest.Item] = []
        agents: dict[str, AgentNode] = {}
        for agent, check in readiness.planned():
            if agent not in agents:
                agents[agent] = AgentNode.from_parent(self, name=agent)
            items.append(
                CheckItem.from_parent(
                    agents[agent], name=check.id, readiness=readiness, agent=agent, check=check
                )
            )
        items.append(GateItem.from_parent(self, name="gate", readiness=readiness))
        return items


class AgentNode(pytest.Collector):
    """Groups one agent's check items (node id ``manifest::agent``)."""

    def collect(self) -> Iterator[pytest.Item | pytest.Collector]:
        return iter(())


class ReadinessItem(pytest.Item):
    """Base of the items the readiness session adds; they run after every other test."""

    def __init__(self, *, readiness: ReadinessSession, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.readiness = readiness

    def repr_failure(
        self,
        excinfo: ExceptionInfo[BaseException],
        style: Any = None,
    ) -> str | TerminalRepr:
        if isinstance(excinfo.value, (CheckFailed, GateFailed)):
            return excinfo.value.describe()
        return super().repr_failure(excinfo, style=style)


class CheckItem(ReadinessItem):
    """Passes when the check passes for the agent; a pilot's failures are expected (xfail)."""

    def __init__(self, *, agent: str, check: Check, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.agent = agent
        self.check = check

    def runtest(self) -> None:
        result = self.readiness.result_for(self.agent, self.check.id)
        if result.passed:
            return
        if not self.readiness.manifest.agents[self.agent].gated:
            pytest.xfail(f"pilot, not gated: {self.check.id}: {result.reason}")
        raise CheckFailed(result, self.readiness.manifest.path)

    def reportinfo(self) -> tuple[str, int | None, str]:
        line = self.readiness.manifest.line_of("agents", self.agent)
        return (
            self.readiness.manifest.path,
            line - 1 if line else None,
            f"{self.agent} {self.check.id} {self.check.title}",
        )


class GateItem(ReadinessItem):
    """Fails when the project is not ready, naming each failing rule."""

    def runtest(self) -> None:
        verdict = self.readiness.assessment().verdict
        if not verdict.ready:
            raise GateFailed(verdict.failures, verdict.total)

    def reportinfo(self) -> tuple[str, int | None, str]:
        return (self.readiness.manifest.path, 0, "readiness gate")
