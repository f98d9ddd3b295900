"""GOV-010: agents the code builds with a supported framework, found by reading the source and
held against the manifest; written the way teams using each framework write their agents."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest

from conftest import READY_EXAMPLE, Project, copy_example, run_cli
from pytest_agent_readiness.registry_scan import (
    ConstructedAgent,
    match_key,
    scan_file,
    scan_repository,
    unregistered,
)

pytest_plugins = ["pytester"]

AS_OF = "--readiness-as-of=2026-11-25"


def found(source: str, **kwargs: Any) -> list[tuple[int, str, str | None, str]]:
    """(line, framework, name, how it was named) of each agent ``source`` builds."""
    agents = scan_file(textwrap.dedent(source).encode(), "app.py", **kwargs)
    return [(a.line, a.framework, a.name, a.named_by) for a in agents]


PYDANTIC = "PydanticAI Agent(...)"
SDK = "OpenAI Agents SDK Agent(...)"

BUILT = [
    pytest.param(
        """
        from pydantic_ai import Agent

        support_agent = Agent(
            "openai:gpt-4o",
            instructions="Be concise.",
            name="triage-bot",
        )
        """,
        [(4, PYDANTIC, "triage-bot", "name=")],
        id="pydantic-ai-name-literal",
    ),
    pytest.param(
        """
        import pydantic_ai as pai

        triage_bot = pai.Agent("openai:gpt-4o", system_prompt="Triage tickets.")
        """,
        [(4, PYDANTIC, "triage_bot", "variable")],
        id="pydantic-ai-module-alias-variable",
    ),
    pytest.param(
        """
        from pydantic_ai.agent import Agent as PAgent

        AGENT_NAME = "refund-agent"

        class Desk:
            def __init__(self, model):
                self.agent = PAgent(model, name=AGENT_NAME)
        """,
        [(8, PYDANTIC, "refund-agent", "name=")],
        id="pydantic-ai-constant-name-in-class",
    ),
    pytest.param(
        "import os, pydantic_ai\n\nbot = pydantic_ai.Agent('test')\n",
        [(3, PYDANTIC, "bot", "variable")],
        id="framework-after-another-module-on-the-import-line",
    ),
    pytest.param(
        """
        from agents import Agent as SdkAgent, Runner

        desk = SdkAgent(name="Refund Desk", instructions="Refund damaged orders.")
        Runner.run_sync(desk, "hi")
        """,
        [(4, SDK, "Refund Desk", "name=")],
        id="agents-sdk-alias",
    ),
    pytest.param(
        """
        import agents

        history_tutor = agents.Agent("History Tutor", handoff_description="history")
        """,
        [(4, SDK, "History Tutor", "name=")],
        id="agents-sdk-positional-name",
    ),
    pytest.param(
        """
        from langchain.agents import create_agent

        def build_weather_bot(model, tools):
            return create_agent(model, tools=tools, system_prompt="Weather only.")
        """,
        [(5, "LangChain create_agent(...)", "weather_bot", "function")],
        id="langchain-create-agent-factory",
    ),
    pytest.param(
        """
        from langgraph.prebuilt import create_react_agent

        graph = create_react_agent(model, tools=[search], name="research-agent")
        """,
        [(4, "LangGraph create_react_agent(...)", "research-agent", "name=")],
        id="langgraph-create-react-agent",
    ),
    pytest.param(
        """
        from pydantic_ai import Agent

        NAME = "first"
        NAME = "second"
        run(Agent("test", name=NAME))
        """,
        [(6, PYDANTIC, None, "unnamed")],
        id="reassigned-constant-and-no-variable-is-unnamed",
    ),
    pytest.param(
        """
        def later():
            from pydantic_ai import Agent
            return [Agent("test"), Agent("test", name=f"bot-{1}")]
        """,
        [(4, PYDANTIC, None, "unnamed"), (4, PYDANTIC, None, "unnamed")],
        id="local-import-unnamed",
    ),
]


@pytest.mark.parametrize(("source", "expected"), BUILT)
def test_agents_are_found_through_imports_and_named_by_the_rule(
    source: str, expected: list[tuple[int, str, str | None, str]]
) -> None:
    assert found(source) == expected


FALSE_FRIENDS = [
    pytest.param(
        """
        class Agent:
            def __init__(self, name):
                self.name = name

        support = Agent(name="support")
        """,
        id="own-class-called-agent",
    ),
    pytest.param("from myapp.agents import Agent\nbot = Agent(name='x')\n", id="own-package"),
    pytest.param("from crewai import Agent\nbot = Agent(role='x')\n", id="unsupported-framework"),
    pytest.param(
        "from langchain.agents import AgentExecutor\nrun = AgentExecutor(agent=a)\n",
        id="not-a-constructor",
    ),
    pytest.param(
        'from pydantic_ai import Agent\nDOC = "Agent(name=\'x\')"\n# Agent(name="y")\n',
        id="in-strings-and-comments",
    ),
    pytest.param(
        "import pydantic_ai\nagent = make()\nagent.Agent(name='x')\n", id="attribute-of-a-variable"
    ),
    pytest.param("from .agents import Agent\nbot = Agent(name='x')\n", id="relative-import"),
]


@pytest.mark.parametrize("source", FALSE_FRIENDS)
def test_a_call_that_is_no_framework_agent_is_not_one(source: str) -> None:
    assert found(source) == []


def test_a_local_module_named_like_a_framework_is_the_teams() -> None:
    source = "from agents import Agent\nbot = Agent(name='x')\n"
    assert found(source) != []
    assert found(source, local_modules={"agents"}) == []


def test_an_ignore_comment_needs_a_reason() -> None:
    source = textwrap.dedent(
        """
        from pydantic_ai import Agent

        judge = Agent("test", name="eval-judge")  # agent-readiness: ignore offline grader
        shadow = Agent(
            "test",
            name="shadow",
        )  # agent-readiness: ignore
        note = "# agent-readiness: ignore inside a string"; twin = Agent("test", name="twin")
        """
    ).encode()
    judge, shadow, twin = scan_file(source, "app.py")
    assert (judge.ignored, judge.ignore_without_reason) == ("offline grader", None)
    assert (shadow.ignored, shadow.ignore_without_reason) == (None, 8)
    assert (twin.ignored, twin.ignore_without_reason) == (None, None)


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("Triage Bot", "triage-bot"),
        ("triage_bot", "triage-bot"),
        ("REFUND--agent ", "refund-agent"),
    ],
)
def test_names_compare_by_letters_and_digits(name: str, key: str) -> None:
    assert match_key(name) == match_key(key)


def write(root: Path, relative: str, text: str) -> None:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")


AGENT_FILE = 'from pydantic_ai import Agent\nbot = Agent("test", name="{name}")\n'


def test_the_scan_skips_tests_environments_and_other_manifests_folders(tmp_path: Path) -> None:
    for relative in (
        "tests/test_bot.py",
        "tests/helpers.py",
        "conftest.py",
        "test_app.py",
        "app_test.py",
        ".venv/lib/python3.12/site-packages/lib.py",
        "env2/lib/site-packages/x.py",
        "node_modules/pkg/x.py",
        "build/lib/app.py",
        "dist/app.py",
        ".hidden/app.py",
        "services/other/app.py",
        "pkg.egg-info/x.py",
    ):
        write(tmp_path, relative, AGENT_FILE.format(name=relative))
    write(tmp_path, "env2/pyvenv.cfg", "home = /usr\n")
    write(tmp_path, "services/other/agent-readiness.yaml", "version: 1\n")
    write(tmp_path, "app/bots.py", AGENT_FILE.format(name="kept"))
    scan = scan_repository(tmp_path)
    assert [(a.file, a.name) for a in scan.agents] == [("app/bots.py", "kept")]
    assert (scan.files, scan.skipped, scan.incomplete) == (1, (), None)


def test_a_manifest_in_a_subfolder_sees_its_own_folder_and_unclaimed_code(tmp_path: Path) -> None:
    write(tmp_path, "services/refunds/agent-readiness.yaml", "version: 1\n")
    write(tmp_path, "services/refunds/bot.py", AGENT_FILE.format(name="refunds"))
    write(tmp_path, "services/triage/agent-readiness.yaml", "version: 1\n")
    write(tmp_path, "services/triage/bot.py", AGENT_FILE.format(name="triage"))
    write(tmp_path, "shared/bot.py", AGENT_FILE.format(name="shared"))
    scan = scan_repository(tmp_path, tmp_path / "services" / "refunds")
    assert sorted(a.name or "" for a in scan.agents) == ["refunds", "shared"]


def test_a_manifest_below_another_sees_only_its_own_folder(tmp_path: Path) -> None:
    write(tmp_path, "agent-readiness.yaml", "version: 1\n")
    write(tmp_path, "root_bot.py", AGENT_FILE.format(name="root"))
    write(tmp_path, "labs/agent-readiness.yaml", "version: 1\n")
    write(tmp_path, "labs/lab_bot.py", AGENT_FILE.format(name="lab"))
    assert [a.name for a in scan_repository(tmp_path, tmp_path / "labs").agents] == ["lab"]
    assert [a.name for a in scan_repository(tmp_path).agents] == ["root"]


def test_a_manifest_under_a_skipped_folder_still_sees_its_own_code(tmp_path: Path) -> None:
    write(tmp_path, "tests/frameworks/refunds/agent-readiness.yaml", "version: 1\n")
    write(tmp_path, "tests/frameworks/refunds/graph.py", AGENT_FILE.format(name="refunds"))
    write(tmp_path, "tests/frameworks/refunds/tests/double.py", AGENT_FILE.format(name="double"))
    write(tmp_path, "tests/helpers.py", AGENT_FILE.format(name="helper"))
    scan = scan_repository(tmp_path, tmp_path / "tests" / "frameworks" / "refunds")
    assert [a.name for a in scan.agents] == ["refunds"]


def test_a_file_that_does_not_parse_is_skipped_by_name_and_line(tmp_path: Path) -> None:
    write(tmp_path, "app/broken.py", "from pydantic_ai import Agent\nbot = Agent(\n")
    write(tmp_path, "app/nul.py", "import agents\nx = 1\0\n")
    # A file that names no framework cannot build an agent: it is not parsed, nor reported.
    write(tmp_path, "app/unrelated.py", "def (:\n")
    write(tmp_path, "app/good.py", AGENT_FILE.format(name="good"))
    scan = scan_repository(tmp_path)
    assert [a.name for a in scan.agents] == ["good"]
    assert len(scan.skipped) == 2
    assert scan.skipped[0].startswith("app/broken.py:2: does not parse:")
    # Python 3.12 calls a NUL byte a syntax error with a line; older ones a ValueError without.
    assert scan.skipped[1].startswith("app/nul.py") and "does not parse" in scan.skipped[1]


def test_a_scan_past_its_bound_says_so(tmp_path: Path) -> None:
    for index in range(3):
        write(tmp_path, f"app/m{index}.py", "x = 1\n")
    scan = scan_repository(tmp_path, max_files=2)
    assert scan.incomplete == "the scan stopped at 2 Python files"


def test_unregistered_is_what_no_manifest_key_names(tmp_path: Path) -> None:
    write(
        tmp_path,
        "app.py",
        """
        from pydantic_ai import Agent

        triage_bot = Agent("test")
        other = Agent("test", name="Billing Bot")
        Agent("test")
        quiet = Agent("test", name="quiet")  # agent-readiness: ignore a fixture for demos
        """,
    )
    strays = unregistered(scan_repository(tmp_path), ["triage-bot"])
    assert [(s.line, s.name) for s in strays] == [(5, "Billing Bot"), (6, None)]
    assert strays[0].describe() == "app.py:5 PydanticAI Agent(...) named 'Billing Bot'"
    assert strays[1].describe() == "app.py:6 PydanticAI Agent(...) with no name"
    assert isinstance(strays[0], ConstructedAgent)


# --- the check, on the ready manifest (agent triage-bot) with code written beside it


def gov_010(project: Project, data: dict[str, Any]) -> Any:
    score = project.assess(data).agents["triage-bot"]
    return next(r for r in score.results if r.check.id == "GOV-010")


def test_gov_010_passes_when_every_built_agent_is_declared(
    project: Project, data: dict[str, Any]
) -> None:
    write(project.root, "triage/bot.py", AGENT_FILE.format(name="triage-bot"))
    write(
        project.root,
        "triage/judge.py",
        'from pydantic_ai import Agent\nj = Agent("t")  # agent-readiness: ignore eval grader\n',
    )
    outcome = gov_010(project, data)
    assert (outcome.passed, outcome.level) == (True, "declared")
    assert "1 agent construction in 2 Python files, each declared" in outcome.reason
    assert "1 ignored (triage/judge.py:2: eval grader)" in outcome.reason


def test_gov_010_fails_naming_file_and_line_of_each_undeclared_agent(
    project: Project, data: dict[str, Any]
) -> None:
    write(project.root, "triage/bot.py", AGENT_FILE.format(name="triage-bot"))
    write(
        project.root,
        "billing/agent.py",
        """
        from agents import Agent as SdkAgent

        billing = SdkAgent(name="billing-desk", instructions="Answer billing questions.")
        helper = SdkAgent("x")  # agent-readiness: ignore
        """,
    )
    write(project.root, "broken.py", "from pydantic_ai import Agent\ndef (:\n")
    assessment = project.assess(data)
    outcome = next(r for r in assessment.agents["triage-bot"].results if r.check.id == "GOV-010")
    assert (outcome.passed, outcome.level, outcome.check.severity) == (False, "missing", "standard")
    assert outcome.reason.startswith(
        "2 agents in the code the manifest does not declare: billing/agent.py:4 OpenAI Agents "
        "SDK Agent(...) named 'billing-desk'; billing/agent.py:5 OpenAI Agents SDK Agent(...) "
        "named 'x' (its ignore comment on line 5 gives no reason)"
    )
    assert "not scanned: broken.py:2: does not parse" in outcome.reason
    assert outcome.line == project.load(data).line_of("agents")
    assert any(w.startswith("not scanned for agents: broken.py:2") for w in assessment.warnings)
    assert not assessment.verdict.ready


# --- the way users meet it: pytest --readiness and agent-readiness validate


UNDECLARED = """\
from pydantic_ai import Agent

