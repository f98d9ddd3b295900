"""The "compromised model": a scripted model that asks for whatever a test wants.

Code-level guardrails must hold even when the model is fully manipulated. A
:class:`ScriptedModel` plays that model deterministically and offline: it asks for tool calls
forever, for a forbidden tool, for huge token counts, or raises. It also records what it asked for
and what the agent sent back, so the harness can hold the spans against what really happened.

The plain-Python agent protocol
-------------------------------
A framework-free agent reaches the harness through two tiny protocols:

- a *model* is anything with ``next_turn(context: ModelContext) -> ModelTurn``
  (:class:`TurnModel`; :class:`ScriptedModel` is one);
- a *plain agent* is anything with ``run(task: str) -> str`` (:class:`PlainAgent`) that loops:
  ask the model for a turn, run the tool calls it requests (possibly in parallel, possibly on
  worker threads), and send the results back in the next :class:`ModelContext`, until the model
  replies with text and no tool calls. The agent's own guardrails (budgets, kill switch,
  approval) decide whether a requested call runs at all::

      class SupportAgent:
          def __init__(self, model: TurnModel, tools: dict[str, Callable[..., object]]) -> None:
              self.model, self.tools = model, tools

          def run(self, task: str) -> str:
              results: tuple[ToolResult, ...] = ()
              while True:
                  turn = self.model.next_turn(ModelContext(task=task, tool_results=results))
                  if not turn.tool_calls:
                      return turn.text or ""
                  results = tuple(
                      ToolResult(call.call_id, self.tools[call.name](**call.arguments), call.name)
                      for call in turn.tool_calls
                  )

Framework adapters (see :mod:`pytest_agent_readiness.integrations`) translate the same turns
into the framework's own model interface.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol, TypeAlias

__all__ = [
    "ModelContext",
    "ModelTurn",
    "PlainAgent",
    "Raise",
    "ScriptError",
    "ScriptExhausted",
    "ScriptStep",
    "ScriptedModel",
    "ScriptedModelError",
    "TextReply",
    "ToolCallRequest",
    "ToolResult",
    "Turn",
    "TurnLimitReached",
    "TurnModel",
    "TurnUsage",
]

DEFAULT_INPUT_TOKENS_PER_TURN = 10
DEFAULT_OUTPUT_TOKENS_PER_TURN = 5
# A runaway script never ends by itself; this safety net turns an agent whose guardrails never
# stop it into a clean failure instead of a hung test run.
DEFAULT_MAX_TURNS = 1_000


class ScriptError(ValueError):
    """A script asks for something malformed (bad tool name, duplicate call id, empty turn)."""


class ScriptedModelError(RuntimeError):
    """The scripted model cannot give another turn."""


class ScriptExhausted(ScriptedModelError):
    """The agent asked for a turn after the script's last one."""


class TurnLimitReached(ScriptedModelError):
    """The agent asked for more turns than ``max_turns``: nothing in the agent stopped it."""


class SessionAbandoned(ScriptedModelError):
    """The harness stopped waiting for this session: the model gives no more turns."""


@dataclass(frozen=True)
class ToolCallRequest:
    """The model asks the agent to call ``name`` with ``arguments``.

    Several in one turn are parallel tool calls. ``call_id`` is assigned (``call_0001``, ...)
    when left None.
    """

    name: str
    arguments: Mapping[str, object] = field(default_factory=dict)
    call_id: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ScriptError(f"ToolCallRequest.name must be a non-empty string, got {self.name!r}")
        if not isinstance(self.arguments, Mapping):
            raise ScriptError(
                f"ToolCallRequest({self.name!r}).arguments must be a mapping of argument names "
                f"to values, got {type(self.arguments).__name__}"
            )
        if self.call_id is not None and (not isinstance(self.call_id, str) or not self.call_id):
            raise ScriptError(
                f"ToolCallRequest({self.name!r}).call_id must be a non-empty string or None, "
                f"got {self.call_id!r}"
            )


@dataclass(frozen=True)
class TextReply:
    """The model answers with text (with no tool call in the turn, the run should end)."""

    text: str


