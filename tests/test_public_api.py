"""The public API: `__all__` resolves, stays cheap to import, and the README lists it."""

from __future__ import annotations

import ast
import importlib
import re
import subprocess
import sys

import pytest

import pytest_agent_readiness
from conftest import REPO
from pytest_agent_readiness import hookspecs
from pytest_agent_readiness.names import FIXTURES, HOOK_CHECKS

SOURCE = REPO / "src" / "pytest_agent_readiness"


@pytest.mark.parametrize("name", pytest_agent_readiness.__all__)
def test_each_public_name_resolves(name: str) -> None:
    assert getattr(pytest_agent_readiness, name) is not None


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="has no attribute 'Nope'"):
        pytest_agent_readiness.Nope  # noqa: B018


def test_importing_the_package_loads_none_of_its_modules() -> None:
    loaded = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, pytest_agent_readiness; "
            "print(sorted(m for m in sys.modules if m.startswith('pytest_agent_readiness.')))",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert loaded == "[]"


def test_star_import_gives_every_public_name() -> None:
    namespace: dict[str, object] = {}
    exec("from pytest_agent_readiness import *", namespace)
    assert set(pytest_agent_readiness.__all__) <= set(namespace)


def test_fixtures_names_every_fixture_the_plugin_defines() -> None:
    tree = ast.parse((SOURCE / "fixtures.py").read_text(encoding="utf-8"))
    defined = sorted(
        node.name
        for node in tree.body
        if isinstance(node, ast.FunctionDef)
        and any(ast.unparse(d).startswith("pytest.fixture") for d in node.decorator_list)
    )
    assert list(FIXTURES) == defined


def test_hook_checks_names_the_hookspec() -> None:
    spec = getattr(hookspecs, HOOK_CHECKS)
    assert getattr(spec, "pytest_spec", None) is not None


def test_readme_lists_the_public_api() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Public API\n", 1)[1].split("\n## ", 1)[0]
    table = "\n".join(line for line in section.splitlines() if line.startswith("| `"))
    listed = set(
        re.findall(r"`([A-Za-z_]+)`", "\n".join(c.split("|")[1] for c in table.splitlines()))
    )
    assert listed == set(pytest_agent_readiness.__all__) - {"__version__"}
    for fixture in FIXTURES:
        assert f"`{fixture}`" in section


# The framework integrations' and the reference monitor's public names, as README's "Public
# API" lists them.
INTEGRATIONS = {
    "pytest_agent_readiness.monitor": ("wire_monitor", "ReferenceMonitor", "ReleaseRefused"),
    "pytest_agent_readiness.integrations": ("recording_double", "IntegrationUnavailable"),
    "pytest_agent_readiness.integrations.pydantic_ai": ("pydantic_ai_handle",),
    "pytest_agent_readiness.integrations.openai_agents": ("openai_agents_handle", "CancelSwitch"),
    "pytest_agent_readiness.integrations.langgraph": ("langgraph_handle", "InterruptNotAnswerable"),
}


@pytest.mark.parametrize(("module", "names"), INTEGRATIONS.items())
def test_each_integration_exports_and_the_readme_lists_its_public_names(
    module: str, names: tuple[str, ...]
) -> None:
    imported = importlib.import_module(module)
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Public API\n", 1)[1].split("\n## ", 1)[0]
    listed = next(item for item in section.split("\n- ") if item.startswith(f"`{module}`:"))
    for name in names:
        assert name in imported.__all__
        assert getattr(imported, name) is not None
        assert f"`{name}`" in listed