BILLING = "billing-bot"


def build():
    return Agent("openai:gpt-4o", name=BILLING, instructions="Answer billing questions."){ignore}
"""


def card(pytester: pytest.Pytester) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((pytester.path / "card.json").read_text("utf-8"))
    return loaded


def test_pytest_readiness_fails_gov_010_on_an_undeclared_agent_and_an_ignore_lifts_it(
    pytester: pytest.Pytester,
) -> None:
    copy_example(pytester, READY_EXAMPLE)
    write(pytester.path, "billing/agent.py", UNDECLARED.format(ignore=""))
    args = ("--readiness", "--readiness-json=card.json", AS_OF, "-p", "no:randomly")
    result = pytester.runpytest_subprocess(*args)
    # A standard check: shown and scored (governance 4), not blocking on its own.
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()
    result.stdout.fnmatch_lines(
        [
            "VERDICT: READY (19/20)",
            "*triage-bot GOV-010 ?standard? agent-readiness.yaml:*(agents): 1 agent in the code "
            "the manifest does not declare: billing/agent.py:7 PydanticAI Agent(...) named "
            "'billing-bot'*",
        ]
    )
    (failed,) = [c for c in card(pytester)["agents"]["triage-bot"]["checks"] if not c["passed"]]
    assert failed["id"] == "GOV-010"

    write(
        pytester.path,
        "billing/agent.py",
        UNDECLARED.format(ignore="  # agent-readiness: ignore the billing demo, never deployed"),
    )
    result = pytester.runpytest_subprocess(*args)
    assert result.ret == 0, result.stdout.str()
    result.stdout.fnmatch_lines(["VERDICT: READY (20/20)"])


def test_validate_names_an_undeclared_agent_and_exits_1(pytester: pytest.Pytester) -> None:
    copy_example(pytester, READY_EXAMPLE)
    assert run_cli("validate", cwd=pytester.path).returncode == 0
    write(pytester.path, "billing/agent.py", UNDECLARED.format(ignore=""))
    write(pytester.path, "billing/broken.py", "import langgraph\ndef (:\n")
    result = run_cli("validate", cwd=pytester.path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stdout.splitlines() == [
        "agent-readiness.yaml: valid (1 agent)",
        "billing/broken.py:2: warning: not scanned for agents: does not parse: invalid syntax",
        "billing/agent.py:7: error: GOV-010 PydanticAI Agent(...) 'billing-bot' is not declared "
        "in agent-readiness.yaml; declare it under agents:, or mark the line "
        "`# agent-readiness: ignore <reason>`",
    ]


def test_a_gate_run_scans_the_code_once(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The evidence is judged again after every test; the scan must not be repeated with it."""
    from pytest_agent_readiness import registry_scan

    scanned: list[Path] = []
    real = registry_scan.scan_repository

    def counting(root: Path, *args: Any, **kwargs: Any) -> Any:
        scanned.append(root)
        return real(root, *args, **kwargs)

    monkeypatch.setattr(registry_scan, "scan_repository", counting)
    copy_example(pytester, READY_EXAMPLE)
    write(pytester.path, "triage_app.py", AGENT_FILE.format(name="triage-bot"))
    result = pytester.runpytest("--readiness", AS_OF, "-p", "no:randomly")
    result.stdout.fnmatch_lines(["VERDICT: READY (20/20)"])
    assert len(scanned) == 1


