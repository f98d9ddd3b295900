"""Every location a report gives is a real file relative to the repository root, with the line.

The scorecard keeps three things apart: the manifest ``file`` (relative to the repository root),
the ``line``, and the ``document_path`` inside the manifest. Version 1 called the last one
``manifest_path`` and the renderers used it as a file name; version-1 files are still read.
"""

from __future__ import annotations

import copy
import json
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from _scorecards import REPO, UNREADY_MANIFEST, real_scorecard, sample_scorecard, validate
from conftest import UNREADY_EXAMPLE, Project
from pytest_agent_readiness.reports import render_annotations, render_junit, render_sarif
from pytest_agent_readiness.scorecard import (
    build_scorecard,
    dumps,
    load_scorecard,
    repository_path,
)

AS_OF = "--readiness-as-of=2026-11-25"
ANNOTATION = re.compile(r"::(?:error|warning|notice) (?P<properties>[^:]*)::")


def _unescape(value: str) -> str:
    for escaped, raw in (("%3A", ":"), ("%2C", ","), ("%0A", "\n"), ("%0D", "\r"), ("%25", "%")):
        value = value.replace(escaped, raw)
    return value


def annotation_locations(text: str) -> list[tuple[str, int | None]]:
    """(file, line) of every workflow command that names a file."""
    found = []
    for line in text.splitlines():
        match = ANNOTATION.match(line)
        assert match, line
        properties = dict(part.split("=", 1) for part in match["properties"].split(","))
        if "file" in properties:
            number = properties.get("line")
            found.append((_unescape(properties["file"]), int(number) if number else None))
    return found


def sarif_locations(text: str) -> list[tuple[str, int | None]]:
    """(uri, startLine) of every result; each relative uri is based on %SRCROOT%."""
    found = []
    for result in json.loads(text)["runs"][0]["results"]:
        for location in result["locations"]:
            physical = location["physicalLocation"]
            assert physical["artifactLocation"]["uriBaseId"] == "%SRCROOT%"
            found.append((physical["artifactLocation"]["uri"], physical["region"]["startLine"]))
    return found


def junit_locations(text: str) -> list[tuple[str, int | None]]:
    """(file, line) of every test case."""
    cases = ET.fromstring(text).iter("testcase")
    return [(case.attrib["file"], int(case.attrib.get("line", 0)) or None) for case in cases]


LOCATIONS = {
    "github": (render_annotations, annotation_locations),
    "sarif": (render_sarif, sarif_locations),
    "junit": (render_junit, junit_locations),
}


def assert_real(root: Path, locations: list[tuple[str, int | None]]) -> None:
    assert locations
    for file, line in locations:
        path = root / file
        assert path.is_file(), f"{file} is not a file under {root}"
        if line is not None:
            assert 1 <= line <= len(path.read_text(encoding="utf-8").splitlines()), (file, line)


# --- the scorecard's fields --------------------------------------------------------------------
def test_a_real_scorecard_names_the_file_the_line_and_the_place_apart() -> None:
    card = real_scorecard()

    owner = next(c for c in card["agents"]["refund-agent"]["checks"] if c["id"] == "GOV-001")

    assert card["schema_version"] == 2
    assert card["manifest"]["file"] == "examples/unready-pilot/agent-readiness.yaml"
    assert (owner["file"], owner["line"], owner["document_path"]) == (
        "examples/unready-pilot/agent-readiness.yaml",
        7,
        "agents.refund-agent.owner",
    )
    written = UNREADY_MANIFEST.read_text(encoding="utf-8").splitlines()[owner["line"] - 1]
    assert written.strip().startswith("owner:")


def test_the_hand_made_samples_have_the_shape_of_a_real_run(project: Project) -> None:
    # The renderer tests' samples are written by hand; a field a real run writes differently (a
    # file name where a document path belongs) must not hide in them.
    waiver = {"check": "DQ-002", "agent": "triage-bot", "reason": "Q1", "approved_by": "Dana"}
    text = project.manifest_path.read_text(encoding="utf-8")
    assert "\nwaivers:" not in text
    project.write_text(f"{text}\nwaivers:\n  - {json.dumps(dict(waiver, expires='2026-12-31'))}\n")
    real = json.loads(dumps(build_scorecard(project.assess())))
    sample = sample_scorecard()

    def keys(entries: Any) -> set[frozenset[str]]:
        return {frozenset(entry) for entry in entries}

    real_checks = [c for agent in real["agents"].values() for c in agent["checks"]]
    sample_checks = [c for agent in sample["agents"].values() for c in agent["checks"]]
    assert keys(sample_checks) == keys(real_checks)
    assert keys(sample["waivers"]) == keys(real["waivers"])
    assert set(sample["manifest"]) == set(real["manifest"])


