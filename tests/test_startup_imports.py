"""A `pytest --readiness` run loads what it uses and nothing else: every module it imports is
start-up cost paid on every run (compiled afresh where the bytecode cache is off)."""

from __future__ import annotations

import pytest

from test_adversarial_run import setup as write_toy_project

pytest_plugins = ["pytester"]

# Written into the project as a plugin: the modules loaded when the run is over.
RECORDER = """
import sys

import pytest


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config):
    with open("loaded-modules.txt", "w", encoding="utf-8") as out:
        out.write("\\n".join(sorted(sys.modules)))
"""

# What a run that prints only the terminal summary must not load, and why it is elsewhere.
NOT_LOADED = {
    "requests": "the GitHub client's HTTP library (the CLI posts comments, a run does not)",
    "pytest_agent_readiness.github": "the GitHub client",
    "pytest_agent_readiness.cli": "the command line (a run writing reports loads it)",
    "jsonschema": "wording of schema errors, for a document that is not valid",
    "pytest_agent_readiness.importers": "red-team imports, when the manifest declares some",
    "pytest_agent_readiness.reports.markdown": "a renderer asked for by --readiness-report",
    "pytest_agent_readiness.reports.html": "a renderer asked for by --readiness-report",
    "pytest_agent_readiness.reports.junit": "a renderer asked for by --readiness-report",
    "junit_xml": "the JUnit renderer's library",
    "pytest_agent_readiness.reports.sarif": "a renderer asked for by --readiness-report",
    "pytest_agent_readiness.reports.annotations": "a renderer asked for by --readiness-report",
    "pytest_agent_readiness.reports.badge": "a renderer asked for by --readiness-report",
    "pytest_agent_readiness.diff": "the scorecard diff (markdown against a base)",
    "pytest_agent_readiness.integrations": "framework integrations, for the adapters that use them",
    "pydantic_ai": "a framework the project does not use",
    "agents": "a framework the project does not use (OpenAI Agents SDK)",
    "langgraph": "a framework the project does not use",
    "langchain_core": "a framework the project does not use",
    "asyncio": "an event loop, for an agent that returns a coroutine",
    "pytest_agent_readiness.flag_server": "the http kill switch's flag server",
    "http.server": "the http kill switch's flag server",
    "pickle": "the inputs an xdist controller hands its workers",
}


def loaded_by_a_run(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, *args: str, adapter: bool = True
) -> set[str]:
    """The modules a subprocess ``pytest --readiness`` run on the toy project had loaded at its
    end, with only this plugin (no other installed plugin loads anything of its own). Without
    ``adapter`` the run drives no probe and no case."""
    write_toy_project(pytester, {"suites": ["tool_misuse"], "min_pass_rate": 1.0}, adapter=adapter)
    pytester.makepyfile(loaded_modules=RECORDER)
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    # Coverage measuring the child (this project's test command measures subprocesses) would
    # load modules of its own, pickle among them.
    monkeypatch.delenv("COVERAGE_PROCESS_CONFIG", raising=False)
    result = pytester.runpytest_subprocess(
        *("-p", "agent_readiness", "-p", "loaded_modules", "--readiness"),
        *("--readiness-as-of=2026-11-25", "-rA", *args),
    )
    # The run did its work: probes, cases and the verdict.
    if adapter:
        result.stdout.fnmatch_lines(["*agent-readiness.yaml::toy::probe-kill-switch*"])
        result.stdout.fnmatch_lines(["*agent-readiness.yaml::toy::adversarial-tool_misuse::*"])
    result.stdout.fnmatch_lines(["*VERDICT: *"])
    return set((pytester.path / "loaded-modules.txt").read_text(encoding="utf-8").split())


def test_a_run_loads_no_renderer_client_importer_or_framework(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    loaded = loaded_by_a_run(pytester, monkeypatch)
    assert {"pytest_agent_readiness.session", "pytest_agent_readiness.probes"} <= loaded
    assert "pytest_agent_readiness.adversarial.oracles" in loaded  # a case ran
    unexpected = {
        name: why
        for name, why in NOT_LOADED.items()
        if any(module == name or module.startswith(f"{name}.") for module in loaded)
    }
    assert not unexpected, unexpected


def test_a_run_that_drives_no_case_reads_the_suites_without_their_oracles(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    loaded = loaded_by_a_run(pytester, monkeypatch, adapter=False)
    assert "pytest_agent_readiness.adversarial.corpus" in loaded  # the declared suite was read
    assert "pytest_agent_readiness.adversarial.oracles" not in loaded
    assert "pytest_agent_readiness.adversarial.runner" not in loaded


def test_a_run_writing_a_report_loads_its_renderer_only(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    loaded = loaded_by_a_run(pytester, monkeypatch, "--readiness-report=sarif=report.sarif")
    assert "pytest_agent_readiness.reports.sarif" in loaded
    assert "pytest_agent_readiness.reports.markdown" not in loaded
    assert "pytest_agent_readiness.reports.junit" not in loaded


LOADERS = """
import sys

import pytest


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config):
    with open("loaders.txt", "w", encoding="utf-8") as out:
        for name, module in sorted(sys.modules.items()):
            if name.startswith("pytest_agent_readiness"):
                out.write(f"{name} {type(module.__loader__).__name__}\\n")
"""


def test_pytest_imports_the_package_without_rewriting_its_assertions(
    pytester: pytest.Pytester,
) -> None:
    # Installed plugins load as a user's run loads them (pytest marks the package for rewriting).
    write_toy_project(pytester, {"suites": ["tool_misuse"], "min_pass_rate": 1.0})
    pytester.makepyfile(record_loaders=LOADERS)
    result = pytester.runpytest_subprocess(
        "-p", "record_loaders", "--readiness", "--readiness-as-of=2026-11-25"
    )
    result.stdout.fnmatch_lines(["*VERDICT: *"])
    lines = (pytester.path / "loaders.txt").read_text(encoding="utf-8").splitlines()
    loaders = dict(line.split(" ", 1) for line in lines)
    # The conftest's import of the harness and everything the session imports came later than
    # the plugin's registration, so pytest's own import machinery compiled none of them.
    for module in ("harness", "session", "probes", "spans", "catalogue", "yamlsource"):
        assert loaders[f"pytest_agent_readiness.{module}"] == "SourceFileLoader", loaders