def test_a_name_from_the_code_is_printed_inertly() -> None:
    (stray,) = scan_file(
        b"from pydantic_ai import Agent\nAgent('t', name='x\\n::error::owned\\x1b[31m' + '')\n"
        b"bot = Agent('t', name='evil\\n::error file=a.py::injected')\n",
        "app.py",
    )[1:]
    assert "\n" not in stray.describe() and "\x1b" not in stray.describe()
    assert (
        stray.describe()
        == "app.py:3 PydanticAI Agent(...) named 'evil\ufffd::error file=a.py::injected'"
    )


REPO_ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(
    ("project_dir", "agents"),
    [
        ("examples/pydantic-ai-refunds", 1),
        ("tests/frameworks/agents_sdk", 1),
        ("tests/frameworks/langgraph", 1),
        ("examples/support-triage", 0),
        ("examples/unready-pilot", 0),
        ("examples/broken-kill-switch", 0),
    ],
)
def test_the_bundled_projects_declare_every_agent_they_build(project_dir: str, agents: int) -> None:
    from pytest_agent_readiness.manifest import load_manifest

    folder = REPO_ROOT / project_dir
    manifest = load_manifest(folder / "agent-readiness.yaml")
    # Scanned as their users hold them: each project is its repository's root.
    scan = scan_repository(folder)
    assert len(scan.agents) == agents, scan.agents
    assert unregistered(scan, manifest.agents) == []
    assert scan.skipped == ()


def test_an_agent_named_only_by_a_variable_that_is_not_its_key_is_unregistered(
    tmp_path: Path,
) -> None:
    # The way framework users often write it: `agent = Agent(...)`; the scan cannot tell which
    # manifest entry that is, so it says so (a standard check: shown, not blocking alone).
    write(
        tmp_path,
        "refunds/agent.py",
        """
        from pydantic_ai import Agent

        agent = Agent("test", instructions="Refund duplicate charges.")
        named = Agent("test", name="RefundAgent")
        """,
    )
    strays = unregistered(scan_repository(tmp_path), ["refund-agent"])
    assert [(s.file, s.line, s.name) for s in strays] == [("refunds/agent.py", 4, "agent")]


def test_a_literal_name_matches_its_key_whatever_the_case_and_separators(
    tmp_path: Path,
) -> None:
    write(
        tmp_path,
        "app.py",
        """
        from agents import Agent

        triage = Agent(name="RefundAgent")
        """,
    )
    assert unregistered(scan_repository(tmp_path), ["refund-agent", "billing"]) == []
    assert [s.name for s in unregistered(scan_repository(tmp_path), ["billing"])] == ["RefundAgent"]
