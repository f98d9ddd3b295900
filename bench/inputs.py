"""The benchmark's inputs, generated into a scratch directory: test suites, manifests, cases.

Plain module: no pytest import, so it can be imported by ``bench/run.py`` before any pytest run.
"""

from __future__ import annotations

import copy
import hashlib
import pprint
import tempfile
import textwrap
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parent.parent
READY_EXAMPLE = REPO / "examples" / "support-triage"
AS_OF = "2026-11-25"

# The same ini for every generated project, so rootdir is the project and not the repository
# (whose pyproject adds -p pytester and filterwarnings=error to every run).
PYTEST_INI = "[pytest]\naddopts = -p no:randomly -p no:cacheprovider\n"


# The pytest plugins a benchmark keeps: this one, and pytest-xdist for the xdist rows. Every
# other plugin installed in the environment (pytest-cov, pytest-randomly, LangSmith's, which
# LangGraph brings and which cost about 0.8 s CPU a start here with bytecode off) is disabled
# on both sides of every row: neither the plugin nor its floor should pay for it.
KEPT_PLUGINS = frozenset({"agent_readiness", "xdist", "xdist.looponfail"})


@cache
def other_plugins() -> tuple[str, ...]:
    """The installed pytest plugins (``pytest11`` entry points) a benchmark disables, looked up
    once (every side's command line and the header use them)."""
    return tuple(sorted({ep.name for ep in entry_points(group="pytest11")} - KEPT_PLUGINS))


def other_plugins_off() -> tuple[str, ...]:
    """``-p no:NAME`` for each of :func:`other_plugins`."""
    return tuple(arg for name in other_plugins() for arg in ("-p", f"no:{name}"))


@dataclass(frozen=True)
class Sizes:
    """How big each generated input is; ``--quick`` uses smaller ones."""

    trivial_tests: int
    agents: int
    tools_per_agent: int
    adversarial_cases: int
    # CPU work the stub agent does per call, in milliseconds on this machine (0: none, the
    # issue's stub). More shows how the runner scales when a case costs what a guard costs.
    stub_work_ms: float = 0.0
    # The xdist rows' workload: cases that do real work, as a guard or a model call does (a
    # do-nothing case costs less than pytest-xdist's own hand-over of its reports).
    xdist_cases: int = 600
    xdist_work_ms: float = 20.0


FULL = Sizes(trivial_tests=5_000, agents=200, tools_per_agent=20, adversarial_cases=5_000)
QUICK = Sizes(
    trivial_tests=500,
    agents=20,
    tools_per_agent=20,
    adversarial_cases=500,
    xdist_cases=100,
    xdist_work_ms=5.0,
)

TESTS_PER_MODULE = 100
REDTEAM_RESULTS = "redteam/promptfoo-results.json"


def in_workdir(keep: Path | None, prefix: str, run: Callable[[Path], int]) -> int:
    """``run`` in ``keep`` (made if missing, and kept) or in a scratch directory removed after."""
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
        return run(keep.resolve())
    with tempfile.TemporaryDirectory(prefix=prefix) as scratch:
        return run(Path(scratch))


def write_project(root: Path) -> Path:
    """An empty project directory with its own pytest.ini."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "pytest.ini").write_text(PYTEST_INI, encoding="utf-8")
    return root


def write_trivial_tests(root: Path, count: int) -> None:
    """``count`` tests that assert nothing, ``TESTS_PER_MODULE`` functions per module."""
    tests = root / "tests"
    tests.mkdir(parents=True, exist_ok=True)
    for module in range(0, count, TESTS_PER_MODULE):
        names = range(module, min(module + TESTS_PER_MODULE, count))
        body = "".join(f"def test_{n:05d}() -> None:\n    pass\n\n\n" for n in names)
        (tests / f"test_trivial_{module // TESTS_PER_MODULE:03d}.py").write_text(
            body.rstrip() + "\n", encoding="utf-8"
        )


def _agent(template: dict[str, Any], index: int, tools: int) -> dict[str, Any]:
    """The ready example's agent, renamed, without an adapter, with ``tools`` tools."""
    agent = copy.deepcopy(template)
    # Static checks only: no adapter means no run-time probes.
    agent.pop("adapter", None)
    agent["description"] = f"Generated agent {index} for the readiness benchmark."
    autonomous: list[str] = []
    approved: list[str] = []
    declared: dict[str, dict[str, Any]] = {}
    for number in range(tools):
        decision = f"action_{number:02d}"
        if number % 4 == 3:
            declared[f"svc{number:02d}.write"] = {
                "access": "write",
                "approval": "required",
                "decision": decision,
            }
            approved.append(decision)
        else:
            declared[f"svc{number:02d}.read"] = {"access": "read", "decision": decision}
            autonomous.append(decision)
    agent["tools"] = declared
    agent["decisions"] = {"autonomous": autonomous, "human_approval": approved}
    # Without an adapter nothing runs the adversarial suites: the fleet brings its red-team
    # results from promptfoo instead, as a team that runs it in another job would.
    agent["adversarial"] = {
        "suites": ["prompt_injection"],
        "imports": [{"tool": "promptfoo", "path": REDTEAM_RESULTS, "suite": "prompt_injection"}],
        "min_pass_rate": 1.0,
    }
    return agent


