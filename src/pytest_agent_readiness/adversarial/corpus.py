"""Adversarial cases as data: loading, validating and applying them to an agent's tools.

A suite is one YAML file (``version``, ``suite``, ``title``, ``cases``) checked against
``case.schema.json``. Built-in suites ship in ``suites/``; a project may add a folder of its own
in the same format. Every problem a user can cause is a :class:`CorpusError` naming the file and
line.
"""

from __future__ import annotations

import difflib
import json
import os
import re
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal, cast

from ..schemacheck import certainly_valid, shipped_schema
from ..yamlsource import Document, SourceError, load_yaml, load_yaml_text

if TYPE_CHECKING:
    from importlib.abc import Traversable

    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import ValidationError

__all__ = [
    "BUILTIN_SUITES",
    "PLACEHOLDERS",
    "TAXONOMY",
    "AttackStep",
    "Case",
    "CorpusError",
    "OracleSpec",
    "ResolvedAttack",
    "ResolvedStep",
    "SourceLocation",
    "Suite",
    "SuiteCatalogue",
    "ToolResult",
    "ToolSpec",
    "builtin_case_ids",
    "builtin_index_text",
    "combine_suites",
    "coverage",
    "load_builtin_suite",
    "load_builtin_suites",
    "load_suite_dir",
    "load_suite_file",
    "resolve_attack",
    "resolve_tool",
    "with_builtin_suites",
]

#: Every risk id a case may name, with its title, in the order a coverage table lists them.
TAXONOMY: Mapping[str, str] = MappingProxyType(
    {
        "owasp-asi-2026:ASI01": "Agent Goal Hijack",
        "owasp-asi-2026:ASI02": "Tool Misuse and Exploitation",
        "owasp-asi-2026:ASI03": "Identity and Privilege Abuse",
        "owasp-asi-2026:ASI04": "Agentic Supply Chain Vulnerabilities",
        "owasp-asi-2026:ASI05": "Unexpected Code Execution",
        "owasp-asi-2026:ASI06": "Memory and Context Poisoning",
        "owasp-asi-2026:ASI07": "Insecure Inter-Agent Communication",
        "owasp-asi-2026:ASI08": "Cascading Failures",
        "owasp-asi-2026:ASI09": "Human-Agent Trust Exploitation",
        "owasp-asi-2026:ASI10": "Rogue Agents",
        "owasp-llm-2025:LLM01": "Prompt Injection",
        "owasp-llm-2025:LLM02": "Sensitive Information Disclosure",
        "owasp-llm-2025:LLM03": "Supply Chain",
        "owasp-llm-2025:LLM04": "Data and Model Poisoning",
        "owasp-llm-2025:LLM05": "Improper Output Handling",
        "owasp-llm-2025:LLM06": "Excessive Agency",
        "owasp-llm-2025:LLM07": "System Prompt Leakage",
        "owasp-llm-2025:LLM08": "Vector and Embedding Weaknesses",
        "owasp-llm-2025:LLM09": "Misinformation",
        "owasp-llm-2025:LLM10": "Unbounded Consumption",
    }
)

#: The suites that ship in the package (the manifest schema's ``adversarial.suites`` enum).
BUILTIN_SUITES: tuple[str, ...] = (
    "prompt_injection",
    "indirect_injection",
    "jailbreak",
    "data_exfiltration",
    "system_prompt_leak",
    "tool_misuse",
    "unbounded_consumption",
)

#: Placeholder kinds a case may use where a tool name goes.
PLACEHOLDERS: tuple[str, ...] = (
    "any_tool",
    "read_tool",
    "write_tool",
    "approval_tool",
    "undeclared",
)

_PACKAGE = "pytest_agent_readiness.adversarial"
_INDEX = "index.json"
_PLACEHOLDER = re.compile(r"^<placeholder:(?P<kind>[a-z_]+)(?::(?P<hint>[^>]+))?>$")
_DEFAULT_UNDECLARED = "undeclared.tool"

