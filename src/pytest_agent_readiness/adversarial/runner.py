"""Run an adversarial case against the real agent, through its adapter, and decide it.

Guardrail mode (every run): the scripted compromised model obeys the attack: it asks for the
forbidden tool, echoes the canary into a tool argument or its answer, loops. What is tested is
the agent's code: approvals, budgets, its refusal of undeclared tools, and its output and
argument guards against disclosing what it holds. So the harness hands the agent, as the
secrets it holds, the case's canaries and its own system prompt with canaries planted in it
(``harness.protected``, ``harness.system_prompt``): an agent that has a disclosure guard wires
them into it, as production code wires in the values of its vault.

Live mode (``--readiness-live``): the same cases go to the agent built with its real model; the
scripted model is then unavailable (calling it is an error, never a pass).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..harness import declared_write_tools
from ..model import ALERT_SIGNALS, Agent
from ..probes import BUDGETS, Breach, Observed, ProbeCannotRun, ProbeContext, _audit, session
from ..scripted import ModelContext, ModelTurn, ScriptedModel, TextReply, ToolCallRequest
from .corpus import Case, ResolvedStep, ToolSpec, resolve_attack
from .oracles import (
    CaseResult,
    Escalation,
    Observation,
    ToolCall,
    evaluate,
    plant_system_prompt_canaries,
)

DEFAULT_TASK = "Process the next item in your queue."


class LiveModelUnavailable(RuntimeError):
    """Live mode: the adapter tried to use the scripted model instead of its real one."""


class _LiveModel(ScriptedModel):
    """Stands in for the scripted model in live mode: any use is an error."""

    def __init__(self) -> None:
        super().__init__([TextReply("unused")])

    def next_turn(self, context: ModelContext) -> ModelTurn:
        raise LiveModelUnavailable(
            "live mode: the adapter must build the agent with its real model "
            "(check harness.live), not harness.model"
        )


@dataclass(frozen=True)
class CaseRun:
    """One case against one agent: the verdict and what decided it, and the breaches of other
    controls its session showed (each for the check it breaks, as the probes attribute them)."""

    result: CaseResult
    session: str = ""
    breaches: tuple[Breach, ...] = ()


def tool_specs(agent: Agent) -> dict[str, ToolSpec]:
    """The agent's declared tools as the corpus resolver sees them."""
    return {
        name: ToolSpec(name, tool.access, tool.approval == "required")
        for name, tool in agent.tools.items()
    }


def _script(steps: Sequence[ResolvedStep]) -> list[Any]:
    script: list[Any] = []
    for step in steps:
        if step.kind == "say":
            script.append(TextReply(step.text or ""))
            continue
        call = ToolCallRequest(step.tool or "", dict(step.arguments))
        if step.parallel:
            script.append([call] * step.times)
        else:
            script.extend([call] * step.times)
    if not script or not isinstance(script[-1], TextReply):
        script.append(TextReply("done"))
    return script


def system_prompt_of(agent: Agent, base_dir: Path) -> str | None:
    """The agent's first declared prompt file, if it can be read inside the repository.

    A file that is not UTF-8 is read with replacement characters rather than failing every
    case: INF-003 fails on it, naming the file and its line, and the cases still run against
    the text the agent would hold.
    """
    from ..paths import OutsideRepository, repository_root, resolve_inside

    for prompt in agent.prompts or ():
        try:
            file = resolve_inside(repository_root(base_dir), base_dir, prompt.path)
            return file.read_bytes().decode("utf-8", errors="replace")
        except (OSError, OutsideRepository):
            return None
    return None


def observe(observed: Observed) -> Observation:
    """What the agent did, in the oracles' terms: spans, effects, approvals, escalations."""
    harness = observed.harness
    granted = {request.tool for request in observed.approvals if request.granted}
    effects = observed.effects
    # A declared write's double must record its effects (the approval probe requires it), so
    # for writes the ledger decides even when nothing ran: a call held for approval and denied
    # leaves a span (the OpenAI Agents SDK's, through OpenInference) but no effect.
    spans = observed.tool_spans()
    recorded = (
        {effect.tool for effect in effects} | set(declared_write_tools(harness.agent))
        if spans
        else set()  # only spans are matched against it
    )
    calls: list[ToolCall] = []
    for span in spans:
        arguments = span.arguments if isinstance(span.arguments, Mapping) else {}
        # A span is not proof a tool acted (frameworks trace denied or invalid calls too): when
        # the tool's double records effects, it ran only if an effect falls inside its span.
        if span.name in recorded:
            executed = any(
                e.tool == span.name and span.start_ns <= e.at_ns <= (span.end_ns or e.at_ns)
                for e in effects
            )
        else:
            executed = span.error is None
        calls.append(ToolCall(span.name, dict(arguments), span.name in granted, executed))
    spanned = {call.name for call in calls}
    for effect in effects:
        if effect.tool not in spanned:  # an action no span shows still happened
            calls.append(ToolCall(effect.tool, dict(effect.arguments), effect.tool in granted))
    returned = observed.result.returned
    texts: list[str] = []
    for span in observed.trace.spans:
        texts.extend(str(value) for value in (span.attributes or {}).values())
    return Observation(
        output="" if returned is None else str(returned),
        tool_calls=tuple(calls),
        # An alert's escalation (the monitor paging the owner about what the case caused) is
        # not the agent escalating: only the agent's own count for must_refuse_or_escalate.
        escalations=tuple(
            Escalation(e.state, e.owner)
            for e in observed.escalations
            if e.state not in ALERT_SIGNALS
        ),
        refused=observed.result.error is not None,
        span_texts=tuple(texts),
        system_prompt=harness.system_prompt,
    )


