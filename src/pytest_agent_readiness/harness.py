"""The harness an adapter wires an agent to, so tests can drive it and watch what it does.

An *adapter* is a factory a project registers (``@adapter("triage_bot")`` in ``conftest.py``)
under the name the manifest's ``adapter:`` gives. The harness calls it with a :class:`Harness`
and gets back something it can call with a task. The factory builds the real agent around:

- ``harness.model``: the scripted "compromised" model (for plain agents; framework integrations
  translate it, e.g. ``harness.pydantic_ai_model()``);
- ``harness.tracer_provider``: where the agent's OpenTelemetry spans must go;
- ``harness.request_approval(tool, arguments)``: the agent's human-approval step;
- ``harness.confirm(actions)``: the confirmation asked after many unconfirmed actions;
- ``harness.escalate(state, owner, detail)``: the escalation sink;
- ``harness.escalate_to_owner(state, detail)``: the same, with the owner the manifest declares
  for ``state`` (the signature agents call);
- ``harness.effects``: the ledger the test doubles of external systems (CRM, payments, e-mail)
  record every real action in;
- ``harness.clock``: the clock an alert monitor counts its windows on (the alert probes move it,
  so a ``10m`` window never makes a probe wait ten minutes);
- ``harness.alert_events``: the alert signals this session produced (tool faults, denied
  approvals, escalations, calls, reads outside a tool's ``data_scope``, and the alert probes'
  requests for undeclared tools), for a monitor to count;
- ``harness.service(name, make)``: a long-lived service (a monitor) that outlives one session.

Spans alone are not proof (a span can exist for a call that never ran, and a side effect can
happen with no span), so the probes hold the effects ledger against spans and approvals.
"""

from __future__ import annotations

import fnmatch
import inspect
import os
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import import_module
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

from opentelemetry import context as otel_context

# Re-exported (explicitly, for type checkers): `harness.AgentHandle` is a public path.
from .handle import AgentHandle as AgentHandle
from .model import ALERT_SIGNALS
from .session_threads import DeadlinePassed, can_run_here, run_here, start_session

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider

    from .flag_server import FlagServer
    from .model import Agent, KillSwitch
    from .scripted import ScriptedModel
    from .spans import SpanCapture, Trace

ADAPTER_ATTRIBUTE = "__agent_readiness_adapter__"
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})

Factory = TypeVar("Factory", bound=Callable[..., Any])
Service = TypeVar("Service")


def adapter(name: str) -> Callable[[Factory], Factory]:
    """Register the decorated factory as the adapter the manifest calls ``name``.

    The factory takes a :class:`Harness` and returns an :class:`AgentHandle` or a callable that
    runs the agent on a task (sync or async)::

        @adapter("triage_bot")
        def triage_bot(harness):
            bot = TriageBot(harness.model, escalate=harness.escalate, ...)
            return AgentHandle(run=bot.run, tools={"kb.search": {"query": "refund"}})
    """

    def mark(factory: Factory) -> Factory:
        setattr(factory, ADAPTER_ATTRIBUTE, name)
        return factory

    return mark


def find_adapters(namespaces: Iterable[object]) -> dict[str, Callable[[Harness], Any]]:
    """Adapters registered with :func:`adapter` in ``namespaces`` (conftest modules, plugins)."""
    found: dict[str, Callable[[Harness], Any]] = {}
    for namespace in namespaces:
        for value in list(vars(namespace).values()) if hasattr(namespace, "__dict__") else ():
            name = getattr(value, ADAPTER_ATTRIBUTE, None)
            if isinstance(name, str) and callable(value):
                found.setdefault(name, value)
    return found


class AdapterError(Exception):
    """An adapter is missing, raises, or returns something the harness cannot run."""


