"""Fixtures for a team's own evidence tests: the machinery the built-in probes use.

A test marked ``@pytest.mark.readiness("INF-001", agent="triage-bot")`` that passes proves that
check; these fixtures let it drive the agent the way the probes do::

    @pytest.mark.readiness("INF-002", agent="triage-bot")
    def test_stops_at_budget(readiness_harness, scripted_model, budget_meter):
        harness = readiness_harness("triage-bot", scripted_model.runaway("kb.search"))
        build_agent(harness).run("help")
        assert budget_meter("triage-bot").problems(harness.trace()) == []

Heavy imports happen inside the fixtures, so a run that uses none of them pays nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from .harness import BudgetMeter, EffectsLedger, Harness, KillSwitchDriver
    from .model import Manifest
    from .scripted import ScriptedModel
    from .spans import SpanCapture, SpanCaptureRegistry

_REGISTRY = pytest.StashKey["SpanCaptureRegistry"]()


def _registry(config: pytest.Config) -> SpanCaptureRegistry:
    from .names import SESSION_PLUGIN_NAME

    session = config.pluginmanager.get_plugin(SESSION_PLUGIN_NAME)
    if session is not None:
        return session.spans()  # type: ignore[no-any-return]
    if _REGISTRY not in config.stash:
        from .spans import SpanCaptureRegistry

        config.stash[_REGISTRY] = SpanCaptureRegistry()
        config.add_cleanup(config.stash[_REGISTRY].close)
    return config.stash[_REGISTRY]


@pytest.fixture
def readiness_manifest(request: pytest.FixtureRequest) -> Manifest:
    """The project's manifest: the one ``--readiness`` loaded, else the rootdir's."""
    from .manifest import ManifestError, load_manifest
    from .names import SESSION_PLUGIN_NAME
    from .session import readiness_manifest_path

    config = request.config
    session = config.pluginmanager.get_plugin(SESSION_PLUGIN_NAME)
    if session is not None:
        return session.manifest  # type: ignore[no-any-return]
    # The same manifest a --readiness run would read, kept inside the repository the same way.
    path = readiness_manifest_path(config)
    try:
        return load_manifest(path)
    except ManifestError as error:
        raise pytest.UsageError(str(error)) from None


@pytest.fixture
def readiness_spans(request: pytest.FixtureRequest) -> Iterator[SpanCapture]:
    """An in-memory span capture for this test; ``.snapshot()`` gives the :class:`Trace`."""
    from .spans import SpanCapture

    capture = SpanCapture(_registry(request.config)).install()
    capture.clear()
    try:
        yield capture
    finally:
        capture.uninstall()


@pytest.fixture
def scripted_model() -> type[ScriptedModel]:
    """The scripted "compromised model" class (``.runaway``, ``.sequence``, ``.forbidden``...)."""
    from .scripted import ScriptedModel

    return ScriptedModel


@pytest.fixture
def effects_ledger() -> EffectsLedger:
    """A fresh effects ledger for test doubles to record real actions in."""
    from .harness import EffectsLedger

    return EffectsLedger()


@pytest.fixture
def kill_switch(
    readiness_manifest: Manifest,
) -> Iterator[Callable[[str], KillSwitchDriver]]:
    """``kill_switch(agent)``: a driver for the agent's declared switch, released after the
    test whatever happens."""
    from .harness import KillSwitchDriver
    from .paths import declared_at

    drivers: list[KillSwitchDriver] = []

    def make(agent: str) -> KillSwitchDriver:
        spec = readiness_manifest.agents[agent].kill_switch
        if spec is None:
            raise pytest.UsageError(f"agent {agent!r} declares no kill_switch")
        where = declared_at(readiness_manifest, "agents", agent, "kill_switch", "target")
        driver = KillSwitchDriver(
            spec, Path(readiness_manifest.base_dir), declared_at=where
        ).__enter__()
        drivers.append(driver)
        return driver

    try:
        yield make
    finally:
        for driver in drivers:
            driver.__exit__(None, None, None)


@pytest.fixture
def budget_meter(readiness_manifest: Manifest) -> Callable[[str], BudgetMeter]:
    """``budget_meter(agent)``: holds a trace against the agent's declared budgets."""
    from .harness import BudgetMeter

    def make(agent: str) -> BudgetMeter:
        return BudgetMeter(readiness_manifest.agents[agent])

    return make


@pytest.fixture
def readiness_harness(
    readiness_manifest: Manifest,
    readiness_spans: SpanCapture,
    kill_switch: Callable[[str], KillSwitchDriver],
) -> Callable[..., Harness]:
    """``readiness_harness(agent, model, approve=False, confirm=False)``: a :class:`Harness`
    wired like the probes', recording spans in this test's capture."""
    from .harness import (
        ApprovalDesk,
        ConfirmationDesk,
        EffectsLedger,
        Harness,
        declared_write_tools,
    )

    def make(
        agent: str, model: ScriptedModel, *, approve: bool = False, confirm: bool = False
    ) -> Harness:
        declared = readiness_manifest.agents[agent]
        return Harness(
            agent=declared,
            model=model,
            tracer_provider=readiness_spans.tracer_provider,
            effects=EffectsLedger(declared_write_tools(declared)),
            approvals=ApprovalDesk(lambda tool, arguments: approve),
            confirmations=ConfirmationDesk(confirm),
            kill_switch=kill_switch(agent) if declared.kill_switch is not None else None,
            capture=readiness_spans,
        )

    return make
