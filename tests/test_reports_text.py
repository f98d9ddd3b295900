"""Plain-text outputs (terminal summary, ``report --format text``, ``merge``, ``diff``) carry
project strings inertly: no workflow command, no control character, no hidden character.

A CI runner reads the log: ``::name::`` at the start of a line (after whitespace) and ``##[name]``
anywhere in one are commands. A scorecard may come from a fork's run (``workflow_run``).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from _scorecards import HOSTILE_STRINGS, hostile_scorecard, sample_scorecard, validate
from conftest import UNREADY_EXAMPLE, copy_example
from pytest_agent_readiness.diff import diff_scorecards, render_diff_text
from pytest_agent_readiness.reports import RENDERERS
from pytest_agent_readiness.reports._text import inert_lines
from pytest_agent_readiness.reports.terminal import render_text

AS_OF = "--readiness-as-of=2026-11-25"
FORGED = "demo\n::error title=x::Approved\n::add-mask::NOT READY"
# Characters that hide or reorder text: zero-width and invisible operators, bidi controls and
# marks, the byte-order mark, tag characters ("ASCII smuggling").
HIDDEN = (
    [chr(c) for c in range(0x200B, 0x2010)]
    + [chr(c) for c in range(0x2060, 0x2065)]
    + [chr(c) for c in range(0x202A, 0x202F)]
    + [chr(c) for c in range(0x2066, 0x206A)]
    + ["\ufeff", "\U000e0001", "\U000e0041", "\U000e007f"]
)
HIDDEN_PAYLOADS = {
    "zero-width": "bot\u200b",
    "joiners": "re\u200cfund\u200d-agent\u2060",
    "invisible-operators": "a\u2061b\u2062c\u2063d\u2064",
    "bom": "\ufeffproject",
    "bidi": "admin\u202e\u2066evil\u2069\u202a\u202b\u202c\u202d",
    "marks": "\u200e\u200fname",
    "tags": "ok\U000e0001\U000e0049\U000e0067\U000e006e\U000e007f",
    "lone-surrogate": "broken \ud800 and \udfff",
}
TEXT_PAYLOADS = {
    **HOSTILE_STRINGS,
    **HIDDEN_PAYLOADS,
    "forged-commands": FORGED,
    "indented-command": "x\n   \t::warning::indented",
    "unicode-space-command": "x\n\u3000\u00a0::error::wide space",
    "crlf-command": "x\r\n::add-mask::secret\r::debug::y",
    "line-separators": "x\u2028::error::ls\u2029::error::ps\x85::error::nel",
    "legacy-command": "fine ##[add-mask]NOT READY and ##[error]Approved",
    "azure-command": "##vso[task.setvariable variable=ready]true ##VSO[task.complete]",
    "escapes": "\x1b[2J\x1b]0;owned\x07\x1bP+q\x1b\\",
    "nul-and-c1": "a\x00b\x9b31m\x9dtitle\x9c\x7f",
    "carriage-return": "NOT READY\rREADY    ",
    "command-name": "::error::",
}
_COMMAND_LINE = re.compile(r"^\s*::", re.MULTILINE)
_LEGACY = re.compile(r"##(?:vso)?\[", re.IGNORECASE)
_CONTROL = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\ud800-\udfff]")


def assert_inert(text: str) -> None:
    """Nothing in ``text`` a runner or a terminal would act on, and nothing hidden."""
    assert not _COMMAND_LINE.search(text), [line for line in text.splitlines() if "::" in line]
    assert not _LEGACY.search(text)
    assert not _CONTROL.search(text), repr(_CONTROL.findall(text))
    assert not set(text) & set(HIDDEN)
    # What the runner does: .NET's TrimStart, then "::"; it splits lines at CR and LF.
    for line in re.split(r"\r\n|\r|\n", text):
        assert not line.lstrip(" \t\u00a0\u3000\u2000\u200a\u2028\u2029\x85").startswith("::")


def _diff_text(card: Mapping[str, Any]) -> str:
    return render_diff_text(diff_scorecards(sample_scorecard(), card))


TEXT_RENDERERS: dict[str, Callable[[Mapping[str, Any]], str]] = {
    "text": render_text,
    "diff": _diff_text,
}


@pytest.mark.parametrize("renderer", TEXT_RENDERERS)
@pytest.mark.parametrize("text", TEXT_PAYLOADS.values(), ids=TEXT_PAYLOADS.keys())
def test_plain_text_carries_hostile_strings_inertly(renderer: str, text: str) -> None:
    output = TEXT_RENDERERS[renderer](validate(hostile_scorecard(text)))

    assert_inert(output)
    output.encode("utf-8")  # strict: a lone surrogate cannot reach the terminal


def test_the_forged_project_name_stays_on_the_project_line() -> None:
    card = sample_scorecard()
    card["project"] = FORGED

    lines = render_text(validate(card)).splitlines()

    assert lines[0].startswith("project demo ::error title=x::Approved ::add-mask::NOT READY, ")
    assert not any(line.lstrip().startswith("::") for line in lines)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("::error::x", "%3A:error::x"),
        ("  ::warning::x\nok", "  %3A:warning::x\nok"),
        ("a\n\t::add-mask::y", "a\n\t%3A:add-mask::y"),
        ("mid ::error:: line", "mid ::error:: line"),  # not at a line's start: not a command
        ("x ##[error]y ##VSO[task]z", "x %23#[error]y %23#VSO[task]z"),
        ("## heading [link]", "## heading [link]"),
        (":single colon", ":single colon"),
    ],
)
def test_inert_lines_table(text: str, expected: str) -> None:
    assert inert_lines(text) == expected


# --- hidden characters in every renderer -------------------------------------------------------
def _visible(text: str) -> str:
    return "".join(
        "\ufffd" if char in HIDDEN or "\ud800" <= char <= "\udfff" else char for char in text
    )


# Every renderer that prints project text (the badge prints only the verdict and the total).
ALL_RENDERERS: dict[str, Callable[[Mapping[str, Any]], str]] = {
    **{name: render for name, render in RENDERERS.items() if name != "badge"},
    "text": render_text,
}


@pytest.mark.parametrize("renderer", ALL_RENDERERS)
@pytest.mark.parametrize("text", HIDDEN_PAYLOADS.values(), ids=HIDDEN_PAYLOADS.keys())
def test_hidden_characters_show_as_replacement_characters_everywhere(
    renderer: str, text: str
) -> None:
    render = ALL_RENDERERS[renderer]

    output = render(validate(hostile_scorecard(text)))

    # Exactly what the same scorecard renders with each hidden character made visible.
    assert output == render(validate(hostile_scorecard(_visible(text))))
    assert "\ufffd" in output
    own = {"\u2060"} if renderer == "markdown" else set()  # its own mention/link breaker
    assert not (set(output) & set(HIDDEN)) - own


# --- real runs ---------------------------------------------------------------------------------
def _environ(**extra: str) -> dict[str, str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "RUNNER_"))}
    environ.update(extra)
    return environ


def _cli(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest_agent_readiness.cli", *args],
        cwd=cwd, env=_environ(**env), capture_output=True, text=True, encoding="utf-8",
        timeout=300, check=False,
    )  # fmt: skip


@pytest.fixture
def hostile_project(pytester: pytest.Pytester) -> pytest.Pytester:
    """The unready example with a project name that forges commands, escapes and hidden text."""
    copy_example(pytester, UNREADY_EXAMPLE)
    manifest = pytester.path / "agent-readiness.yaml"
    data = yaml.safe_load(manifest.read_text(encoding="utf-8"))
    data["project"] = FORGED + " \x1b[31mred\x1b[0m ##[add-mask]x \u200bhidden\U000e0041"
    manifest.write_text(yaml.safe_dump(data, allow_unicode=False), encoding="utf-8")
    return pytester


def test_terminal_summary_of_a_hostile_project_is_inert(hostile_project: pytest.Pytester) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "--readiness", AS_OF, "-p", "no:randomly",
         "-p", "no:cacheprovider", "--readiness-json=card.json", "--color=no"],
        cwd=hostile_project.path, env=_environ(GITHUB_ACTIONS="true"), capture_output=True,
        text=True, encoding="utf-8", timeout=300, check=False,
    )  # fmt: skip

    assert result.returncode == 1, result.stdout[-3000:] + result.stderr[-3000:]
    summary = result.stdout[result.stdout.index("agent readiness") :]
    assert summary.startswith("agent readiness ===")
    assert "project demo ::error title=x::Approved ::add-mask::NOT READY" in summary
    assert_inert(summary)
    # The report command and a merge of shards print the same scorecard as inertly.
    report = _cli("report", "card.json", "--format", "text", cwd=hostile_project.path)
    assert report.returncode == 1, report.stderr
    assert_inert(report.stdout)
    diff = _cli("diff", "card.json", "card.json", cwd=hostile_project.path)
    assert_inert(diff.stdout)


def test_merge_of_a_hostile_project_is_inert(hostile_project: pytest.Pytester) -> None:
    for index in (1, 2):
        hostile_project.runpytest_subprocess(
            "--readiness", f"--readiness-shard={index}/2", f"--readiness-json=p{index}.json",
            AS_OF, "-p", "no:randomly",
        )  # fmt: skip

    merged = _cli("merge", "p1.json", "p2.json", "--output", "m.json", cwd=hostile_project.path)

    assert merged.returncode == 1, merged.stderr
    assert "project demo ::error" in merged.stdout
    assert_inert(merged.stdout)


# --- lone surrogates ---------------------------------------------------------------------------
def _with_surrogates(path: Path) -> None:
    card = sample_scorecard()
    card["project"] = "demo \ud800"
    card["agents"]["triage-bot"]["checks"][2]["reason"] = "broken \udfff reason"
    card["agents"]["bad\udc00name"] = card["agents"].pop("refund-agent")
    # JSON may spell a lone surrogate as an escape; no UTF-8 file can hold one raw.
    path.write_text(json.dumps(card, ensure_ascii=True), encoding="ascii")


@pytest.mark.parametrize("format", ["text", "json", "markdown", "sarif", "junit", "github", "html"])
def test_a_lone_surrogate_is_reported_not_a_crash(tmp_path: Path, format: str) -> None:
    _with_surrogates(tmp_path / "card.json")

    result = _cli("report", "card.json", "--format", format, cwd=tmp_path)

    assert result.returncode == 1, result.stderr  # not ready, as the scorecard says; not 3
    assert "Traceback" not in result.stderr
    assert "\ufffd" in result.stdout
    if format in ("text", "json", "markdown", "html"):
        assert "lone surrogate" in result.stdout  # the warning says what was replaced
