"""pytest-xdist parity: every distribution mode writes the serial run's scorecard, byte for byte.

The serial baseline of each example runs once per module (pytest-randomly off, so it is the
canonical order); each xdist mode then runs in a fresh pytester project (pytest-randomly left as
installed, since order must not matter) and must give the same exit code and the same bytes.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from conftest import EXAMPLES

AS_OF = "--readiness-as-of=2026-11-25"


@dataclass(frozen=True)
class Mode:
    """One way to distribute a run: its pytest arguments and its test id."""

    name: str
    args: tuple[str, ...]


MODES = (
    Mode("n2", ("-n", "2")),
    Mode("n-auto", ("-n", "auto")),
    Mode("load", ("-n", "2", "--dist", "load")),
    Mode("loadgroup", ("-n", "2", "--dist", "loadgroup")),
    Mode("worksteal", ("-n", "2", "--dist", "worksteal")),
    # Beyond the list: with a third worker, work stealing gives the check items and the
    # gate a worker that ran no marked test and no probe; judged there, on that worker's share of
    # the evidence, the ready example scored 13/20 and the run exited 1 under a READY scorecard.
    Mode("n3-worksteal", ("-n", "3", "--dist", "worksteal")),
)
# Every bundled example: a folder of examples/ with a manifest.
PROJECTS = tuple(sorted(path.parent for path in EXAMPLES.glob("*/agent-readiness.yaml")))
# (example name, mode name) pairs known to differ from the serial run, each with a strict xfail
# mark naming the cause; none are known now.
KNOWN_DIFFERENT: dict[tuple[str, str], pytest.MarkDecorator] = {}


@dataclass(frozen=True)
class Outcome:
    """What a run leaves behind that must not depend on how it was distributed."""

    exit_code: int
    scorecard: bytes


def copy_example(example: Path, target: Path) -> None:
    """The example's files (no caches) into ``target``."""
    shutil.copytree(
        example,
        target,
        dirs_exist_ok=True,
        ignore=shutil.ignore_patterns("__pycache__", ".pytest_cache"),
    )


def run(pytester: pytest.Pytester, card_name: str, *args: str) -> Outcome:
    """``pytest --readiness`` in a subprocess over the project in ``pytester.path``."""
    card = pytester.path / card_name
    result = pytester.runpytest_subprocess(
        "--readiness", f"--readiness-json={card_name}", AS_OF, "-p", "no:cacheprovider", *args
    )
    assert card.is_file(), result.stdout.str()
    return Outcome(int(result.ret), card.read_bytes())


@pytest.fixture(scope="module")
def baselines() -> dict[str, Outcome]:
    """Serial outcomes by example name, filled on first use (one serial run per example)."""
    return {}


def cases() -> list[object]:
    """Every (example, mode) pair, the known differences marked as strict xfails."""
    table: list[object] = []
    for example in PROJECTS:
        for mode in MODES:
            known = KNOWN_DIFFERENT.get((example.name, mode.name))
            table.append(
                pytest.param(
                    example, mode, id=f"{example.name}-{mode.name}", marks=[known] if known else []
                )
            )
    return table


@pytest.mark.parametrize(("example", "mode"), cases())
def test_xdist_scorecard_is_byte_identical_to_serial(
    pytester: pytest.Pytester, baselines: dict[str, Outcome], example: Path, mode: Mode
) -> None:
    copy_example(example, pytester.path)
    if example.name not in baselines:
        baselines[example.name] = run(pytester, "serial.json", "-p", "no:randomly")
    expected = baselines[example.name]
    distributed = run(pytester, "distributed.json", *mode.args)
    assert distributed.exit_code == expected.exit_code
    assert distributed.scorecard == expected.scorecard


def test_local_workers_take_the_inputs_the_controller_loaded(pytester: pytest.Pytester) -> None:
    # Every worker parsing every suite again would cost each of them the controller's load time;
    # instead the controller hands them what it read. The worker records what it was given.
    copy_example(EXAMPLES / "support-triage", pytester.path)
    pytester.makeconftest(
        """
        import pickle

        def pytest_configure(config):
            given = getattr(config, "workerinput", {}).get("agent_readiness_loaded")
            if given is not None:
                manifest, suites, imported = pickle.loads(given)
                name = config.workerinput["workerid"]
                with open(f"given-{name}.txt", "w", encoding="utf-8") as out:
                    out.write(f"{sorted(manifest.agents)} {len(suites)}")
        """
    )
    result = pytester.runpytest_subprocess("--readiness", AS_OF, "-n", "2", "-p", "no:randomly")
    assert result.ret == 0, result.stdout.str()
    given = sorted(path.read_text(encoding="utf-8") for path in pytester.path.glob("given-*.txt"))
    assert given == ["['triage-bot'] 7", "['triage-bot'] 7"]


def test_inputs_that_cannot_be_pickled_leave_workers_to_read_the_files() -> None:
    from datetime import date

    from pytest_agent_readiness.checks import CheckRegistry
    from pytest_agent_readiness.manifest import load_manifest
    from pytest_agent_readiness.session import ReadinessSession

    readiness = ReadinessSession(
        config=None,  # type: ignore[arg-type]
        manifest=load_manifest(EXAMPLES / "support-triage" / "agent-readiness.yaml"),
        registry=CheckRegistry(),
        today=date(2026, 11, 25),
        json_path=None,
        manifest_file=EXAMPLES / "support-triage" / "agent-readiness.yaml",
        manifest_nodeid="agent-readiness.yaml",
        is_worker=False,
    )
    assert readiness.loaded_inputs() is not None
    readiness._loaded_inputs = None
    readiness.suites = {"odd": lambda: None}  # type: ignore[dict-item]
    assert readiness.loaded_inputs() is None


@pytest.mark.parametrize("verbosity", ["-q", "-v"])
def test_progress_under_xdist_counts_the_controllers_items(
    pytester: pytest.Pytester, verbosity: str
) -> None:
    # Workers leave the check and gate items to the controller; the progress total must still
    # count them, so it ends at 100% instead of running past it.
    copy_example(EXAMPLES / "support-triage", pytester.path)
    result = pytester.runpytest_subprocess(
        "--readiness", AS_OF, "-n", "2", "-p", "no:randomly", verbosity
    )
    assert result.ret == 0, result.stdout.str()
    percents = [int(p) for p in re.findall(r"\[\s*(\d+)%\]", result.stdout.str())]
    assert percents, result.stdout.str()
    assert max(percents) == 100 and percents[-1] == 100, percents