def manifest_data(agents: int, tools: int) -> dict[str, Any]:
    """A manifest of ``agents`` complete agents with ``tools`` tools each (dates as strings)."""
    text = (READY_EXAMPLE / "agent-readiness.yaml").read_text(encoding="utf-8")
    ready: dict[str, Any] = yaml.load(text, Loader=_StringDates)
    template = ready["agents"]["triage-bot"]
    return {
        "version": ready["version"],
        "project": "bench-fleet",
        "gate": ready["gate"],
        "agents": {f"agent-{i:03d}": _agent(template, i, tools) for i in range(agents)},
    }


class _StringDates(yaml.SafeLoader):
    """safe_load, but dates stay the strings they were written as (so they dump unchanged)."""


def _date_text(loader: yaml.SafeLoader, node: yaml.Node) -> str:
    if not isinstance(node, yaml.ScalarNode):
        raise TypeError(f"line {node.start_mark.line + 1}: expected a date, got {node.tag}")
    return str(loader.construct_scalar(node))


_StringDates.add_constructor("tag:yaml.org,2002:timestamp", _date_text)


def write_manifest(root: Path, agents: int, tools: int) -> Path:
    """The generated manifest with what a complete fleet keeps next to it: the prompt file its
    agents point at, the prompt lock and the imported red-team results. Returns the manifest."""
    prompts = root / "prompts"
    prompts.mkdir(parents=True, exist_ok=True)
    for prompt in (READY_EXAMPLE / "prompts").iterdir():
        (prompts / prompt.name).write_bytes(prompt.read_bytes())
    # Every generated agent uses the example's prompt at its version, so its lock fits them all.
    lock = READY_EXAMPLE / "agent-readiness.lock"
    (root / "agent-readiness.lock").write_bytes(lock.read_bytes())
    results = root / REDTEAM_RESULTS
    results.parent.mkdir(parents=True, exist_ok=True)
    results.write_bytes(
        (REPO / "tests" / "data" / "redteam" / "promptfoo-eval-pass.json").read_bytes()
    )
    path = root / "agent-readiness.yaml"
    path.write_text(yaml.safe_dump(manifest_data(agents, tools), sort_keys=False), encoding="utf-8")
    return path


# -- guardrail-mode adversarial suites ------------------------------------------------------

STUB_AGENT = textwrap.dedent(
    '''\
    """A stub agent for the adversarial benchmark: refuses anything, calls no tool."""

    from __future__ import annotations

    import hashlib
    from collections.abc import Callable

    # Hash rounds per call: the benchmark's --stub-work-ms, calibrated when it was written.
    ROUNDS = {rounds}


    def no_one(state: str, detail: str) -> None:
        """Where the floor's stub escalates: it has no harness to hand a case to."""


    def answer(task: str, escalate: Callable[[str, str], None] = no_one) -> str:
        """The same constant refusal whatever the task, handed to a human (the cost under test
        is the runner's): its guardrails hold against every case, so neither side pays for
        reporting failures."""
        digest = task.encode()
        for _ in range(ROUNDS):
            digest = hashlib.sha256(digest).digest()
        escalate("low_confidence", "refused")
        return "I can't help with that; escalating to a human."
    '''
)


def hash_rounds(milliseconds: float) -> int:
    """How many sha256 rounds of the stub take ``milliseconds`` of CPU here (0 for none)."""
    if milliseconds <= 0:
        return 0
    rounds, started = 20_000, time.process_time()
    digest = b"calibrate"
    for _ in range(rounds):
        digest = hashlib.sha256(digest).digest()
    per_ms = rounds / max((time.process_time() - started) * 1000, 1e-3)
    return max(1, round(per_ms * milliseconds))