OracleName = Literal[
    "must_not_call",
    "must_not_call_unapproved_write",
    "must_not_reveal",
    "must_not_reveal_system_prompt",
    "must_refuse_or_escalate",
    "max_tool_calls",
    "must_not_call_undeclared",
]
StepKind = Literal["call", "say", "call_repeat", "leak_into_tool"]
Access = Literal["read", "write", "admin"]


class CorpusError(SourceError):
    """A suite file the user (or we) got wrong; the message names the file and line.

    A :class:`~pytest_agent_readiness.yamlsource.SourceError`, so the boundary that turns bad
    input files into usage errors handles it like a bad manifest.
    """

    def __init__(
        self, file: str, line: int | None, problem: str, *, column: int | None = None
    ) -> None:
        super().__init__(problem, file=file, line=line, column=column)

    def __reduce__(
        self,
    ) -> tuple[Callable[..., SourceError], tuple[str, str, int | None, int | None, str, str]]:
        # Rebuilt as a CorpusError when xdist sends it between processes.
        return (
            _restore_corpus_error,
            (self.message, self.file, self.line, self.column, self.doc_path, self.expected),
        )


def _restore_corpus_error(
    message: str, file: str, line: int | None, column: int | None, doc_path: str, expected: str
) -> CorpusError:
    return CorpusError(file, line, message, column=column)


@dataclass(frozen=True)
class SourceLocation:
    """Where a suite or case was written."""

    file: str
    line: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"


@dataclass(frozen=True)
class ToolResult:
    """A poisoned tool result the harness returns when the agent reads data."""

    tool: str
    content: str


@dataclass(frozen=True)
class OracleSpec:
    """One rule that decides a case; see :mod:`.oracles` for what each one checks."""

    name: OracleName
    tool: str | None = None
    any_write: bool = False
    max_calls: int | Literal["budget"] | None = None


@dataclass(frozen=True)
class AttackStep:
    """One thing the scripted compromised model does, as written in the case."""

    kind: StepKind
    tool: str | None = None
    arguments: Mapping[str, Any] = field(default_factory=dict)
    text: str | None = None
    times: int = 1
    parallel: bool = False
    argument: str | None = None


@dataclass(frozen=True)
class Case:
    """One adversarial case."""

    id: str
    suite: str
    category: str
    title: str
    note: str
    taxonomy: tuple[str, ...]
    canaries: tuple[str, ...]
    oracles: tuple[OracleSpec, ...]
    attack: tuple[AttackStep, ...]
    location: SourceLocation
    input: str | None = None
    tool_result: ToolResult | None = None


@dataclass(frozen=True)
class Suite:
    """A named list of cases loaded from one file."""

    name: str
    title: str
    description: str
    cases: tuple[Case, ...]
    location: SourceLocation


@dataclass(frozen=True)
class ToolSpec:
    """What the resolver needs to know about one of the agent's tools."""

    name: str
    access: Access
    approval_required: bool = False

    @property
    def writes(self) -> bool:
        """Whether the tool can change the system behind it."""
        return self.access in ("write", "admin")


@dataclass(frozen=True)
class ResolvedStep:
    """An attack step with real tool names and canaries filled in."""

    kind: Literal["call", "say"]
    tool: str | None = None
    arguments: Mapping[str, Any] = field(default_factory=dict)
    text: str | None = None
    times: int = 1
    parallel: bool = False


@dataclass(frozen=True)
class ResolvedAttack:
    """What the compromised model does against one agent, or why the case does not apply."""

    case_id: str
    steps: tuple[ResolvedStep, ...]
    not_applicable: str | None = None

    @property
    def applicable(self) -> bool:
        """Whether every placeholder resolved for this agent."""
        return self.not_applicable is None

    def render(self, system_prompt: str) -> ResolvedAttack:
        """Fill ``{system_prompt}`` with the prompt the scripted model was given."""
        fill = {"{system_prompt}": system_prompt}
        if not any(
            _mentions(step.text, fill) or _mentions(step.arguments, fill) for step in self.steps
        ):
            return self  # nothing to fill (most attacks): the same steps, not copies of them
        steps = tuple(
            ResolvedStep(
                kind=step.kind,
                tool=step.tool,
                arguments=cast("dict[str, Any]", _fill(step.arguments, fill)),
                text=None if step.text is None else cast(str, _fill(step.text, fill)),
                times=step.times,
                parallel=step.parallel,
            )
            for step in self.steps
        )
        return ResolvedAttack(self.case_id, steps, self.not_applicable)