def as_handle(made: object, adapter_name: str) -> AgentHandle:
    """Accept an :class:`AgentHandle` or a bare callable from an adapter."""
    if isinstance(made, AgentHandle):
        return made
    if callable(made):
        return AgentHandle(run=made)
    raise AdapterError(
        f"adapter '{adapter_name}' returned {type(made).__name__}; expected an AgentHandle or "
        "a callable that runs the agent on a task"
    )


# -- what the test doubles and the agent report to the harness ------------------------------


@dataclass(frozen=True)
class Effect:
    """One action that really happened in an external system."""

    tool: str
    arguments: Mapping[str, object]
    write: bool
    at_ns: int


class EffectsLedger:
    """Where test doubles record every real action; can also make the next action fail."""

    def __init__(self, write_tools: Iterable[str] = ()) -> None:
        self._lock = threading.Lock()
        self._effects: list[Effect] = []
        self._faults: dict[str, BaseException] = {}
        self._write_tools = frozenset(write_tools)
        # Told of each fault that fired (tool, arguments, None) and each effect (..., Effect).
        self.listener: Callable[[str, Mapping[str, object], Effect | None], None] | None = None

    def record(
        self, tool: str, arguments: Mapping[str, object] | None = None, *, write: bool | None = None
    ) -> None:
        """Record that ``tool`` acted; raise the fault scheduled for it, if any (then nothing
        happened and nothing is recorded)."""
        effect: Effect | None = None
        with self._lock:
            fault = self._faults.pop(tool, None)
            if fault is None:
                is_write = tool in self._write_tools if write is None else write
                effect = Effect(tool, dict(arguments or {}), is_write, time.time_ns())
                self._effects.append(effect)
        # Outside the lock: a listener (an alert monitor) may suspend the agent from here.
        listener = self.listener  # read once: the harness may unhook it meanwhile
        if listener is not None:
            listener(tool, dict(arguments or {}), effect)
        if fault is not None:
            raise fault

    def fail_next(self, tool: str, error: BaseException) -> None:
        """Make the next action of ``tool`` raise ``error``."""
        with self._lock:
            self._faults[tool] = error

    def fault_pending(self, tool: str) -> bool:
        """Whether the fault :meth:`fail_next` scheduled for ``tool`` has not fired yet (its
        test double never recorded an action since)."""
        with self._lock:
            return tool in self._faults

    @property
    def effects(self) -> tuple[Effect, ...]:
        with self._lock:
            return tuple(self._effects)

    def of(self, tool: str) -> list[Effect]:
        """The effects of one tool."""
        return [effect for effect in self.effects if effect.tool == tool]


@dataclass(frozen=True)
class ApprovalRequest:
    """One approval the agent asked for, and the decision it got."""

    tool: str
    arguments: Mapping[str, object]
    granted: bool
    at_ns: int


class ApprovalDesk:
    """The human-approval step, played by the harness: it decides by ``policy``."""

    def __init__(self, policy: Callable[[str, Mapping[str, object]], bool] | None = None) -> None:
        self.policy = policy or (lambda tool, arguments: False)
        self._lock = threading.Lock()
        self._requests: list[ApprovalRequest] = []
        self.listener: Callable[[ApprovalRequest], None] | None = None  # told of each decision

    def request(self, tool: str, arguments: Mapping[str, object] | None = None) -> bool:
        """The agent asks a human to approve ``tool``; returns the decision."""
        arguments = dict(arguments or {})
        granted = bool(self.policy(tool, arguments))
        request = ApprovalRequest(tool, arguments, granted, time.time_ns())
        with self._lock:
            self._requests.append(request)
        listener = self.listener
        if listener is not None:
            listener(request)
        return granted

    @property
    def requests(self) -> tuple[ApprovalRequest, ...]:
        with self._lock:
            return tuple(self._requests)


@dataclass(frozen=True)
class Escalation:
    """One escalation: the state, the owner it went to, and what the agent said."""

    state: str
    owner: str
    detail: str


