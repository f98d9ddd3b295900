"""Load and validate ``agent-readiness.yaml`` into a :class:`~.model.Manifest`.

Validation is the JSON Schema that ships in the package (so editors complete the same file the
gate reads); every problem is reported with file, line, column, the path inside the document and
what was expected, and nothing is scored from a manifest with a problem.
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import json
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, cast

from .model import (
    CRITICAL_SIGNALS,
    Adversarial,
    Agent,
    Alert,
    Budgets,
    Drift,
    Gate,
    KillSwitch,
    Manifest,
    Outcomes,
    Owner,
    Prompt,
    RedTeamImport,
    RiskAssessment,
    Tool,
    Waiver,
)
from .paths import escaping_paths
from .schemacheck import certainly_valid, shipped_schema
from .yamlsource import Document, SourceError, format_doc_path, load_yaml

MANIFEST_NAME = "agent-readiness.yaml"
SCHEMA_RESOURCE = "manifest.schema.json"
MAX_REPORTED_PROBLEMS = 25


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a manifest, located as precisely as the source allows."""

    file: str
    line: int | None
    column: int | None
    doc_path: str
    message: str

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        return (
            f"{where}: {self.doc_path}: {self.message}"
            if self.doc_path
            else f"{where}: {self.message}"
        )


class ManifestError(Exception):
    """The manifest cannot be scored; ``problems`` says every reason found."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(problems)
        super().__init__(self._render())

    def _render(self) -> str:
        head = (
            "invalid readiness manifest"
            if len(self.problems) == 1
            else (f"invalid readiness manifest ({len(self.problems)} problems)")
        )
        return head + ":\n" + "\n".join(f"  {problem}" for problem in self.problems)


@cache
def manifest_schema() -> Mapping[str, Any]:
    """The manifest's JSON Schema, as shipped in the package."""
    return shipped_schema("pytest_agent_readiness", f"schemas/{SCHEMA_RESOURCE}")


def load_manifest(path: Path, *, display: str | None = None) -> Manifest:
    """Read, validate and model the manifest at ``path``; raise :class:`ManifestError`."""
    shown = display or str(path)
    try:
        document = load_yaml(path, display=shown)
    except SourceError as error:
        raise ManifestError([_from_source_error(error, shown)]) from None
    problems = list(validate_document(document))
    if problems:
        raise ManifestError(problems[:MAX_REPORTED_PROBLEMS])
    manifest = _build(document, path, shown)
    reference_problems = list(_reference_problems(manifest, document))
    if reference_problems:
        raise ManifestError(reference_problems)
    return manifest


def _from_source_error(error: SourceError, shown: str) -> Problem:
    return Problem(shown, error.line, error.column, error.doc_path, error.message)


def _inline(node: Any, definitions: Mapping[str, Any]) -> Any:
    """``node`` with every local ``#/$defs/...`` reference replaced by its definition."""
    if isinstance(node, dict):
        if "$ref" in node and str(node["$ref"]).startswith("#/$defs/"):
            target = _inline(definitions[str(node["$ref"]).rsplit("/", 1)[-1]], definitions)
            rest = {k: _inline(v, definitions) for k, v in node.items() if k != "$ref"}
            return {**target, **rest}
        return {k: _inline(v, definitions) for k, v in node.items() if k != "$defs"}
    if isinstance(node, list):
        return [_inline(item, definitions) for item in node]
    return node


@cache
def _fast_validator() -> Any:
    """The manifest schema with its references inlined: the same verdict, without resolving a
    reference per value (a 200-agent manifest has tens of thousands), for when jsonschema-rs
    gives none. Errors still come from the schema as shipped, so their messages and paths are
    unchanged."""
    from jsonschema import Draft202012Validator, FormatChecker

    schema = manifest_schema()
    return Draft202012Validator(_inline(schema, schema["$defs"]), format_checker=FormatChecker())