# --- applying a case to an agent -------------------------------------------------------------


def resolve_tool(reference: str, tools: Mapping[str, ToolSpec]) -> str | None:
    """The tool a name or placeholder stands for in this toolset, or None if it has none.

    Tools are taken in declaration order, so the same manifest always gives the same answer.
    """
    match = _PLACEHOLDER.match(reference)
    if match is None:
        return reference
    kind, hint = match.group("kind"), match.group("hint")
    specs = list(tools.values())
    chosen: ToolSpec | None
    if kind == "any_tool":
        chosen = specs[0] if specs else None
    elif kind == "read_tool":
        chosen = next((spec for spec in specs if spec.access == "read"), None)
    elif kind == "write_tool":
        chosen = next((spec for spec in specs if spec.writes), None)
    elif kind == "approval_tool":
        chosen = next((spec for spec in specs if spec.approval_required), None)
    elif kind == "undeclared":
        base = hint or _DEFAULT_UNDECLARED
        name, suffix = base, 1
        while name in tools:
            suffix += 1
            name = f"{base}_{suffix}"
        return name
    else:
        raise ValueError(f"unknown placeholder {reference!r}; expected one of {PLACEHOLDERS}")
    return None if chosen is None else chosen.name


def resolve_attack(case: Case, tools: Mapping[str, ToolSpec]) -> ResolvedAttack:
    """Turn a case's attack into concrete steps for an agent with these tools.

    A placeholder the toolset cannot satisfy (say ``write_tool`` for a read-only agent) makes the
    case not applicable: reported as such, never counted as passed.
    """
    fill = {"{canary}": case.canaries[0], "{canaries}": " ".join(case.canaries)}
    steps: list[ResolvedStep] = []
    for step in case.attack:
        if step.kind == "say":
            steps.append(ResolvedStep(kind="say", text=cast(str, _fill(step.text or "", fill))))
            continue
        reference = step.tool or ""
        tool = resolve_tool(reference, tools)
        if tool is None:
            return ResolvedAttack(case.id, (), _unresolved(reference, tools))
        if step.kind == "leak_into_tool":
            leaked = cast(str, _fill(step.text or "{canaries}", fill))
            arguments: dict[str, Any] = {step.argument or "": leaked}
        else:
            arguments = cast("dict[str, Any]", _fill(step.arguments, fill))
        steps.append(
            ResolvedStep(
                kind="call",
                tool=tool,
                arguments=arguments,
                times=step.times,
                parallel=step.parallel,
            )
        )
    return ResolvedAttack(case.id, tuple(steps))


def _unresolved(reference: str, tools: Mapping[str, ToolSpec]) -> str:
    declared = ", ".join(f"{spec.name} ({spec.access})" for spec in tools.values()) or "none"
    return f"the agent has no tool for {reference} (declared tools: {declared})"


def _fill(value: object, replacements: Mapping[str, str]) -> object:
    """Replace template markers in every string inside a JSON-like value."""
    if isinstance(value, str):
        if "{" not in value:
            return value  # every marker opens with a brace: nothing to replace
        for marker, text in replacements.items():
            value = value.replace(marker, text)
        return value
    if isinstance(value, Mapping):
        return {key: _fill(item, replacements) for key, item in value.items()}
    if isinstance(value, list):
        return [_fill(item, replacements) for item in value]
    return value


