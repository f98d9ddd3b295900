"""The fast schema verdict never says "valid" where jsonschema would not.

jsonschema-rs decides whether the Python validator runs at all, so a document it wrongly passed
would lose every error the gate reports. These tests walk every value of real documents (the
examples' manifests and lock, the built-in suites), put hostile values in its place one at a
time, and hold the two validators to the same "valid".
"""

from __future__ import annotations

import copy
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator, FormatChecker

from conftest import EXAMPLES, Project, ready_data
from pytest_agent_readiness import schemacheck
from pytest_agent_readiness.adversarial import corpus
from pytest_agent_readiness.manifest import ManifestError, load_manifest

PACKAGE = "pytest_agent_readiness"
SUITES = Path(corpus.__file__).parent / "suites"

# Values that sit on the edges where a Rust and a Python validator could read a schema
# differently: types JSON cannot tell apart in Python (bool and int, 1.0 and 1), numbers past 64
# bits, regex anchors before a trailing newline, impossible calendar dates, astral characters
# and lengths at the limits.
HOSTILE: list[object] = [
    None,
    True,
    0,
    -1,
    1.0,
    2.5,
    2**70,
    -(2**70),
    "",
    "x" * 101,
    "\U0001f600" * 100,
    "\U0001f600" * 101,
    "1.2.3\n",
    "1.2.3",
    "a b",
    "triage-bot\n",
    "2026-02-30",
    "2026-13-01",
    "2026-11-25",
    "2026-11-25\n",
    "Name <a@b.c>",
    "a@b.c\n",
    "10m\n",
    "PROMPT-001",
    [],
    ["x"],
    {},
    {"unknown": 1},
]