def validate_document(document: Document) -> Iterator[Problem]:
    """Every schema violation in ``document``, in document order."""
    # JSON Schema's "number" admits NaN and infinities (YAML's .nan, .inf), and NaN passes every
    # minimum and maximum: a kill switch that must "halt within nan seconds" would validate.
    non_finite = list(_non_finite(document.data, ())) if _any_non_finite(document.data) else []
    if non_finite:
        for path, value in non_finite:
            yield _problem_at(
                document,
                path,
                f"{'.nan' if math.isnan(value) else '.inf' if value > 0 else '-.inf'} is not a "
                "finite number; write a number such as 5 or 0.2",
            )
        return
    verdict = certainly_valid(
        "pytest_agent_readiness", f"schemas/{SCHEMA_RESOURCE}", document.data, formats=True
    )
    if verdict or (verdict is None and _fast_validator().is_valid(document.data)):
        return
    # Imported only to word the errors: jsonschema takes a tenth of a second to import.
    from jsonschema import Draft202012Validator, FormatChecker

    validator = Draft202012Validator(manifest_schema(), format_checker=FormatChecker())
    found: list[tuple[int, int, Problem]] = []
    for error in validator.iter_errors(document.data):
        for problem in _describe(error, document):
            found.append((problem.line or 0, problem.column or 0, problem))
    seen: set[str] = set()
    for _, _, problem in sorted(found, key=lambda item: (item[0], item[1], item[2].message)):
        if str(problem) not in seen:
            seen.add(str(problem))
            yield problem


def _any_non_finite(data: object) -> bool:
    """Whether a NaN or an infinity is anywhere in ``data``: one pass with no paths built, so
    the usual document (none) costs a fifth of what finding each one's path does."""
    pending = [data]
    while pending:
        value = pending.pop()
        if isinstance(value, float):
            if not math.isfinite(value):
                return True
        elif isinstance(value, list):
            pending.extend(value)
        # dict first: asking the Mapping ABC about each of thousands of strings is slow.
        elif isinstance(value, (dict, Mapping)):
            pending.extend(value.values())
    return False