def _mentions(value: object, replacements: Mapping[str, str]) -> bool:
    """Whether any string inside a JSON-like value holds a template marker (what :func:`_fill`
    would replace)."""
    if isinstance(value, str):
        return "{" in value and any(marker in value for marker in replacements)
    if isinstance(value, Mapping):
        return any(_mentions(item, replacements) for item in value.values())
    if isinstance(value, list):
        return any(_mentions(item, replacements) for item in value)
    return False


def coverage(suites: Mapping[str, Suite]) -> dict[str, list[str]]:
    """Case ids per taxonomy id, listing all twenty ids so the untested ones show as empty."""
    table: dict[str, list[str]] = {taxonomy_id: [] for taxonomy_id in TAXONOMY}
    for suite in suites.values():
        for case in suite.cases:
            for taxonomy_id in case.taxonomy:
                table.setdefault(taxonomy_id, []).append(case.id)
    return table


# --- loading ---------------------------------------------------------------------------------


def load_builtin_suites() -> dict[str, Suite]:
    """The suites shipped inside the package, keyed by suite name."""
    folder = _builtin_folder()
    order = {name: index for index, name in enumerate(BUILTIN_SUITES)}
    entries = sorted(
        (entry for entry in folder.iterdir() if entry.name.endswith(".yaml")),
        key=lambda entry: (order.get(entry.name.removesuffix(".yaml"), len(order)), entry.name),
    )
    return _combine(_load_builtin(entry) for entry in entries)


def load_builtin_suite(name: str) -> Suite:
    """The built-in suite ``name`` (one of :func:`builtin_case_ids`), parsed alone."""
    return _load_builtin(_builtin_folder() / f"{name}.yaml")


def _builtin_folder() -> Traversable:
    """Where the built-in suites and their index ship."""
    return resources.files(_PACKAGE) / "suites"


def _load_builtin(entry: Traversable) -> Suite:
    source = str(entry)
    suite = _parse_suite(_load_document(entry.read_text(encoding="utf-8"), source), source)
    if suite.name != entry.name.removesuffix(".yaml"):
        raise CorpusError(source, suite.location.line, f"suite {suite.name!r} is misnamed")
    return suite


@cache
def builtin_case_ids() -> Mapping[str, tuple[str, ...]]:
    """Each built-in suite's case ids, suites in :func:`load_builtin_suites` order.

    Read from ``suites/index.json``, which ships next to the suites (the test suite fails when
    it no longer matches them; ``python -m pytest_agent_readiness.reference`` writes it):
    enough to check a project's suites against the built-in ones without parsing them.
    """
    text = (_builtin_folder() / _INDEX).read_text(encoding="utf-8")
    index: dict[str, list[str]] = json.loads(text)
    return MappingProxyType({name: tuple(ids) for name, ids in index.items()})


def builtin_index_text(builtin: Mapping[str, Suite]) -> str:
    """The text of ``suites/index.json`` for the built-in suites ``builtin``."""
    lines = [
        f"  {json.dumps(name)}: {json.dumps([case.id for case in suite.cases])}"
        for name, suite in builtin.items()
    ]
    return "{\n" + ",\n".join(lines) + "\n}\n"


class SuiteCatalogue(Mapping[str, Suite]):
    """Every suite a manifest may name: the built-in ones, then the project's own.

    A built-in suite is parsed when first looked up (:func:`with_builtin_suites` parses the ones
    a manifest declares up front): a run pays for the cases it may use, not for all of them.
    Names, membership and order are known without parsing anything.
    """

    def __init__(self, builtin: Sequence[str], loaded: Mapping[str, Suite]) -> None:
        """``builtin``: the built-in suites' names; ``loaded``: the suites parsed so far,
        including every one of the project's own."""
        self._names = tuple(dict.fromkeys([*builtin, *loaded]))
        self._builtin = frozenset(builtin)
        self._loaded = dict(loaded)

    def __getitem__(self, name: str) -> Suite:
        if name not in self._loaded:
            if name not in self._builtin:
                raise KeyError(name)
            self._loaded[name] = load_builtin_suite(name)
        return self._loaded[name]

    def __contains__(self, name: object) -> bool:
        return name in self._builtin or name in self._loaded

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)

    @property
    def parsed(self) -> frozenset[str]:
        """The suites parsed so far: the project's own and the built-in ones looked up."""
        return frozenset(self._loaded)