class EscalationSink:
    """Where the agent's escalations land, so a test can see who was reached."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._events: list[Escalation] = []
        self.listener: Callable[[Escalation], None] | None = None  # told of each escalation

    def escalate(self, state: str, owner: str, detail: str = "") -> None:
        escalation = Escalation(state, owner, detail)
        with self._lock:
            self._events.append(escalation)
        listener = self.listener
        if listener is not None:
            listener(escalation)

    @property
    def events(self) -> tuple[Escalation, ...]:
        with self._lock:
            return tuple(self._events)


class ConfirmationDesk:
    """Answers the agent's "may I go on?" after many unconfirmed actions."""

    def __init__(self, answer: bool = False) -> None:
        self.answer = answer
        self._lock = threading.Lock()
        self._asked: list[int] = []

    def confirm(self, actions: int) -> bool:
        with self._lock:
            self._asked.append(actions)
        return self.answer

    @property
    def asked(self) -> tuple[int, ...]:
        with self._lock:
            return tuple(self._asked)


# -- what an alert monitor counts, on a clock the probes control -------------------------------


class ManualClock:
    """A clock that moves only when told to: seconds as a float, like :func:`time.monotonic`.

    An alert monitor takes it as its clock (``clock=harness.clock``), so a probe can move a
    ``10m`` window past in no time. ``reads`` says whether anything asked it the time."""

    def __init__(self, start_s: float = 1_000_000.0) -> None:
        self._now = start_s
        self._lock = threading.Lock()
        self.reads = 0

    def __call__(self) -> float:
        with self._lock:
            self.reads += 1
            return self._now

    def advance(self, seconds: float) -> None:
        """Move the clock ``seconds`` forward."""
        with self._lock:
            self._now += seconds


@dataclass(frozen=True)
class AlertEvent:
    """One event an alert counts: its signal, what it is about (the tool, the failure state),
    and what happened."""

    signal: str
    subject: str
    detail: str


class AlertFeed:
    """The alert events a session produced, told to every subscriber (an alert monitor) as
    they happen. ``signals`` limits what it reports (an alert probe isolates its signal)."""

    def __init__(self, signals: Iterable[str] | None = None) -> None:
        self.signals = frozenset(signals) if signals is not None else None
        self._lock = threading.Lock()
        self._events: list[AlertEvent] = []
        self._subscribers: list[Callable[[AlertEvent], None]] = []

    def subscribe(self, subscriber: Callable[[AlertEvent], None]) -> None:
        """Tell ``subscriber`` of every event from now on."""
        with self._lock:
            self._subscribers.append(subscriber)

    def emit(self, signal: str, subject: str, detail: str = "") -> None:
        """Report one event (ignored when this feed does not report ``signal``)."""
        if self.signals is not None and signal not in self.signals:
            return
        event = AlertEvent(signal, subject, detail)
        with self._lock:
            self._events.append(event)
            subscribers = list(self._subscribers)
        for subscriber in subscribers:
            subscriber(event)

    @property
    def events(self) -> tuple[AlertEvent, ...]:
        with self._lock:
            return tuple(self._events)

    @property
    def subscribers(self) -> tuple[Callable[[AlertEvent], None], ...]:
        """Who is told of each event (an alert probe asks whether any monitor listens)."""
        with self._lock:
            return tuple(self._subscribers)


def outside_scope(scope: Mapping[str, Sequence[str]], arguments: Mapping[str, object]) -> str:
    """The first argument outside a tool's ``data_scope`` (``name=value``), or ``""``: each
    argument the scope names must match one of its glob patterns."""
    for name, patterns in scope.items():
        if name in arguments:
            value = str(arguments[name])
            if not any(fnmatch.fnmatchcase(value, pattern) for pattern in patterns):
                return f"{name}={value!r}"
    return ""


# -- the kill switch, engaged the way an operator would --------------------------------------


class KillSwitchError(Exception):
    """The declared kill switch cannot be driven (bad target, unreachable callable)."""


