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