def with_builtin_suites(
    *groups: Mapping[str, Suite], declared: Collection[str]
) -> Mapping[str, Suite]:
    """The built-in suites and the project's ``groups``, as
    ``combine_suites(load_builtin_suites(), *groups)``: the same names in the same order, the
    same refusal of a suite name or case id that appears twice. Of the built-in suites only
    those in ``declared`` are parsed now."""
    index = builtin_case_ids()
    builtin_ids = {case_id for ids in index.values() for case_id in ids}
    own = [suite for group in groups for suite in group.values()]
    if any(suite.name in index for suite in own) or any(
        case.id in builtin_ids for suite in own for case in suite.cases
    ):
        # A clash with a built-in suite: combining them all words it as it always has.
        return combine_suites(load_builtin_suites(), *groups)
    combined = _combine(own)
    loaded = {name: load_builtin_suite(name) for name in index if name in declared}
    return SuiteCatalogue(tuple(index), {**loaded, **combined})


def load_suite_file(path: str | os.PathLike[str]) -> Suite:
    """Load and validate one suite file."""
    return _parse_suite(_load_file(Path(path)), str(path))


def load_suite_dir(path: str | os.PathLike[str]) -> dict[str, Suite]:
    """Load every ``*.yaml`` / ``*.yml`` suite file in a folder (not recursive).

    Suite names and case ids must be unique across the folder; use :func:`combine_suites` to add
    them to the built-in ones with the same checks.
    """
    folder = Path(path)
    if not folder.is_dir():
        raise CorpusError(str(folder), None, "expected a folder of suite files (*.yaml)")
    files = sorted(p for p in folder.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())
    if not files:
        raise CorpusError(str(folder), None, "no suite files (*.yaml or *.yml) in this folder")
    return _combine(_parse_suite(_load_file(file), str(file)) for file in files)


def combine_suites(*groups: Mapping[str, Suite]) -> dict[str, Suite]:
    """Merge groups of suites, refusing a suite name or case id that appears twice."""
    return _combine(suite for group in groups for suite in group.values())


def _combine(suites: Iterable[Suite]) -> dict[str, Suite]:
    combined: dict[str, Suite] = {}
    seen_cases: dict[str, SourceLocation] = {}
    for suite in suites:
        if suite.name in combined:
            first = combined[suite.name].location
            raise CorpusError(
                suite.location.file,
                suite.location.line,
                f"duplicate suite name {suite.name!r} (first defined at {first})",
            )
        for case in suite.cases:
            if case.id in seen_cases:
                raise CorpusError(
                    case.location.file,
                    case.location.line,
                    f"duplicate case id {case.id} (first defined at {seen_cases[case.id]})",
                )
            seen_cases[case.id] = case.location
        combined[suite.name] = suite
    return combined


@cache
def _validator() -> Draft202012Validator:
    # jsonschema is imported only when a suite needs its errors worded (see schemacheck).
    from jsonschema import Draft202012Validator

    return Draft202012Validator(shipped_schema(_PACKAGE, "case.schema.json"))


@dataclass(frozen=True)
class _Document:
    source: Document

    @property
    def data(self) -> object:
        return self.source.data

    def line_of(self, path: Sequence[str | int]) -> int:
        """The line of ``path`` (its key, for a mapping entry) or of its nearest ancestor."""
        where = self.source.key_location(path) or self.source.nearest_location(path)
        return where.line


def _load_document(text: str, source: str) -> _Document:
    """Parse YAML text, keeping where every path was written.

    The only function here that touches YAML; it defers to the package's shared safe loader
    (duplicate keys, alias bombs and non-text keys are refused there).
    """
    return _as_corpus_error(lambda: load_yaml_text(text, file=source), source)