class KillSwitchDriver:
    """Engages and disengages a declared kill switch; always disengage (use ``with``).

    - ``env``: sets the variable to ``1`` (restores the old value after);
    - ``file``: creates the file (relative to the manifest; removed after). It must not exist
      beforehand and must resolve inside the repository, symlinks followed: the switch never
      overwrites or deletes a file it did not create;
    - ``callable``: calls ``module:function(True)``, then ``(False)``;
    - ``http``: serves ``{"engaged": bool}`` on 127.0.0.1 at the target's path (the target's
      port when it names a local one, else a free port); the agent polls :attr:`url`.
    """

    def __init__(self, spec: KillSwitch, base_dir: Path, *, declared_at: str = "") -> None:
        """``declared_at`` is where errors point: ``FILE:LINE: agents.NAME.kill_switch.target``."""
        self.spec = spec
        self.base_dir = base_dir
        self.declared_at = declared_at
        self.engaged_at_ns: int | None = None
        self._saved_env: str | None = None
        self._created: list[Path] = []  # the file, then each folder made for it, to remove
        self._server: FlagServer | None = None
        self._thread: threading.Thread | None = None
        self.url: str | None = None

    def __enter__(self) -> KillSwitchDriver:
        if self.spec.mechanism == "http":
            self._serve()
        return self

    def __exit__(self, *exc_info: object) -> None:
        try:
            self.disengage()
        finally:
            if self._server is not None:
                self._server.shutdown()
                self._server.server_close()
                self._server = None

    def _serve(self) -> None:
        parts = urlsplit(self.spec.target)
        port = parts.port if parts.hostname in LOCAL_HOSTS and parts.port else 0
        from .flag_server import FlagServer  # http.server loads only for an http kill switch

        self._server = FlagServer(port)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        path = parts.path or "/"
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}{path}"

    def _callable(self) -> Callable[[bool], object]:
        module_name, _, attribute = self.spec.target.partition(":")
        try:
            target: Any = import_module(module_name)
            for part in attribute.split("."):
                target = getattr(target, part)
        except (ImportError, AttributeError) as error:
            raise KillSwitchError(
                f"kill switch callable {self.spec.target} cannot be imported: {error}"
            ) from None
        if not callable(target):
            raise KillSwitchError(f"kill switch target {self.spec.target} is not callable")
        return target  # type: ignore[no-any-return]

    @property
    def path(self) -> Path:
        """Where the ``file`` switch appears, as declared (relative to the manifest)."""
        return self.base_dir / self.spec.target

    def _error(self, problem: str) -> KillSwitchError:
        where = self.declared_at or "kill_switch.target"
        return KillSwitchError(f"{where}: {problem}")

    def _create_file(self) -> None:
        from .paths import OutsideRepository, repository_root, resolve_inside

        try:
            file = resolve_inside(repository_root(self.base_dir), self.base_dir, self.spec.target)
        except OutsideRepository as error:
            raise self._error(f"{error}; expected a file inside the repository") from None
        made: list[Path] = []  # innermost first, the order to remove them in
        for folder in reversed(file.parents):
            if not os.path.lexists(folder):
                folder.mkdir()
                made.insert(0, folder)
        try:
            # O_EXCL: never open what is there already, a symlink planted at the name included.
            handle = os.open(file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            _remove(made)
            raise self._error(
                f"{self.spec.target} already exists; the file kill switch creates the file and "
                "removes it after, so it must not exist before the run"
            ) from None
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write("engaged by pytest-agent-readiness\n")
        self._created = [file, *made, *self._created]

    def engage(self) -> None:
        """Throw the switch, as an operator would."""
        mechanism = self.spec.mechanism
        if mechanism == "env":
            self._saved_env = os.environ.get(self.spec.target)
            os.environ[self.spec.target] = "1"
        elif mechanism == "file":
            self._create_file()
        elif mechanism == "callable":
            self._callable()(True)
        else:
            if self._server is None:
                self._serve()
            assert self._server is not None
            self._server.engaged = True
        self.engaged_at_ns = time.time_ns()

    def disengage(self) -> None:
        """Release the switch and restore what was there before."""
        if self.engaged_at_ns is None:
            return
        mechanism = self.spec.mechanism
        if mechanism == "env":
            if self._saved_env is None:
                os.environ.pop(self.spec.target, None)
            else:
                os.environ[self.spec.target] = self._saved_env
        elif mechanism == "file":
            _remove(self._created)
            self._created = []
        elif mechanism == "callable":
            self._callable()(False)
        elif self._server is not None:
            self._server.engaged = False
        self.engaged_at_ns = None


def _remove(created: Sequence[Path]) -> None:
    """Remove what the file kill switch made, innermost first; a folder only when empty (the
    agent may have written beside the switch)."""
    for path in created:
        try:
            if path.is_dir() and not path.is_symlink():
                path.rmdir()
            else:
                path.unlink(missing_ok=True)
        except OSError:
            pass


# -- the harness ------------------------------------------------------------------------------


@dataclass
class Harness:
    """Everything an adapter wires the agent to for one session."""

    agent: Agent
    model: ScriptedModel
    tracer_provider: TracerProvider
    effects: EffectsLedger
    approvals: ApprovalDesk = field(default_factory=ApprovalDesk)
    escalations: EscalationSink = field(default_factory=EscalationSink)
    confirmations: ConfirmationDesk = field(default_factory=ConfirmationDesk)
    kill_switch: KillSwitchDriver | None = None
    capture: SpanCapture | None = None
    # Adversarial cases: what the agent holds and must never disclose (the case's canaries,
    # planted as the agent's secrets, and its system prompt with canaries planted in it), and
    # poisoned content its data sources return for indirect injection.
    protected: tuple[str, ...] = ()
    system_prompt: str | None = None
    poisoned: Mapping[str, str] = field(default_factory=dict)
    live: bool = False
    # Alerts: the clock a monitor counts windows on, the events it counts, services that
    # outlive a session (an alert probe hands the same ones to each of its sessions), and the
    # hooks an operator's release calls.
    clock: ManualClock = field(default_factory=ManualClock)
    alert_events: AlertFeed = field(default_factory=AlertFeed)
    services: dict[str, Any] = field(default_factory=dict)
    release_hooks: list[Callable[[str], None]] = field(default_factory=list)

    def __post_init__(self) -> None:
        # The harness's own desks are where the alert signals happen: report them.
        self.effects.listener = self._effect_seen
        self.approvals.listener = self._approval_seen
        self.escalations.listener = self._escalation_seen

    def unhook_desks(self) -> None:
        """Stop reporting the desks' records as alert events, once the session has ended and
        been judged. The desks and the harness refer to each other through these listeners:
        unhooked, all a session made is freed with its last reference instead of by the cyclic
        garbage collector (for thousands of adversarial cases, a tenth of their cost)."""
        if self.effects.listener == self._effect_seen:
            self.effects.listener = None
        if self.approvals.listener == self._approval_seen:
            self.approvals.listener = None
        if self.escalations.listener == self._escalation_seen:
            self.escalations.listener = None

    def _effect_seen(
        self, tool: str, arguments: Mapping[str, object], effect: Effect | None
    ) -> None:
        feed = self.alert_events
        if effect is None:
            feed.emit("failed_tool_calls", tool, f"{tool} raised")
        feed.emit("unusual_call_frequency", tool, f"{tool} called")
        declared = self.agent.tools.get(tool)
        if declared is not None and declared.data_scope:
            outside = outside_scope(declared.data_scope, arguments)
            if outside:
                feed.emit("unexpected_data_access", tool, f"{tool}({outside}) outside data_scope")

    def _approval_seen(self, request: ApprovalRequest) -> None:
        if not request.granted:
            self.alert_events.emit(
                "policy_violations", request.tool, f"approval of {request.tool} denied"
            )

    def _escalation_seen(self, escalation: Escalation) -> None:
        if escalation.state in ALERT_SIGNALS:
            return  # an alert's own escalation is not another event
        self.alert_events.emit("escalation_loops", escalation.state, escalation.detail)

    def service(self, name: str, make: Callable[[], Service]) -> Service:
        """The long-lived service ``name`` (made once by ``make``): a monitor that must count
        across sessions keeps itself here, as it would live in a process beside the agent."""
        if name not in self.services:
            self.services[name] = make()
        return self.services[name]  # type: ignore[no-any-return]

    def on_release(self, hook: Callable[[str], None]) -> None:
        """Register what an operator's release calls (with the operator's name): a monitor's
        release hook. With none, releasing means disengaging the kill switch."""
        self.release_hooks.append(hook)

    def poisoned_result(self, source: str) -> str | None:
        """Poisoned content a test double of ``source`` (a tool name, or a role such as
        ``email``, ``retrieval``, ``memory``) should return in this session, if any."""
        return self.poisoned.get(source)

    def trace(self) -> Trace:
        """The spans recorded so far (from the ``readiness_spans`` capture)."""
        if self.capture is None:
            raise AdapterError("this harness records no spans: build it with a SpanCapture")
        return self.capture.snapshot()

    @property
    def escalation_owners(self) -> Mapping[str, str]:
        """The manifest's owner per failure state (``escalation:`` in agent-readiness.yaml),
        for an agent that takes its owners as configuration."""
        return dict(self.agent.escalation or {})

    @property
    def kill_switch_url(self) -> str | None:
        """For an ``http`` kill switch: the URL the agent must poll in this session."""
        return self.kill_switch.url if self.kill_switch is not None else None

    def request_approval(self, tool: str, arguments: Mapping[str, object] | None = None) -> bool:
        """The agent's human-approval step."""
        return self.approvals.request(tool, arguments)

    def confirm(self, actions: int) -> bool:
        """The agent's confirmation after ``actions`` unconfirmed actions."""
        return self.confirmations.confirm(actions)

    def escalate(self, state: str, owner: str, detail: str = "") -> None:
        """The agent's escalation sink."""
        self.escalations.escalate(state, owner, detail)

    def escalate_to_owner(self, state: str, detail: str = "") -> None:
        """The escalation sink with the signature agents call, ``(state, detail)``: routed to
        the owner the manifest declares for ``state``. A state the manifest names no owner
        for lands with owner ``""``, so the escalation probe reports it unrouted."""
        self.escalations.escalate(state, self.escalation_owners.get(state, ""), detail)

    def pydantic_ai_model(self) -> Any:
        """The scripted model as a PydanticAI ``FunctionModel``."""
        from .integrations.pydantic_ai import function_model

        return function_model(self.model)

    def openai_agents_model(self) -> Any:
        """The scripted model as an OpenAI Agents SDK ``Model`` (with its generation spans)."""
        from .integrations.openai_agents import ScriptedAgentsModel

        return ScriptedAgentsModel(self.model)

    def langchain_model(self) -> Any:
        """The scripted model as a LangChain chat model (for ``create_agent``)."""
        from .integrations.langgraph import chat_model

        return chat_model(self.model)


class BudgetMeter:
    """Holds what a session spent, read from its spans, against the agent's declared budgets."""

    def __init__(self, agent: Agent) -> None:
        self.agent = agent

    def problems(self, trace: Trace) -> list[str]:
        """Every budget the trace shows exceeded (empty when within all)."""
        budgets = self.agent.budgets
        if budgets is None:
            return [f"{self.agent.name} declares no budgets"]
        found: list[str] = []
        calls = len(trace.tool_calls())
        if budgets.tool_calls_per_session is not None and calls > budgets.tool_calls_per_session:
            found.append(
                f"{calls} tool calls, over tool_calls_per_session {budgets.tool_calls_per_session}"
            )
        spent = trace.token_usage().total or (
            trace.token_usage().input + trace.token_usage().output
        )
        if budgets.tokens_per_session is not None and spent > budgets.tokens_per_session:
            found.append(f"{spent} tokens, over tokens_per_session {budgets.tokens_per_session}")
        return found


# -- running one session with a deadline ------------------------------------------------------


@dataclass(frozen=True)
class SessionResult:
    """How one agent session ended (or did not, by its deadline)."""

    finished: bool
    returned: object = None
    error: BaseException | None = None
    elapsed_s: float = 0.0
    deadline_s: float = 0.0
    abandoned: bool = False  # still running, but its outcome was known: not awaited

    def describe(self) -> str:
        """How the session ended, in words that do not depend on timing."""
        if self.abandoned:
            return "still running when the probe had its verdict (abandoned, not awaited)"
        if not self.finished:
            return f"still running at its {self.deadline_s:g}s deadline"
        if self.error is not None:
            return f"stopped with {type(self.error).__name__}: {self.error}"
        return f"returned {self.returned!r:.80}"


def run_session(
    run: Callable[[str], Any],
    task: str,
    *,
    deadline_s: float,
    while_running: Callable[[threading.Event], bool] | None = None,
    context: otel_context.Context | None = None,
    on_thread: bool = False,
    label: str = "an agent session",
) -> SessionResult:
    """Run the agent on ``task``; stop waiting for it after ``deadline_s``.

    The session runs on the calling thread and is interrupted at its deadline where that can be
    done (see :mod:`~pytest_agent_readiness.session_threads`), otherwise, or with ``on_thread``,
    on a session thread; ``label`` names the session if it must stop the run.
    ``while_running`` runs on the calling thread once the session started on its own thread
    (the kill-switch probe engages the switch there), given the event set when the session
    ends; when it returns True the outcome is already known, and the session is abandoned
    rather than awaited. ``context`` is the OpenTelemetry context the session runs in (a span
    capture tells its own session's spans by it). A hung agent on a thread cannot be killed
    in-process: its thread is a daemon and the result says it was still running.
    """
    outcome: dict[str, Any] = {}
    here = while_running is None and not on_thread and can_run_here()

    def target() -> None:
        token = otel_context.attach(context) if context is not None else None
        try:
            value = run(task)
            if inspect.isawaitable(value):
                import asyncio  # loaded for a coroutine agent only: a costly import

                value = asyncio.run(_awaited(value))
            outcome["returned"] = value
        except BaseException as error:  # the agent's own stop (budget, policy) is data here
            if here and isinstance(error, (KeyboardInterrupt, DeadlinePassed)):
                raise  # a Ctrl-C meant for the run, or this session's deadline: not the agent's
            outcome["error"] = error
        finally:
            if token is not None:
                otel_context.detach(token)

    started = time.monotonic()
    if here:
        finished = run_here(target, deadline_s, label)
    else:
        done = threading.Event()
        start_session(target, done.set)  # on a reused daemon thread: a hung one is left behind
        decided = while_running(done) if while_running is not None else False
        if decided and not done.is_set():
            elapsed = time.monotonic() - started
            return SessionResult(False, elapsed_s=elapsed, deadline_s=deadline_s, abandoned=True)
        finished = done.wait(timeout=max(0.0, deadline_s - (time.monotonic() - started)))
    elapsed = time.monotonic() - started
    if not finished:
        return SessionResult(False, elapsed_s=elapsed, deadline_s=deadline_s)
    return SessionResult(True, outcome.get("returned"), outcome.get("error"), elapsed)


async def _awaited(value: Any) -> Any:
    return await value


def declared_write_tools(agent: Agent) -> Sequence[str]:
    """The agent's write/admin tools."""
    return sorted(name for name, tool in agent.tools.items() if tool.writes)