def _non_finite(
    value: object, path: tuple[str | int, ...]
) -> Iterator[tuple[tuple[str | int, ...], float]]:
    if isinstance(value, float) and not math.isfinite(value):
        yield path, value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from _non_finite(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _non_finite(item, (*path, index))


def _problem_at(document: Document, path: Sequence[str | int], message: str) -> Problem:
    location = document.nearest_location(path)
    return Problem(document.file, location.line, location.column, format_doc_path(path), message)


def _describe(error: Any, document: Document) -> Iterator[Problem]:

    path = list(error.absolute_path)
    validator = error.validator
    schema = error.schema
    if validator in ("oneOf", "anyOf") and error.context:
        yield from _describe_alternatives(error, document)
        return
    if validator == "additionalProperties" and isinstance(error.instance, dict):
        allowed = sorted(schema.get("properties", {}))
        for key in sorted(set(error.instance) - set(allowed)):
            location = document.key_location([*path, key]) or document.nearest_location(path)
            message = f"unknown key '{key}'"
            close = difflib.get_close_matches(key, allowed, n=1)
            if close:
                message += f"; did you mean '{close[0]}'?"
            if allowed:
                message += f" (expected one of: {', '.join(allowed)})"
            yield Problem(
                document.file, location.line, location.column, format_doc_path(path), message
            )
        return
    if validator == "required":
        missing = [key for key in error.validator_value if key not in error.instance]
        for key in missing:
            yield _problem_at(document, path, f"missing required key '{key}'")
        return
    yield _problem_at(document, path, _expectation(error, document, path))


def _describe_alternatives(error: Any, document: Document) -> Iterator[Problem]:
    """Explain a failed oneOf/anyOf through the branch whose type the value has, if one does."""
    from jsonschema.exceptions import best_match

    branches: dict[int, list[Any]] = {}
    for sub in error.context:
        branches.setdefault(sub.schema_path[0], []).append(sub)
    fitting = [
        errors
        for errors in branches.values()
        if not any(sub.validator == "type" and not sub.relative_path for sub in errors)
    ]
    if len(fitting) == 1:
        for sub in fitting[0]:
            yield from _describe(sub, document)
        return
    yield from _describe(best_match(error.context), document)


_TYPE_WORDS = {
    "string": "a string",
    "integer": "a whole number",
    "number": "a number",
    "boolean": "true or false",
    "object": "a mapping",
    "array": "a list",
    "null": "nothing",
}


def _kind(value: object) -> str:
    if isinstance(value, bool):
        return "the boolean"
    if isinstance(value, (int, float)):
        return "the number"
    if value is None:
        return "null"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return "the string"


def _got(value: object, source: str | None) -> str:
    if isinstance(value, (dict, list)):
        return f"got {_kind(value)}"
    shown = json.dumps(value) if not isinstance(value, str) else repr(value)
    if source is not None and source != str(value) and not isinstance(value, str):
        return f"YAML read `{source}` as {_kind(value)} {shown}"
    return f"got {_kind(value)} {shown}".replace("got null None", "got null")


def _expectation(error: Any, document: Document, path: Sequence[str | int]) -> str:
    validator = error.validator
    schema = error.schema
    instance = error.instance
    source = document.source_text(path)
    described = schema.get("description")
    if validator == "type":
        wanted = error.validator_value
        names = [wanted] if isinstance(wanted, str) else list(wanted)
        expected = " or ".join(_TYPE_WORDS.get(name, name) for name in names)
        message = f"expected {expected}; {_got(instance, source)}"
        if "string" in names and source is not None and not isinstance(instance, (dict, list)):
            message += f"; quote it: '{source}'"
        return message
    if validator == "enum":
        options = ", ".join(str(option) for option in error.validator_value)
        return f"expected one of: {options}; {_got(instance, source)}"
    if validator == "const":
        return f"expected {json.dumps(error.validator_value)}; {_got(instance, source)}"
    if validator in ("pattern", "format"):
        what = described.rstrip(".") if described else f"a value matching {error.validator_value}"
        what = what[0].lower() + what[1:]
        return f"expected {what}; {_got(instance, source)}"
    if validator in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        words = {
            "minimum": "at least",
            "maximum": "at most",
            "exclusiveMinimum": "greater than",
            "exclusiveMaximum": "less than",
        }
        return (
            f"expected a value {words[validator]} {error.validator_value}; {_got(instance, source)}"
        )
    if validator in ("minProperties", "minItems", "minLength"):
        return "must not be empty"
    if validator == "propertyNames":
        return f"invalid name: {error.message}"
    return str(error.message)


def _reference_problems(manifest: Manifest, document: Document) -> Iterator[Problem]:
    for doc_path, error in escaping_paths(manifest):
        yield _problem_at(document, doc_path, f"{error}; expected a path inside the repository")
    for waiver in manifest.waivers:
        if waiver.agent not in manifest.agents:
            yield _problem_at(
                document,
                ("waivers", waiver.index, "agent"),
                f"waiver names agent '{waiver.agent}', which is not declared "
                f"(expected one of: {', '.join(sorted(manifest.agents))})",
            )


class _Lines(Mapping[tuple[str | int, ...], int]):
    """Document path -> line, looked up in the loaded document when asked for.

    A 200-agent manifest has some 40,000 paths and a run asks for the lines of a few hundred
    (failing checks, items' locations), so none is worked out ahead.
    """

    def __init__(self, document: Document) -> None:
        # The locations only: the data is modelled by then, and keeping its tens of thousands
        # of containers alive would cost every later garbage collection (and the exit) a walk.
        self._document = dataclasses.replace(document, data=None)
        # Lines asked for, and paths known to have none: scoring asks for each agent's check
        # paths twice (its stage and the next), and Manifest.line_of asks `in` before it reads.
        self._asked: dict[tuple[str | int, ...], int | None] = {}

    def __getitem__(self, path: tuple[str | int, ...]) -> int:
        key = tuple(path)
        try:
            line = self._asked[key]
        except KeyError:
            line = self._asked[key] = self._line(key)
        if line is None:
            raise KeyError(path)
        return line

    def _line(self, path: tuple[str | int, ...]) -> int | None:
        # A key's own line, so "missing X" points at the section, not at its first child.
        location = self._document.key_location(path) if path else None
        location = location or self._document.location(path)
        return None if location is None else location.line

    def __iter__(self) -> Iterator[tuple[str | int, ...]]:
        # Every path the document recorded has a location, so every one has a line.
        return self._document.paths()

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def __reduce__(self) -> tuple[Any, ...]:
        # Pickled (for xdist workers) as the plain mapping, without the YAML node tree.
        return (dict, (dict(self),))


def _build(document: Document, path: Path, shown: str) -> Manifest:
    data = cast("dict[str, Any]", document.data)
    lines = _Lines(document)
    gate = data.get("gate", {})
    return Manifest(
        path=shown,
        base_dir=str(path.resolve().parent),
        sha256=hashlib.sha256(path.read_bytes()).hexdigest(),
        project=data.get("project"),
        gate=Gate(
            min_total=gate.get("min_total", Gate.min_total),
            min_dimension=gate.get("min_dimension", Gate.min_dimension),
        ),
        agents={name: _agent(name, spec) for name, spec in data["agents"].items()},
        waivers=tuple(
            Waiver(
                check=item["check"],
                agent=item["agent"],
                reason=item["reason"],
                approved_by=item["approved_by"],
                expires=item["expires"],
                index=index,
            )
            for index, item in enumerate(data.get("waivers", []))
        ),
        lines=lines,
    )


def _owner(spec: object) -> Owner | None:
    if spec is None:
        return None
    if isinstance(spec, str):
        return Owner(name=None, email=None, raw=spec)
    mapping = cast("dict[str, str]", spec)
    return Owner(name=mapping["name"], email=mapping["email"])


def _opt_tuple(spec: Mapping[str, Any], key: str) -> tuple[str, ...] | None:
    return tuple(spec[key]) if key in spec else None


def _agent(name: str, spec: Mapping[str, Any]) -> Agent:
    decisions = spec.get("decisions", {})
    kill = spec.get("kill_switch")
    budgets = spec.get("budgets")
    adversarial = spec.get("adversarial")
    data_quality = spec.get("data_quality", {})
    drift = data_quality.get("drift")
    outcomes = spec.get("outcomes")
    return Agent(
        name=name,
        stage=spec["stage"],
        owner=_owner(spec.get("owner")),
        stage_changed=spec.get("stage_changed"),
        adapter=spec.get("adapter"),
        autonomous=_opt_tuple(decisions, "autonomous"),
        human_approval=_opt_tuple(decisions, "human_approval"),
        escalation=(
            {state: route["owner"] for state, route in spec["escalation"].items()}
            if "escalation" in spec
            else None
        ),
        tools={
            tool_name: Tool(
                name=tool_name,
                access=tool["access"],
                approval=tool.get("approval", "none"),
                decision=tool.get("decision", tool_name),
                added=tool.get("added"),
                data_scope=(
                    {name: tuple(patterns) for name, patterns in tool["data_scope"].items()}
                    if "data_scope" in tool
                    else None
                ),
            )
            for tool_name, tool in spec.get("tools", {}).items()
        },
        permissions_reviewed=spec.get("permissions_reviewed"),
        kill_switch=(
            KillSwitch(
                mechanism=kill["mechanism"],
                target=kill["target"],
                halt_within_s=float(kill["halt_within_s"]),
                operators=tuple(kill.get("operators", ())),
            )
            if kill is not None
            else None
        ),
        budgets=Budgets(**budgets) if budgets is not None else None,
        tracing_required=spec["tracing"]["required"] if "tracing" in spec else None,
        alerts=(
            tuple(
                Alert(
                    signal=alert["signal"],
                    threshold=float(alert["threshold"]),
                    window=alert["window"],
                    action=alert["action"],
                    severity=alert.get(
                        "severity", "critical" if alert["signal"] in CRITICAL_SIGNALS else "warning"
                    ),
                    index=index,
                )
                for index, alert in enumerate(spec["alerts"])
            )
            if "alerts" in spec
            else None
        ),
        anomaly_log=spec["anomaly_log"]["location"] if "anomaly_log" in spec else None,
        prompts=(
            tuple(
                Prompt(
                    path=prompt["path"],
                    version=prompt["version"],
                    rollback_to=prompt.get("rollback_to"),
                    index=index,
                )
                for index, prompt in enumerate(spec["prompts"])
            )
            if "prompts" in spec
            else None
        ),
        adversarial=(
            Adversarial(
                suites=tuple(adversarial["suites"]),
                min_pass_rate=float(adversarial.get("min_pass_rate", 1.0)),
                suite_dirs=tuple(adversarial.get("suite_dirs", ())),
                imports=tuple(
                    RedTeamImport(item["tool"], item["path"], item["suite"], index)
                    for index, item in enumerate(adversarial.get("imports", ()))
                ),
            )
            if adversarial is not None
            else None
        ),
        drift=(
            Drift(
                metric=drift["metric"], threshold=float(drift["threshold"]), action=drift["action"]
            )
            if drift is not None
            else None
        ),
        input_validation=data_quality.get("input_validation"),
        outcomes=(
            Outcomes(
                baseline=dict(outcomes.get("baseline", {})),
                thresholds={
                    key: dict(value) for key, value in outcomes.get("thresholds", {}).items()
                },
                measured_path=outcomes["measured"]["path"] if "measured" in outcomes else None,
            )
            if outcomes is not None
            else None
        ),
        risk_assessments=(
            tuple(
                RiskAssessment(
                    scope=record["scope"],
                    assessed_by=record["assessed_by"],
                    date=record["date"],
                    link=record["link"],
                )
                for record in spec["risk_assessments"]
            )
            if "risk_assessments" in spec
            else None
        ),
        board_metrics=(
            {key: value["source"] for key, value in spec["board_metrics"].items()}
            if "board_metrics" in spec
            else None
        ),
    )