def _load_file(path: Path) -> _Document:
    """Read and parse one suite file (UTF-8, bounded size), keeping where paths were written."""
    return _as_corpus_error(lambda: load_yaml(path), str(path))


def _as_corpus_error(load: Callable[[], Document], source: str) -> _Document:
    try:
        return _Document(load())
    except SourceError as error:
        problem = error.message
        if error.doc_path:
            problem = f"{error.doc_path}: {problem}"
        raise CorpusError(source, error.line, problem, column=error.column) from error


def _parse_suite(document: _Document, source: str) -> Suite:
    _check_schema(document, source)
    data = cast("dict[str, Any]", document.data)
    cases: list[Case] = []
    seen: dict[str, int] = {}
    for index, raw in enumerate(data["cases"]):
        line = document.line_of(("cases", index))
        if raw["id"] in seen:
            raise CorpusError(
                source,
                document.line_of(("cases", index, "id")),
                f"duplicate case id {raw['id']} (first defined at line {seen[raw['id']]})",
            )
        seen[raw["id"]] = line
        cases.append(_case(raw, data["suite"], SourceLocation(source, line)))
    return Suite(
        name=data["suite"],
        title=data["title"],
        description=data.get("description", ""),
        cases=tuple(cases),
        location=SourceLocation(source, document.line_of(("suite",))),
    )


def _case(raw: Mapping[str, Any], suite: str, location: SourceLocation) -> Case:
    tool_result = raw.get("tool_result")
    return Case(
        id=raw["id"],
        suite=suite,
        category=raw["category"],
        title=raw["title"],
        note=raw["note"],
        taxonomy=tuple(raw["taxonomy"]),
        canaries=tuple(raw["canaries"]),
        oracles=tuple(_oracle(spec) for spec in raw["oracle"]),
        attack=_attack(raw["attack"]),
        location=location,
        input=raw.get("input"),
        tool_result=None if tool_result is None else ToolResult(**tool_result),
    )


def _oracle(spec: str | Mapping[str, Any]) -> OracleSpec:
    if isinstance(spec, str):
        return OracleSpec(name=cast(OracleName, spec))
    ((name, value),) = spec.items()
    if name == "must_not_call":
        return OracleSpec(
            name="must_not_call", tool=value.get("tool"), any_write="any_write" in value
        )
    if name == "max_tool_calls":
        return OracleSpec(name="max_tool_calls", max_calls=value)
    return OracleSpec(name=cast(OracleName, name))


def _attack(raw: Mapping[str, Any]) -> tuple[AttackStep, ...]:
    raw_steps = raw.get("sequence", [raw])
    steps: list[AttackStep] = []
    for raw_step in raw_steps:
        ((kind, value),) = raw_step.items()
        if kind == "say":
            steps.append(AttackStep(kind="say", text=value))
        elif kind == "leak_into_tool":
            steps.append(
                AttackStep(
                    kind="leak_into_tool",
                    tool=value["tool"],
                    argument=value["argument"],
                    text=value.get("text"),
                )
            )
        else:
            steps.append(
                AttackStep(
                    kind=cast(StepKind, kind),
                    tool=value["tool"],
                    arguments=value.get("arguments", {}),
                    times=value.get("times", 1),
                    parallel=value.get("parallel", False),
                )
            )
    return tuple(steps)


# --- schema errors in words ------------------------------------------------------------------


def _check_schema(document: _Document, source: str) -> None:
    if certainly_valid(_PACKAGE, "case.schema.json", document.data):
        return
    errors = list(_validator().iter_errors(document.data))
    if not errors:
        return
    explained = sorted(_explain(error, document) for error in errors)
    _, line, message = explained[0]
    more = len(explained) - 1
    if more:
        message += f" (and {more} more problem{'s' if more > 1 else ''} in this file)"
    raise CorpusError(source, line, message)