def leaf_paths(value: object, path: tuple[str | int, ...] = ()) -> Iterator[tuple[str | int, ...]]:
    """Every path in ``value``, containers included (so whole sections get replaced too)."""
    if path:
        yield path
    if isinstance(value, dict):
        for key, item in value.items():
            yield from leaf_paths(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from leaf_paths(item, (*path, index))


def replaced(document: Any, path: tuple[str | int, ...], value: object) -> Any:
    changed = copy.deepcopy(document)
    target = changed
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = copy.deepcopy(value)
    return changed


def mutations(document: Any) -> Iterator[Any]:
    yield document
    for path in leaf_paths(document):
        for value in HOSTILE:
            yield replaced(document, path, value)


def agree(
    resource: str, package: str, python: Draft202012Validator, document: Any, *, formats: bool
) -> tuple[bool, bool]:
    fast = schemacheck.certainly_valid(package, resource, document, formats=formats)
    assert fast is not None, "jsonschema-rs is installed with the test extra; expected a verdict"
    slow = python.is_valid(document)
    return fast, slow


def check_all(
    package: str, resource: str, documents: Iterator[Any], *, formats: bool
) -> tuple[int, int]:
    """(invalid to Python, checked); fails where jsonschema-rs passes what Python refuses."""
    schema = schemacheck.shipped_schema(package, resource)
    python = Draft202012Validator(schema, format_checker=FormatChecker() if formats else None)
    invalid = checked = 0
    for document in documents:
        fast, slow = agree(resource, package, python, document, formats=formats)
        assert slow or not fast, f"jsonschema-rs passed what jsonschema refuses: {document!r}"
        invalid += not slow
        checked += 1
    return invalid, checked


def test_manifest_schema_verdicts_agree() -> None:
    # The ready example trimmed to one agent keeps the walk to a few thousand documents.
    data = ready_data()
    invalid, checked = check_all(
        PACKAGE, "schemas/manifest.schema.json", mutations(data), formats=True
    )
    # The walk must reach the schema's refusals, or it proves nothing.
    assert invalid > checked // 2


@pytest.mark.parametrize("suite", sorted(path.stem for path in SUITES.glob("*.yaml")))
def test_case_schema_verdicts_agree(suite: str) -> None:
    document = yaml.safe_load((SUITES / f"{suite}.yaml").read_text(encoding="utf-8"))
    # Two cases are enough to reach every field of the case schema.
    document["cases"] = document["cases"][:2]
    invalid, checked = check_all(
        PACKAGE + ".adversarial", "case.schema.json", mutations(document), formats=False
    )
    assert invalid > checked // 2


def test_lock_schema_verdicts_agree() -> None:
    lock = json.loads((EXAMPLES / "support-triage" / "agent-readiness.lock").read_text("utf-8"))
    invalid, checked = check_all(
        PACKAGE, "schemas/lock.schema.json", mutations(lock), formats=False
    )
    assert invalid > checked // 3


def test_values_jsonschema_rs_cannot_read_get_no_fast_verdict() -> None:
    # A non-text key has no JSON form; the YAML loader refuses them, but the verdict must not
    # raise if one arrives from elsewhere.
    assert schemacheck.certainly_valid(PACKAGE, "schemas/lock.schema.json", {1: 2}) is None


@pytest.fixture
def without_jsonschema_rs(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    schemacheck._fast_validator.cache_clear()
    monkeypatch.setitem(sys.modules, "jsonschema_rs", None)
    yield
    schemacheck._fast_validator.cache_clear()


@pytest.mark.usefixtures("without_jsonschema_rs")
def test_without_jsonschema_rs_the_python_validator_decides(project: Project) -> None:
    assert schemacheck.certainly_valid(PACKAGE, "schemas/lock.schema.json", {}) is None
    data = ready_data()
    data["agents"]["triage-bot"]["owner"]["name"] = 42
    project.write(data)
    with pytest.raises(ManifestError, match=r"agents\.triage-bot\.owner\.name"):
        load_manifest(project.manifest_path)
    project.write(ready_data())
    assert load_manifest(project.manifest_path).agents
    assert corpus.load_builtin_suites()


# --- anchoring: a trailing newline never passes a pattern ------------------------------------
# In Python's `re` (jsonschema's `re.search`) a final `$` also matches before a final newline;
# in jsonschema-rs it does not. So `bot` and `bot\n` were two valid, identical-looking agents.
# Every shipped pattern ends with `(?!\n)$`, which both read as "the very end".

SCHEMAS = [
    (PACKAGE, "schemas/manifest.schema.json"),
    (PACKAGE, "schemas/lock.schema.json"),
    (PACKAGE, "schemas/scorecard.schema.json"),
    (PACKAGE + ".adversarial", "case.schema.json"),
]

# One value each pattern accepts; a new pattern without an entry here fails the test below.
PATTERN_SAMPLES = {
    "^[A-Za-z0-9][A-Za-z0-9._-]*(?!\\n)$": "triage-bot",
    "^[0-9]{4}-[0-9]{2}-[0-9]{2}(?!\\n)$": "2026-11-25",
    (
        "^([^<>@\\r\\n]+ <[^<>@\\s]+@[^<>@\\s]+\\.[^<>@\\s]+>"
        "|[^<>@\\s]+@[^<>@\\s]+\\.[^<>@\\s]+)(?!\\n)$"
    ): "Dana Reyes <dana@example.com>",
    "^(0|[1-9][0-9]*)\\.(0|[1-9][0-9]*)\\.(0|[1-9][0-9]*)(-[0-9A-Za-z.-]+)?(?!\\n)$": "3.2.0-rc.1",
    "^[1-9][0-9]*(s|m|h|d)(?!\\n)$": "10m",
    "^[a-z][a-z0-9_]*(?!\\n)$": "prompt_injection",
    "^[A-Z][A-Z0-9]*-[0-9]{3}(?!\\n)$": "DQ-002",
    "^[0-9a-f]{64}(?!\\n)$": "0123456789abcdef" * 4,
    "^[^\\n]*\\S[^\\n]*(?!\\n)$": "one line of text",
    (
        "^(<placeholder:(any_tool|read_tool|write_tool|approval_tool|undeclared"
        "(:[A-Za-z_][A-Za-z0-9_.:/-]*)?)>|[A-Za-z_][A-Za-z0-9_.:/-]*)(?!\\n)$"
    ): "<placeholder:undeclared:shell.exec>",
    "^[A-Z][A-Z0-9]*(-[A-Z0-9]+)+(?!\\n)$": "PI-001",
    "^\\S{8,}(?!\\n)$": "CANARY-JB-001-4a8d",
}


def shipped_patterns() -> set[str]:
    found: set[str] = set()

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("pattern"), str):
                found.add(node["pattern"])
            found.update(node.get("patternProperties", {}))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    for package, resource in SCHEMAS:
        walk(schemacheck.shipped_schema(package, resource))
    return found


def test_every_shipped_pattern_has_a_sample() -> None:
    assert shipped_patterns() == set(PATTERN_SAMPLES)


@pytest.mark.parametrize(("pattern", "sample"), sorted(PATTERN_SAMPLES.items()))
def test_no_pattern_accepts_a_trailing_newline_in_either_validator(
    pattern: str, sample: str
) -> None:
    import jsonschema_rs

    as_value = {"type": "string", "pattern": pattern}
    as_name = {"type": "object", "propertyNames": as_value}
    for schema, wrap in [(as_value, lambda v: v), (as_name, lambda v: {v: 1})]:
        python = Draft202012Validator(schema)
        fast = jsonschema_rs.Draft202012Validator(schema)
        assert python.is_valid(wrap(sample)) and fast.is_valid(wrap(sample)), sample
        for bad in (sample + "\n", sample + "\n\n", "\n" + sample, sample + "\r\n"):
            assert not python.is_valid(wrap(bad)), (pattern, bad)
            assert not fast.is_valid(wrap(bad)), (pattern, bad)


def test_an_agent_name_with_a_trailing_newline_is_refused(project: Project) -> None:
    data = ready_data()
    data["agents"]["triage-bot\n"] = copy.deepcopy(data["agents"]["triage-bot"])
    data["agents"]["triage-bot"]["tools"]["crm.reply\n"] = {"access": "read"}
    data["agents"]["triage-bot"]["prompts"][0]["version"] = "3.2.0\n"
    project.write(data)
    with pytest.raises(ManifestError) as raised:
        load_manifest(project.manifest_path)
    message = str(raised.value)
    assert "got the string 'triage-bot\\n'" in message
    assert "got the string 'crm.reply\\n'" in message
    assert "agents.triage-bot.prompts[0].version: expected a semantic version" in message


def test_a_lock_version_with_a_trailing_newline_is_refused(tmp_path: Path) -> None:
    from pytest_agent_readiness.lock import LockError, read_lock

    lock = json.loads((EXAMPLES / "support-triage" / "agent-readiness.lock").read_text("utf-8"))
    entry = lock["prompts"]["prompts/triage.md"]
    entry["history"]["3.1.0\n"] = entry["history"].pop("3.1.0")
    (tmp_path / "agent-readiness.lock").write_text(json.dumps(lock, indent=2))
    with pytest.raises(LockError, match="does not match"):
        read_lock(tmp_path / "agent-readiness.lock")


def test_a_case_id_with_a_trailing_newline_is_refused(tmp_path: Path) -> None:
    document = yaml.safe_load((SUITES / "jailbreak.yaml").read_text(encoding="utf-8"))
    document["cases"] = document["cases"][:1]
    document["cases"][0]["id"] = "JB-001\n"
    (tmp_path / "jailbreak.yaml").write_text(yaml.safe_dump(document), encoding="utf-8")
    with pytest.raises(corpus.CorpusError, match="a case id such as PI-001"):
        corpus.load_suite_file(tmp_path / "jailbreak.yaml")