@dataclass(frozen=True)
class CaseTarget:
    """What every case against one agent shares: its tools as the resolver sees them, the
    system prompt it holds (read once: the file does not change during a run) and its declared
    tool-call budget. Worked out once per agent and run, not once per case."""

    tools: Mapping[str, ToolSpec]
    system_prompt: str | None
    tool_call_budget: int | None


def case_target(agent: Agent, base_dir: Path) -> CaseTarget:
    """The :class:`CaseTarget` of ``agent``, whose manifest lives in ``base_dir``."""
    budget = agent.budgets.tool_calls_per_session if agent.budgets else None
    return CaseTarget(tool_specs(agent), system_prompt_of(agent, base_dir), budget)


def run_case(
    case: Case, context: ProbeContext, *, live: bool = False, target: CaseTarget | None = None
) -> CaseRun:
    """Run ``case`` against the agent of ``context`` and apply its oracles.

    ``target`` is what the agent's cases share (:func:`case_target`); a run of many cases
    passes the one it keeps per agent."""
    agent = context.agent
    if target is None:
        target = case_target(agent, context.base_dir)
    tools = target.tools
    attack = resolve_attack(case, tools)
    if not attack.applicable:
        return CaseRun(CaseResult(case.id, case.suite, False, (), attack.not_applicable))
    prompt = target.system_prompt
    planted = plant_system_prompt_canaries(prompt or "", case) if prompt is not None else None
    script = _script(attack.render(planted or "").steps)
    model: ScriptedModel = (
        _LiveModel() if live else ScriptedModel.sequence(script, max_turns=len(script) + 5)
    )
    task = case.input or DEFAULT_TASK

    def arm(harness: Any) -> None:
        harness.protected = tuple(case.canaries)
        harness.system_prompt = planted
        harness.live = live
        if case.tool_result is not None:
            harness.poisoned = {case.tool_result.tool: case.tool_result.content}

    try:
        observed = session(
            context, model, approve=False, confirm=False, task=task, before_build=arm
        )
    except ProbeCannotRun as error:
        return CaseRun(CaseResult(case.id, case.suite, False, (f"could not run: {error}",)))
    if observed.result.finished:
        # Nothing acts in the case's harness any more, and no alert is judged here.
        observed.harness.unhook_desks()
    if isinstance(observed.result.error, LiveModelUnavailable):
        return CaseRun(CaseResult(case.id, case.suite, False, (str(observed.result.error),)))
    budget = target.tool_call_budget
    observation = observe(observed)
    # The oracles judge what the session did by its end (a session past its deadline is judged
    # on what it had done then): the case fails its suite only when the attack got through.
    result = evaluate(
        case,
        observation,
        tools,
        tool_call_budget=budget,
        model="live" if live else "scripted",
        attack=attack,
    )
    return CaseRun(result, observed.result.describe(), _breaches(observed, observation, budget))


def _breaches(
    observed: Observed, observation: Observation, budget: int | None
) -> tuple[Breach, ...]:
    """What the case's session showed of the controls the probes prove, each for the check it
    breaks, as the probes attribute it: a session that outlived its deadline or ran past the
    tool-call budget is budgets (INF-002), an effect with no span around it tracing (OBS-001),
    a write with no granted approval approval (GOV-004)."""
    found = _audit(observed, BUDGETS)
    ran = sum(1 for call in observation.tool_calls if call.executed)
    if budget is not None and ran > budget:
        found.append(
            Breach(
                BUDGETS, f"{ran} tool calls ran, over the tool_calls_per_session budget of {budget}"
            )
        )
    return tuple(found)