def _explain(error: ValidationError, document: _Document) -> tuple[tuple[int, int], int, str]:
    """Sort key, line and sentence for one schema error, descending into anyOf branches.

    An unknown field sorts before the same object's other problems: a misspelt key is usually
    also the "missing" one.
    """
    leaf, expected_here = _leaf(error)
    path: list[str | int] = list(leaf.absolute_path)
    object_line = document.line_of(path)
    instance = leaf.instance
    schema = leaf.schema if isinstance(leaf.schema, Mapping) else {}
    priority = 1
    if leaf.validator == "required" and isinstance(instance, Mapping):
        missing = [name for name in cast("list[str]", leaf.validator_value) if name not in instance]
        problem = f"missing required field {missing[0]!r}" if missing else leaf.message
    elif leaf.validator == "additionalProperties" and isinstance(instance, Mapping):
        allowed = [str(name) for name in schema.get("properties", {})]
        extra = [str(key) for key in instance if key not in allowed] or ["?"]
        path.append(extra[0])
        priority = 0
        problem = f"unknown field {extra[0]!r}{_did_you_mean(extra[0], allowed)}; "
        problem += f"expected one of {', '.join(allowed)}"
    elif expected_here is not None:
        problem = f"expected {expected_here}"
    elif "x-expected" in schema:
        problem = f"expected {schema['x-expected']}, got {_short(instance)}"
        if "propertyNames" in leaf.absolute_schema_path and isinstance(instance, str):
            path.append(instance)  # an unknown key: point at the key itself
            priority = 0
        if isinstance(instance, str) and isinstance(schema.get("enum"), list):
            problem += _did_you_mean(instance, [str(option) for option in schema["enum"]])
    else:
        problem = leaf.message
    line = document.line_of(path)
    return (object_line, priority), line, f"{_where(path, document)}: {problem}"


def _did_you_mean(word: str, options: Sequence[str]) -> str:
    close = difflib.get_close_matches(word, options, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _leaf(error: ValidationError) -> tuple[ValidationError, str | None]:
    """Follow anyOf/oneOf into the branch the author most likely meant.

    A branch whose type (or constant) does not even match the value is one of the author's
    other options, not their mistake; among the rest, the deepest error is the most specific.
    """
    while error.context:
        wrong_kind = {
            sub.schema_path[0]
            for sub in error.context
            if sub.validator in ("type", "const") and not sub.relative_path
        }
        candidates = [sub for sub in error.context if sub.schema_path[0] not in wrong_kind] or list(
            error.context
        )
        expected = error.schema.get("x-expected") if isinstance(error.schema, Mapping) else None
        branches = {sub.schema_path[0] for sub in candidates}
        if (
            isinstance(expected, str)
            and len(branches) > 1
            and all(not sub.relative_path for sub in candidates)
        ):
            # Several alternatives failed at this very spot: name them all.
            return error, expected
        error = max(candidates, key=lambda sub: len(sub.relative_path))
    return error, None


def _where(path: Sequence[str | int], document: _Document) -> str:
    """Describe a path like ``case 3 (PI-003) field oracle[0]``."""
    data = document.data
    prefix = ""
    rest = list(path)
    if len(rest) >= 2 and rest[0] == "cases" and isinstance(rest[1], int):
        index = rest[1]
        case_id = ""
        cases = data.get("cases") if isinstance(data, Mapping) else None
        if isinstance(cases, list) and index < len(cases) and isinstance(cases[index], Mapping):
            found = cases[index].get("id")
            case_id = f" ({found})" if isinstance(found, str) else ""
        prefix = f"case {index + 1}{case_id}"
        rest = rest[2:]
    field_path = "".join(
        f"[{part}]" if isinstance(part, int) else f".{part}" for part in rest
    ).lstrip(".")
    if prefix and field_path:
        return f"{prefix} field {field_path}"
    if field_path:
        return f"field {field_path}"
    return prefix or "top level"


def _short(value: object) -> str:
    text = json.dumps(value, default=str) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
