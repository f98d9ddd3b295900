"""What the static part of a run (check and gate items, scoring) does for speed keeps what
pytest and the user see: the items' locations, and the garbage collector."""

from __future__ import annotations

import gc
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import READY_EXAMPLE, ready_data

pytest_plugins = ["pytester"]

AS_OF = "--readiness-as-of=2026-11-25"
# The example without its adapter runs no suite, so it is not ready: judged either way.
JUDGED = (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED)

# Records, for every readiness check and gate item, the location the item reports and the one
# pytest's own Item.location works out, and whether the collector is on when each test runs.
RECORDING_CONFTEST = """
import gc
import json

import pytest

from pytest_agent_readiness.nodes import CheckItem, GateItem

seen = {"locations": [], "collector": {}}


def pytest_collection_finish(session):
    for item in session.items:
        if isinstance(item, (CheckItem, GateItem)):
            pytests_own = pytest.Item.location.func(item)
            seen["locations"].append([item.nodeid, list(item.location), list(pytests_own)])


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_collection_modifyitems(items):
    # After the readiness session's own ordering: one user test runs after the check items.
    result = yield
    last = [item for item in items if item.name == "test_after_the_checks"]
    items[:] = [item for item in items if item not in last] + last
    return result


def pytest_runtest_call(item):
    seen["collector"][item.nodeid] = gc.isenabled()


def pytest_sessionfinish(session):
    with open("recorded.json", "w", encoding="utf-8") as out:
        json.dump(seen, out)
"""


def _project(pytester: pytest.Pytester, folder: str) -> Path:
    """The ready manifest (no adapter: static checks only) in ``folder`` of a pytester project."""
    where = pytester.path / folder
    where.mkdir(parents=True, exist_ok=True)
    shutil.copytree(READY_EXAMPLE / "prompts", where / "prompts")
    shutil.copy(READY_EXAMPLE / "agent-readiness.lock", where / "agent-readiness.lock")
    data: dict[str, Any] = ready_data()
    del data["agents"]["triage-bot"]["adapter"]
    manifest = where / "agent-readiness.yaml"
    manifest.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return manifest


@pytest.mark.parametrize("run_in", [".", "policy"])
def test_check_items_report_the_location_pytest_would(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, run_in: str
) -> None:
    # In a sub-folder, so the location's path is relative to the rootdir, not the bare name;
    # run from there too, where pytest makes the path absolute against another directory.
    manifest = _project(pytester, "policy")
    pytester.makeconftest(RECORDING_CONFTEST)
    pytester.makepyfile(test_user="def test_user():\n    pass\n")
    monkeypatch.chdir(pytester.path / run_in)
    result = pytester.runpytest(
        "--readiness", f"--readiness-manifest={manifest}", f"--rootdir={pytester.path}", AS_OF
    )
    assert result.ret in JUDGED, result.stdout.str()
    recorded = json.loads((pytester.path / run_in / "recorded.json").read_text(encoding="utf-8"))
    locations = recorded["locations"]
    assert len(locations) > 20  # every check of the agent, and the gate
    assert all(ours == pytests for _, ours, pytests in locations), locations


def test_the_collector_runs_for_the_users_tests_and_after_the_run(
    pytester: pytest.Pytester,
) -> None:
    _project(pytester, ".")
    pytester.makeconftest(RECORDING_CONFTEST)
    pytester.makepyfile(
        test_user="def test_user():\n    pass\n\n\ndef test_after_the_checks():\n    pass\n"
    )
    assert gc.isenabled()
    result = pytester.runpytest_inprocess("--readiness", AS_OF)
    assert result.ret in JUDGED, result.stdout.str()
    # Held only while the check and gate items report and the scorecard is built, never past
    # the run (this test process's own collector is the one the run paused).
    assert gc.isenabled()
    recorded = json.loads((pytester.path / "recorded.json").read_text(encoding="utf-8"))
    assert recorded["collector"] == {
        "test_user.py::test_user": True,
        "test_user.py::test_after_the_checks": True,
    }
    assert list(recorded["collector"])[-1] == "test_user.py::test_after_the_checks"