@pytest.mark.parametrize("format", LOCATIONS)
def test_every_location_of_a_real_scorecard_is_a_file_in_this_repository(format: str) -> None:
    render, locations = LOCATIONS[format]

    found = locations(render(validate(real_scorecard())))

    assert_real(REPO, found)
    assert ("examples/unready-pilot/agent-readiness.yaml", 7) in found  # refund-agent's owner


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, "services/agent/agent-readiness.yaml"),  # the git top level
        ({"GITHUB_WORKSPACE": "{top}"}, "services/agent/agent-readiness.yaml"),
        ({"GITHUB_WORKSPACE": "{top}/services"}, "agent/agent-readiness.yaml"),
        # A workspace that does not hold the manifest is not its root.
        ({"GITHUB_WORKSPACE": "{elsewhere}"}, "services/agent/agent-readiness.yaml"),
    ],
)
def test_repository_path_prefers_the_workspace_then_git_then_the_rootdir(
    tmp_path: Path, environ: dict[str, str], expected: str
) -> None:
    top = tmp_path / "top"
    manifest = top / "services" / "agent" / "agent-readiness.yaml"
    manifest.parent.mkdir(parents=True)
    manifest.touch()
    (top / ".git").mkdir()
    (tmp_path / "elsewhere").mkdir()
    filled = {
        key: value.format(top=top, elsewhere=tmp_path / "elsewhere")
        for key, value in environ.items()
    }

    assert repository_path(manifest, manifest.parent, filled) == expected


def test_without_a_repository_the_rootdir_is_the_root(tmp_path: Path) -> None:
    manifest = tmp_path / "policy" / "agent-readiness.yaml"
    manifest.parent.mkdir()
    manifest.touch()
    (tmp_path / "project").mkdir()

    assert repository_path(manifest, tmp_path / "policy", {}) == "agent-readiness.yaml"
    assert repository_path(manifest, tmp_path / "project", {}) == "../policy/agent-readiness.yaml"


# --- a gate run from a subdirectory of a repository --------------------------------------------
def _clean_environ(**extra: str) -> dict[str, str]:
    # These tests may themselves run inside GitHub Actions.
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "RUNNER_"))}
    environ.update(extra)
    return environ


@pytest.mark.parametrize("root_by", ["git", "workspace"])
def test_a_gate_run_in_a_subdirectory_points_every_report_at_real_files(
    pytester: pytest.Pytester, root_by: str
) -> None:
    top = pytester.path
    service = top / "services" / "agent"
    service.parent.mkdir()
    shutil.copytree(UNREADY_EXAMPLE, service, ignore=shutil.ignore_patterns("__pycache__"))
    extra: dict[str, str] = {}
    if root_by == "git":
        subprocess.run(["git", "init", "-q", str(top)], check=True, timeout=60)
    else:
        extra["GITHUB_WORKSPACE"] = str(top)
    reports = {"github": "ann.txt", "sarif": "out.sarif", "junit": "out.xml"}
    result = subprocess.run(
        [
            sys.executable, "-m", "pytest", "--readiness", AS_OF, "-p", "no:randomly",
            "-p", "no:cacheprovider", "--readiness-json=card.json",
            *(f"--readiness-report={format}={name}" for format, name in reports.items()),
        ],
        cwd=service, env=_clean_environ(**extra), capture_output=True, text=True, timeout=300,
        check=False,
    )  # fmt: skip

    assert result.returncode == 1, result.stdout[-3000:] + result.stderr[-3000:]
    card = load_scorecard(service / "card.json")
    assert card["manifest"]["file"] == "services/agent/agent-readiness.yaml"
    for format, name in reports.items():
        found = LOCATIONS[format][1]((service / name).read_text(encoding="utf-8"))
        assert_real(top, found)
        assert ("services/agent/agent-readiness.yaml", 7) in found, format
    # The terminal summary points there too, with the place inside the document.
    assert (
        "services/agent/agent-readiness.yaml:7 (agents.refund-agent.owner): owner is not"
        in result.stdout
    )
    # And `agent-readiness report` renders the same locations from the scorecard alone.
    for format, name in reports.items():
        rendered = subprocess.run(
            [sys.executable, "-m", "pytest_agent_readiness.cli", "report", "card.json",
             "--format", format],
            cwd=service, env=_clean_environ(), capture_output=True, text=True, timeout=120,
            check=False,
        )  # fmt: skip
        assert rendered.returncode == 1, rendered.stderr
        assert rendered.stdout == (service / name).read_text(encoding="utf-8")