@dataclass(frozen=True)
class Raise:
    """The model call fails with ``exc`` (a provider error, a timeout)."""

    exc: BaseException


@dataclass(frozen=True)
class TurnUsage:
    """Token usage the model reports for its turn, overriding the model's per-turn defaults."""

    input_tokens: int
    output_tokens: int

    def __post_init__(self) -> None:
        for label, value in (
            ("input_tokens", self.input_tokens),
            ("output_tokens", self.output_tokens),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ScriptError(f"TurnUsage.{label} must be a whole number >= 0, got {value!r}")


Turn: TypeAlias = ToolCallRequest | TextReply | Raise | TurnUsage
"""One part of a model turn."""

ScriptStep: TypeAlias = Turn | Sequence[Turn]
"""One model turn in a script: a single part or several."""


@dataclass(frozen=True)
class ToolResult:
    """What the agent sent back to the model for one tool call.

    ``outcome`` is ``"success"`` when the tool returned normally; otherwise the framework's word
    for what happened (``"failed"``, ``"retried"``, ``"denied"``, ``"interrupted"``).
    """

    call_id: str
    content: object
    tool_name: str | None = None
    outcome: str = "success"

    @property
    def is_error(self) -> bool:
        """Whether the call did not succeed."""
        return self.outcome != "success"


@dataclass(frozen=True)
class ModelContext:
    """What the agent hands the model for a turn.

    ``tool_results`` holds the results sent back with this request; ``messages`` is the
    framework's own message history, opaque here.
    """

    task: str | None = None
    tool_results: tuple[ToolResult, ...] = ()
    messages: tuple[object, ...] = ()


@dataclass(frozen=True)
class ModelTurn:
    """The model's answer for one turn: tool calls (ids assigned), text, usage.

    ``number`` counts from 1. ``raised`` is set on a turn that failed with :class:`Raise`.
    """

    number: int
    tool_calls: tuple[ToolCallRequest, ...]
    text: str | None
    input_tokens: int
    output_tokens: int
    raised: BaseException | None = None


class TurnModel(Protocol):
    """A model a plain agent can drive (see the module docstring)."""

    def next_turn(self, context: ModelContext) -> ModelTurn:
        """Give the model's next turn for ``context``."""
        ...


class PlainAgent(Protocol):
    """A framework-free agent the harness can call with a task (see the module docstring)."""

    def run(self, task: str) -> str:
        """Run the agent on ``task`` and return its final answer."""
        ...


ScriptSource: TypeAlias = Iterable[ScriptStep] | Callable[[ModelContext], ScriptStep]


class ScriptedModel:
    """A deterministic model that follows a script and records what happened.

    ``script`` is an iterable of steps (each a :data:`Turn` part or a sequence of them; it may be
    infinite) or a callable that returns the step for a :class:`ModelContext`. Thread-safe:
    frameworks call the model and run tools on worker threads.
    """

    def __init__(
        self,
        script: ScriptSource,
        *,
        input_tokens_per_turn: int = DEFAULT_INPUT_TOKENS_PER_TURN,
        output_tokens_per_turn: int = DEFAULT_OUTPUT_TOKENS_PER_TURN,
        max_turns: int = DEFAULT_MAX_TURNS,
    ) -> None:
        TurnUsage(input_tokens_per_turn, output_tokens_per_turn)  # validates both
        if max_turns < 1:
            raise ScriptError(f"max_turns must be at least 1, got {max_turns}")
        self._steps: Iterator[ScriptStep] | None
        self._respond: Callable[[ModelContext], ScriptStep] | None
        if callable(script):
            self._steps, self._respond = None, script
        else:
            self._steps, self._respond = iter(script), None
        self.input_tokens_per_turn = input_tokens_per_turn
        self.output_tokens_per_turn = output_tokens_per_turn
        self.max_turns = max_turns
        # Reentrant: a callable script may read the recorder's properties.
        self._lock = threading.RLock()
        self._turns: list[ModelTurn] = []
        self._requested: list[ToolCallRequest] = []
        self._used_ids: set[str] = set()
        self._results: dict[str, ToolResult] = {}
        self._next_id = 1
        # Set without the lock (a script may hold it while it waits): one attribute store, which
        # the next turn's read sees; an Event would cost a Condition per session.
        self._abandoned = False

    # -- the model --------------------------------------------------------------------------

    def next_turn(self, context: ModelContext) -> ModelTurn:
        """Record the results in ``context``, then give the next scripted turn.

        Raises the scripted exception for a :class:`Raise` turn, :class:`ScriptExhausted` after
        the last step, and :class:`TurnLimitReached` past ``max_turns``.
        """
        with self._lock:
            if self._abandoned:
                raise SessionAbandoned(
                    "the harness abandoned this session: the scripted model gives no more turns"
                )
            for result in context.tool_results:
                self.record_tool_result(result)
            number = len(self._turns) + 1
            if number > self.max_turns:
                raise TurnLimitReached(
                    f"the agent asked for turn {number} but the scripted model allows "
                    f"{self.max_turns}: nothing in the agent stopped the run"
                )
            parts = self._parts(self._step(context, number), number)
            turn = self._build_turn(parts, number)
            self._turns.append(turn)
            self._requested.extend(turn.tool_calls)
            if turn.raised is not None:
                raise turn.raised
            return turn

    def abandon(self) -> None:
        """Give no more turns: a session the harness stopped waiting for (hung, or its outcome
        already known) ends at its next model request instead of running on unobserved."""
        self._abandoned = True

    def record_tool_result(self, result: ToolResult) -> None:
        """Note what the agent sent back for a call; the first result per call id is kept."""
        with self._lock:
            self._results.setdefault(result.call_id, result)

    # -- what happened ------------------------------------------------------------------------

    @property
    def turns(self) -> tuple[ModelTurn, ...]:
        """Every turn given so far, in order."""
        with self._lock:
            return tuple(self._turns)

    @property
    def turns_taken(self) -> int:
        """How many turns the agent asked for (a raising turn counts)."""
        with self._lock:
            return len(self._turns)

    @property
    def requested_calls(self) -> tuple[ToolCallRequest, ...]:
        """Every tool call the model asked for, in order, with call ids."""
        with self._lock:
            return tuple(self._requested)

    @property
    def returned_results(self) -> dict[str, ToolResult]:
        """The results the agent sent back, by call id (a copy)."""
        with self._lock:
            return dict(self._results)

    def unanswered_calls(self) -> tuple[ToolCallRequest, ...]:
        """Requested calls the agent never sent a result back for."""
        with self._lock:
            return tuple(call for call in self._requested if call.call_id not in self._results)

    # -- scripts ----------------------------------------------------------------------------

    @classmethod
    def sequence(
        cls, steps: Iterable[ScriptStep], *, final_text: str | None = None, **options: int
    ) -> ScriptedModel:
        """Follow ``steps`` in order; with ``final_text``, end with that reply."""
        script: list[ScriptStep] = list(steps)
        if final_text is not None:
            script.append(TextReply(final_text))
        return cls(script, **options)

    @classmethod
    def runaway(
        cls,
        tool: str,
        arguments: Mapping[str, object] | None = None,
        *,
        per_turn: int = 1,
        **options: int,
    ) -> ScriptedModel:
        """Ask for ``per_turn`` calls of ``tool`` every turn, forever (call ids are unique)."""
        if per_turn < 1:
            raise ScriptError(f"per_turn must be at least 1, got {per_turn}")
        step = tuple(ToolCallRequest(tool, dict(arguments or {})) for _ in range(per_turn))
        return cls(itertools.repeat(step), **options)

    @classmethod
    def forbidden(
        cls,
        tool: str,
        arguments: Mapping[str, object] | None = None,
        *,
        final_text: str = "done",
        **options: int,
    ) -> ScriptedModel:
        """Ask once for ``tool`` (one the agent must not run unguarded), then reply text."""
        return cls([ToolCallRequest(tool, dict(arguments or {})), TextReply(final_text)], **options)

    @classmethod
    def echo_canary(
        cls,
        canary: str,
        into_tool: str | None = None,
        *,
        argument: str = "text",
        final_text: str = "done",
        **options: int,
    ) -> ScriptedModel:
        """Leak ``canary``: as the final text, or, with ``into_tool``, as that tool's
        ``argument`` (then reply ``final_text``)."""
        if into_tool is None:
            return cls([TextReply(canary)], **options)
        return cls(
            [ToolCallRequest(into_tool, {argument: canary}), TextReply(final_text)], **options
        )

    @classmethod
    def huge_usage(
        cls,
        tokens: int,
        *,
        tool: str | None = None,
        arguments: Mapping[str, object] | None = None,
        **options: int,
    ) -> ScriptedModel:
        """Report ``tokens`` tokens per turn (half input, the rest output).

        Without ``tool`` the model replies once; with it, the model asks for ``tool`` every
        turn, forever, so only a token budget can stop it.
        """
        usage = TurnUsage(tokens // 2, tokens - tokens // 2)
        if tool is None:
            return cls([(TextReply("done"), usage)], **options)
        return cls(
            itertools.repeat((ToolCallRequest(tool, dict(arguments or {})), usage)), **options
        )

    @classmethod
    def raises(cls, exc: BaseException, **options: int) -> ScriptedModel:
        """Fail every turn with ``exc``."""
        return cls(itertools.repeat(Raise(exc)), **options)

    # -- internals ----------------------------------------------------------------------------

    def _step(self, context: ModelContext, number: int) -> object:
        if self._respond is not None:
            return self._respond(context)
        assert self._steps is not None
        try:
            return next(self._steps)
        except StopIteration:
            raise ScriptExhausted(
                f"the agent asked for turn {number} but the script has only {number - 1}"
            ) from None

    @staticmethod
    def _parts(step: object, number: int) -> tuple[Turn, ...]:
        kinds = (ToolCallRequest, TextReply, Raise, TurnUsage)
        if isinstance(step, kinds):
            return (step,)
        if isinstance(step, (str, bytes)) or not isinstance(step, Sequence):
            raise ScriptError(
                f"turn {number}: expected a ToolCallRequest, TextReply, Raise or TurnUsage, "
                f"or a sequence of them, got {type(step).__name__}"
            )
        parts: list[Turn] = []
        for index, part in enumerate(step):
            if not isinstance(part, kinds):
                raise ScriptError(
                    f"turn {number}, part {index}: expected a ToolCallRequest, TextReply, Raise "
                    f"or TurnUsage, got {type(part).__name__}"
                )
            parts.append(part)
        return tuple(parts)

    def _build_turn(self, parts: tuple[Turn, ...], number: int) -> ModelTurn:
        calls: list[ToolCallRequest] = []
        texts: list[str] = []
        raised: BaseException | None = None
        usage = TurnUsage(self.input_tokens_per_turn, self.output_tokens_per_turn)
        new_ids: set[str] = set()
        for part in parts:
            if isinstance(part, ToolCallRequest):
                call_id = part.call_id or self._fresh_id(new_ids)
                if call_id in self._used_ids or call_id in new_ids:
                    raise ScriptError(
                        f"turn {number}: call id {call_id!r} was already used; "
                        "frameworks require every tool-call id to be unique"
                    )
                new_ids.add(call_id)
                calls.append(ToolCallRequest(part.name, dict(part.arguments), call_id))
            elif isinstance(part, TextReply):
                texts.append(part.text)
            elif isinstance(part, Raise):
                raised = part.exc
            else:
                usage = part
        if not calls and not texts and raised is None:
            raise ScriptError(f"turn {number}: expected a tool call, a text reply or a Raise")
        if raised is None:
            self._used_ids |= new_ids
        return ModelTurn(
            number=number,
            # A failed model call asks for nothing, whatever else the script put in the turn.
            tool_calls=tuple(calls) if raised is None else (),
            text="".join(texts) if texts else None,
            input_tokens=usage.input_tokens,
            output_tokens=usage.output_tokens,
            raised=raised,
        )

    def _fresh_id(self, taken: set[str]) -> str:
        while True:
            candidate = f"call_{self._next_id:04d}"
            self._next_id += 1
            if candidate not in self._used_ids and candidate not in taken:
                return candidate