# The floor of a case: a bare parametrized test, the cases written inline as a Python literal
# (nothing parsed at run time), making the same stub call and canary check the runner makes.
INLINE_CASES_TEST = '''\
"""The floor: one bare parametrized test per case, the cases inline, doing the stub call."""

from __future__ import annotations

import pytest

from stub_agent import answer

CASES = {cases}


@pytest.mark.parametrize("case", CASES, ids=[case["id"] for case in CASES])
def test_case(case: dict[str, object]) -> None:
    output = answer(str(case["input"]))
    assert not any(str(canary) in output for canary in case.get("canaries", []))
'''
FLOOR_TEST = "tests/test_cases.py"


def inline_cases_test(cases: list[dict[str, Any]]) -> str:
    """The floor's test module with ``cases`` inline."""
    return INLINE_CASES_TEST.replace("{cases}", pprint.pformat(cases, width=100, sort_dicts=False))


ADVERSARIAL_CONFTEST = textwrap.dedent(
    '''\
    """The stub agent behind the readiness adapter the guardrail runner drives."""

    from __future__ import annotations

    from stub_agent import answer

    from pytest_agent_readiness import AgentHandle, Harness, adapter


    @adapter("stub")
    def stub(harness: Harness) -> AgentHandle:
        return AgentHandle(run=lambda task: answer(task, harness.escalate_to_owner))
    '''
)

CASES_PER_SUITE_FILE = 500


def adversarial_cases(count: int) -> list[dict[str, Any]]:
    """``count`` cases: the built-in cases cycled, each with a fresh id and canary."""
    builtin = REPO / "src" / "pytest_agent_readiness" / "adversarial" / "suites"
    templates = [
        case
        for path in sorted(builtin.glob("*.yaml"))
        for case in yaml.safe_load(path.read_text(encoding="utf-8"))["cases"]
    ]
    cases: list[dict[str, Any]] = []
    for number in range(count):
        case = copy.deepcopy(templates[number % len(templates)])
        old_id = str(case["id"])
        case["id"] = f"BENCH-{number:05d}"
        # Canaries and the attack text mention the old id; keep every case's canary unique.
        dumped = yaml.safe_dump(case, sort_keys=False).replace(old_id, case["id"])
        cases.append(yaml.safe_load(dumped))
    return cases


def write_adversarial_projects(
    root: Path, count: int, stub_work_ms: float = 0.0
) -> tuple[Path, Path]:
    """(readiness project, bare-pytest project) over the same ``count`` cases and stub agent:
    the cases in suite files for the plugin, inline in the floor's test module.

    Written once per ``root``, ``count`` and work: the benchmarks that share them reuse them.
    """
    projects = (root / "adversarial-readiness", root / "bare-cases")
    done = root / f".written-{count}-{stub_work_ms:g}"
    if done.exists():
        return projects
    cases = adversarial_cases(count)
    rounds = hash_rounds(stub_work_ms)
    for project in projects:
        write_project(project)
        stub = STUB_AGENT.replace("{rounds}", str(rounds))
        (project / "stub_agent.py").write_text(stub, encoding="utf-8")
        (project / "pytest.ini").write_text(PYTEST_INI + "pythonpath = .\n", encoding="utf-8")
    readiness, bare = projects
    suites = readiness / "suites"
    suites.mkdir(exist_ok=True)
    for start in range(0, count, CASES_PER_SUITE_FILE):
        number = start // CASES_PER_SUITE_FILE
        document = {
            "version": 1,
            "suite": f"bench_{number:02d}",
            "title": f"Benchmark suite {number}",
            "description": "Built-in cases, cycled and renumbered for the benchmark.",
            "cases": cases[start : start + CASES_PER_SUITE_FILE],
        }
        (suites / f"bench_{number:02d}.yaml").write_text(
            yaml.safe_dump(document, sort_keys=False), encoding="utf-8"
        )
    data = manifest_data(1, 4)
    agent = data["agents"]["agent-000"]
    agent["adapter"] = "stub"
    agent["adversarial"] = {
        "suites": [path.stem for path in sorted((readiness / "suites").glob("*.yaml"))],
        "suite_dirs": ["suites"],
        "min_pass_rate": 1.0,
    }
    write_manifest(readiness, 0, 0)
    (readiness / "agent-readiness.yaml").write_text(
        yaml.safe_dump(data, sort_keys=False), encoding="utf-8"
    )
    tests = readiness / "tests"
    tests.mkdir(exist_ok=True)
    (tests / "conftest.py").write_text(ADVERSARIAL_CONFTEST, encoding="utf-8")
    (bare / "tests").mkdir(exist_ok=True)
    (bare / FLOOR_TEST).write_text(inline_cases_test(cases), encoding="utf-8")
    done.touch()
    return readiness, bare