# --- version 1 ---------------------------------------------------------------------------------
def as_version_1(card: dict[str, Any]) -> dict[str, Any]:
    """``card`` as version 1 wrote it: the file under manifest.path, per check the place inside
    the document under manifest_path and the line under manifest_line, and no file."""
    old = copy.deepcopy(card)
    old["schema_version"] = 1
    old["manifest"] = {"path": old["manifest"].pop("file"), **old["manifest"]}
    entries = [c for agent in old["agents"].values() for c in agent["checks"]]
    for entry in [*entries, *old["waivers"]]:
        del entry["file"]
        entry["manifest_line"] = entry.pop("line")
        if "document_path" in entry:
            entry["manifest_path"] = entry.pop("document_path")
    return old


def test_a_version_1_scorecard_is_read_as_version_2(tmp_path: Path) -> None:
    card = real_scorecard()
    path = tmp_path / "v1.json"
    path.write_text(dumps(as_version_1(card)), encoding="utf-8")

    assert load_scorecard(path) == card


@pytest.mark.parametrize("format", LOCATIONS)
def test_report_renders_a_version_1_file_at_the_manifest_file(tmp_path: Path, format: str) -> None:
    card = real_scorecard()
    path = tmp_path / "v1.json"
    path.write_text(dumps(as_version_1(card)), encoding="utf-8")

    result = subprocess.run(
        [sys.executable, "-m", "pytest_agent_readiness.cli", "report", str(path), "--format",
         format],
        env=_clean_environ(), capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip

    assert result.returncode == 1, result.stderr
    assert result.stdout == LOCATIONS[format][0](card)
    assert "agents.refund-agent" not in {file for file, _ in LOCATIONS[format][1](result.stdout)}


def test_diff_reads_a_version_1_base(tmp_path: Path) -> None:
    card = real_scorecard()
    base = tmp_path / "base.json"
    head = tmp_path / "head.json"
    base.write_text(dumps(as_version_1(card)), encoding="utf-8")
    head.write_text(dumps(card), encoding="utf-8")

    result = subprocess.run(
        [sys.executable, "-m", "pytest_agent_readiness.cli", "diff", str(base), str(head)],
        env=_clean_environ(), capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip

    assert result.returncode == 1, result.stderr
    assert "no check changed its level or outcome" in result.stdout


def test_an_unknown_version_names_the_versions_read(tmp_path: Path) -> None:
    path = tmp_path / "v3.json"
    path.write_text(json.dumps(dict(real_scorecard(), schema_version=3)), encoding="utf-8")

    with pytest.raises(Exception, match="schema_version 3; this version reads 1 and 2"):
        load_scorecard(path)


def test_an_invalid_scorecard_names_the_place_without_raw_control_characters(
    tmp_path: Path,
) -> None:
    card = real_scorecard()
    card["agents"]["evil\n::error::x\x1b[2J"] = {"checks": "not a list", "dimensions": {}}
    path = tmp_path / "bad.json"
    path.write_text(dumps(card), encoding="utf-8")

    with pytest.raises(Exception, match="not a valid scorecard") as raised:
        load_scorecard(path)

    message = str(raised.value)
    assert "\n" not in message
    assert "\x1b" not in message
    assert "evil\\n::error::x\\x1b[2J" in message
