"""A newcomer's first hour: `agent-readiness init` in an empty directory, the first run, the edits
its comments ask for, then READY; and every bad input on the way is a usage error or a failing
check that names the file and line, never a traceback."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from conftest import Project, agent_of, run_cli
from pytest_agent_readiness.files import write_atomic
from pytest_agent_readiness.lock import prompt_sha256
from test_catalogue import result
from test_cli import write_scorecard

AGENT = "helpdesk-agent"


def init_project(parent: Path, name: str = "helpdesk") -> Path:
    """An empty directory ``name`` under ``parent`` after `agent-readiness init`."""
    repo = parent / name
    repo.mkdir()
    done = run_cli("init", cwd=repo)
    assert done.returncode == 0, done.stderr
    return repo


def gate(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`pytest --readiness` in ``repo`` as a real subprocess, free of the outer run's options."""
    env = {key: value for key, value in os.environ.items() if key != "PYTEST_ADDOPTS"}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "--readiness", "-p", "no:randomly", *args],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env=env,
    )


def todo_items(stdout: str) -> list[str]:
    """The numbered lines of the to-do list that ends the readiness summary."""
    lines = stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("to do, in order"))
    items: list[str] = []
    for line in lines[start + 1 :]:
        if re.match(r"^\s+\d+\. ", line):
            items.append(line.strip())
        elif not line.startswith("  "):
            break
    return items


# -- the newcomer's path ------------------------------------------------------------------


def test_init_writes_the_manifest_its_prompt_a_lock_and_a_working_adapter(tmp_path: Path) -> None:
    repo = init_project(tmp_path)
    manifest = (repo / "agent-readiness.yaml").read_text()
    prompt = repo / "prompts" / f"{AGENT}.md"
    assert f"- {{path: prompts/{AGENT}.md, version: 1.0.0}}" in manifest
    # No rollback_to until a second version exists: a new project never had 0.9.0.
    assert "rollback_to:" not in manifest.split("prompts:\n", 1)[1].split("adversarial:")[0]
    lock = json.loads((repo / "agent-readiness.lock").read_text())
    pinned = lock["prompts"][f"prompts/{AGENT}.md"]
    assert pinned["version"] == "1.0.0"
    assert pinned["sha256"] == prompt_sha256(prompt.read_bytes())
    adapter = (repo / "conftest.py").read_text()
    assert '@adapter("helpdesk_agent")' in adapter
    assert "NotImplementedError" not in adapter
    assert "effects.record(" in adapter and "write=False" in adapter
    assert '"gen_ai.agent.name": AGENT_NAME' in adapter
    assert run_cli("validate", cwd=repo).returncode == 0


def test_inits_adapter_passes_ruff_and_mypy_strict_as_written(tmp_path: Path) -> None:
    """Code a team copies from must pass the checks a team runs on its own code."""
    repo = init_project(tmp_path)
    for command in (
        ["ruff", "format", "--isolated", "--check", "conftest.py"],
        ["ruff", "check", "--isolated", "--select", "E,F,I,B,UP,SIM,C4", "conftest.py"],
        ["mypy", "--strict", "--cache-dir", str(tmp_path / "mypy-cache"), "conftest.py"],
    ):
        done = subprocess.run(
            [sys.executable, "-m", *command],
            cwd=repo,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert done.returncode == 0, (command, done.stdout, done.stderr)


def test_the_first_run_after_init_is_short_and_ends_with_a_todo_list(tmp_path: Path) -> None:
    repo = init_project(tmp_path)
    first = gate(repo)
    assert first.returncode == 1, first.stdout[-3000:]
    assert "Traceback" not in first.stdout and "INTERNALERROR" not in first.stdout
    # 1,884 lines and 123 failures before the adapter worked and the list existed.
    assert len(first.stdout.splitlines()) < 120, first.stdout
    failed = [line for line in first.stdout.splitlines() if line.startswith("FAILED")]
    assert not [line for line in failed if "probe-" in line or "adversarial-" in line]
    items = todo_items(first.stdout)
    # Blockers first, each in manifest order; the same order as the manifest's TO DO 1-5.
    assert [item.split()[2] for item in items] == [
        "GOV-001",
        "GOV-003",
        "INF-001",
        "INF-003",
        "GOV-005",
    ]
    assert all(re.match(r"^\d+\. agent-readiness\.yaml:\d+ ", item) for item in items)
    assert "lock --record" in first.stdout  # INF-003 says how to record a rollback version


def follow_inits_comments(repo: Path, *, skip_review: bool = False) -> None:
    """The edits the manifest's TO DO comments ask for, made as a human would."""
    manifest = repo / "agent-readiness.yaml"
    text = manifest.read_text()

    def edit(old: str, new: str, count: int = 1) -> None:
        nonlocal text
        assert text.count(old) == count, old
        text = text.replace(old, new)

    edit(
        "owner: {name: TBD, email: owner@example.com}",
        "owner: {name: Dana Reyes, email: dana@yourco.com}",
    )
    edit("{owner: TBD}", "{owner: oncall@yourco.com}", count=4)
    edit("operators: []", "operators: [oncall@yourco.com]")
    edit(
        f"- {{path: prompts/{AGENT}.md, version: 1.0.0}}",
        f"- {{path: prompts/{AGENT}.md, version: 1.1.0, rollback_to: 1.0.0}}",
    )
    if not skip_review:
        edit("# permissions_reviewed: YYYY-MM-DD", f"permissions_reviewed: {date.today()}")
    manifest.write_text(text)
    prompt = repo / "prompts" / f"{AGENT}.md"
    prompt.write_text(prompt.read_text() + "Escalate anything about money to a person.\n")
    locked = run_cli("lock", cwd=repo)
    assert locked.returncode == 0, locked.stderr


def test_following_inits_comments_alone_reaches_ready(tmp_path: Path) -> None:
    repo = init_project(tmp_path)
    follow_inits_comments(repo)
    run = gate(repo)
    assert run.returncode == 0, run.stdout[-4000:]
    assert "VERDICT: READY" in run.stdout
    assert "to do, in order" not in run.stdout


def test_a_ready_run_still_lists_what_fails_without_blocking(tmp_path: Path) -> None:
    repo = init_project(tmp_path)
    follow_inits_comments(repo, skip_review=True)  # GOV-005 is standard: not a blocker
    run = gate(repo)
    assert "VERDICT: READY" in run.stdout, run.stdout[-4000:]
    assert "to do, in order (these fail without blocking the gate):" in run.stdout
    assert [item.split()[2] for item in todo_items(run.stdout)] == ["GOV-005"]


# -- bad input: a usage error or a failing check, never a traceback -----------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("report", "adir"), "adir: is a directory, not a scorecard file"),
        (("report", "card.json", "--output", "adir"), "--output adir: is a directory"),
        (("report", "card.json", "--output", "afile/r.txt"), "--output afile/r.txt: cannot write"),
        (("diff", "card.json", "adir"), "head: adir: is a directory"),
        (("init", "no/such/dir"), "no/such/dir: no such directory"),
        (("init", "afile"), "afile: not a directory"),
        (("schema", "--output", "afile/s.json"), "--output afile/s.json: cannot write it"),
        (("validate", "adir"), "adir: is a directory, not a manifest"),
        (("lock", "adir"), "adir: is a directory, not a manifest"),
        (("merge", "adir", "--output", "m.json"), "adir: cannot read it: Is a directory"),
    ],
)
def test_cli_bad_paths_are_usage_errors(
    project: Project, tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    (tmp_path / "adir").mkdir()
    (tmp_path / "afile").write_text("not a directory\n")
    write_scorecard(project, tmp_path / "card.json", ready=False)
    done = run_cli(*args, cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr and "internal error" not in done.stderr
    assert message in done.stderr


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [
        ("halt_within_s: 5", "halt_within_s: .nan", ".nan"),
        ("halt_within_s: 5", "halt_within_s: .inf", ".inf"),
        ("tokens_per_session: 20000", "tokens_per_session: -.inf", "-.inf"),
        ("threshold: 0.2, action: alert", "threshold: .NaN, action: alert", ".nan"),
        ("min_total: 14", "min_total: .nan", ".nan"),
    ],
)
def test_non_finite_numbers_are_named_at_their_line(
    tmp_path: Path, old: str, new: str, key: str
) -> None:
    repo = init_project(tmp_path)
    manifest = repo / "agent-readiness.yaml"
    lines = manifest.read_text().splitlines(keepends=True)
    line = next(number for number, text in enumerate(lines, 1) if old in text)
    manifest.write_text(manifest.read_text().replace(old, new, 1))
    done = run_cli("validate", cwd=repo)
    assert done.returncode == 2, done.stdout
    assert f"agent-readiness.yaml:{line}:" in done.stderr
    assert f"{key} is not a finite number" in done.stderr


def test_an_unclosed_quote_is_reported_where_it_opens(tmp_path: Path) -> None:
    repo = init_project(tmp_path)
    manifest = repo / "agent-readiness.yaml"
    lines = manifest.read_text().splitlines(keepends=True)
    line = next(n for n, text in enumerate(lines, 1) if text.startswith("project: "))
    lines[line - 1] = 'project: "helpdesk\n'
    manifest.write_text("".join(lines))
    done = run_cli("validate", cwd=repo)
    assert done.returncode == 2
    assert f"agent-readiness.yaml:{line}:10: the quoted string that opens here" in done.stderr


def test_measured_outcomes_naming_a_directory_fail_obs_005(
    project: Project, data: dict[str, Any]
) -> None:
    (project.root / "exports").mkdir()
    agent = agent_of(data)
    agent["stage"] = "scaling"
    agent["outcomes"]["measured"] = {"path": "exports"}
    outcome = result(project, data, "OBS-005")
    assert not outcome.passed
    assert "measured outcomes file exports is a directory" in outcome.reason


def test_non_finite_measured_outcomes_never_meet_a_threshold(
    project: Project, data: dict[str, Any]
) -> None:
    (project.root / "metrics.yaml").write_text(
        "task_completion_rate: .nan\nescalation_rate: 0.1\nerror_rate: 0.01\n"
    )
    agent = agent_of(data)
    agent["stage"] = "scaling"
    agent["outcomes"]["measured"] = {"path": "metrics.yaml"}
    outcome = result(project, data, "OBS-005")
    assert not outcome.passed
    assert "task_completion_rate nan is not a finite number" in outcome.reason


def test_a_binary_prompt_fails_inf_003_without_a_traceback(pytester: pytest.Pytester) -> None:
    assert run_cli("init", cwd=pytester.path).returncode == 0
    prompt = next((pytester.path / "prompts").iterdir())
    prompt.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\xff\xfe")
    run = pytester.runpytest_subprocess("--readiness", "-p", "no:randomly")
    assert run.ret == pytest.ExitCode.TESTS_FAILED
    output = run.stdout.str()
    assert "Traceback" not in output and "INTERNALERROR" not in output
    assert "UnicodeDecodeError" not in output
    assert f"prompt file prompts/{prompt.name} is not UTF-8 text (byte 0x89 at offset 0)" in output
    assert len(output.splitlines()) < 150


@pytest.mark.parametrize(
    ("option", "message"),
    [
        ("--readiness-json=out", "--readiness-json {root}/out: is a directory"),
        ("--readiness-json=conftest.py/x.json", "{root}/conftest.py is a file, not a directory"),
        ("--readiness-report=html=conftest.py/r.html", "--readiness-report {root}/conftest.py/r"),
        ("--readiness-manifest=prompts", "readiness manifest prompts is a directory"),
    ],
)
def test_bad_output_and_manifest_paths_are_usage_errors(
    pytester: pytest.Pytester, option: str, message: str
) -> None:
    assert run_cli("init", cwd=pytester.path).returncode == 0
    (pytester.path / "out").mkdir()
    run = pytester.runpytest_subprocess("--readiness", "-p", "no:randomly", option)
    assert run.ret == pytest.ExitCode.USAGE_ERROR
    assert "INTERNALERROR" not in run.stdout.str() + run.stderr.str()
    assert message.format(root=pytester.path) in run.stderr.str()


def test_an_output_that_cannot_be_written_at_the_end_is_a_usage_error(
    pytester: pytest.Pytester,
) -> None:
    assert run_cli("init", cwd=pytester.path).returncode == 0
    # The path is fine when the run starts; a test then puts a file where its directory goes.
    pytester.makepyfile(
        test_blocker="""
        from pathlib import Path

        def test_takes_the_reports_directory():
            Path("reports").write_text("a file, not a directory")
        """
    )
    run = pytester.runpytest_subprocess(
        "--readiness", "-p", "no:randomly", "--readiness-json=reports/card.json"
    )
    assert run.ret == pytest.ExitCode.USAGE_ERROR
    output = run.stdout.str()
    assert "INTERNALERROR" not in output
    assert f"ERROR: --readiness-json {pytester.path}/reports/card.json: cannot write it" in output


def test_readiness_json_written_with_a_space_is_refused_on_the_next_run(
    pytester: pytest.Pytester, tmp_path_factory: pytest.TempPathFactory
) -> None:
    assert run_cli("init", cwd=pytester.path).returncode == 0
    card = tmp_path_factory.mktemp("outside") / "card.json"
    readiness = ("--readiness", "-p", "no:randomly")
    first = pytester.runpytest_subprocess(*readiness, "--readiness-json", str(card))
    assert first.ret == pytest.ExitCode.TESTS_FAILED
    assert card.is_file()
    # Now the path exists, and pytest takes it for a test path while finding its rootdir.
    second = pytester.runpytest_subprocess(*readiness, "--readiness-json", str(card))
    assert second.ret == pytest.ExitCode.USAGE_ERROR
    assert f"write --readiness-json={card}" in second.stderr.str()
    assert card.is_file()  # refused before the old scorecard is removed: nothing else changed
    third = pytester.runpytest_subprocess(*readiness, f"--readiness-json={card}")
    assert third.ret == pytest.ExitCode.TESTS_FAILED
    assert json.loads(card.read_text())["verdict"] == "not_ready"


def test_a_manifest_written_with_a_space_is_refused_when_it_hides_the_ini_file(
    pytester: pytest.Pytester,
) -> None:
    project = pytester.path / "project"
    project.mkdir()
    assert run_cli("init", cwd=project).returncode == 0
    (project / "pytest.ini").write_text("[pytest]\n")
    policy = pytester.path / "policy"
    policy.mkdir()
    (project / "agent-readiness.yaml").rename(policy / "agent-readiness.yaml")
    # With --rootdir given, pytest looks for the ini file from the common ancestor of the test
    # paths it saw, the manifest's directory among them: project/pytest.ini is never read.
    manifest = str(policy / "agent-readiness.yaml")
    spaced = pytester.run(
        *(sys.executable, "-m", "pytest", str(project), "--rootdir", str(project)),
        *("--readiness", "--readiness-manifest", manifest),
    )
    assert spaced.ret == pytest.ExitCode.USAGE_ERROR
    assert f"the ini file is none, not {project / 'pytest.ini'}" in spaced.stderr.str()
    assert f"write --readiness-manifest={manifest}" in spaced.stderr.str()


def test_a_path_written_with_a_space_that_changes_nothing_is_accepted(
    pytester: pytest.Pytester,
) -> None:
    assert run_cli("init", cwd=pytester.path).returncode == 0
    pytester.makeini("[pytest]\n")
    run = pytester.runpytest_subprocess(
        "--readiness", "-p", "no:randomly", "--readiness-manifest", "agent-readiness.yaml"
    )
    assert run.ret == pytest.ExitCode.TESTS_FAILED  # judged: not ready until the TO DOs are done
    assert "to do, in order" in run.stdout.str()


# -- files written atomically honour the umask ---------------------------------------------


@pytest.mark.parametrize("umask", [0o022, 0o027, 0o077])
def test_atomic_writes_get_the_mode_a_plain_write_would(tmp_path: Path, umask: int) -> None:
    previous = os.umask(umask)
    try:
        write_atomic(tmp_path / "card.json", "{}\n")
    finally:
        os.umask(previous)
    assert (tmp_path / "card.json").stat().st_mode & 0o777 == 0o666 & ~umask


def test_atomic_writes_keep_an_existing_files_mode(tmp_path: Path) -> None:
    target = tmp_path / "card.json"
    target.write_text("old\n")
    target.chmod(0o640)
    write_atomic(target, "new\n")
    assert target.stat().st_mode & 0o777 == 0o640
    assert target.read_text() == "new\n"


SARIF = ("--format", "sarif", "--output", "card.sarif")


def test_reports_from_the_command_line_honour_the_umask(project: Project, tmp_path: Path) -> None:
    write_scorecard(project, tmp_path / "card.json", ready=False)
    done = subprocess.run(
        [sys.executable, "-m", "pytest_agent_readiness.cli", "report", "card.json", *SARIF],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        preexec_fn=lambda: os.umask(0o022),  # a real umask, in the child only
    )
    assert done.returncode == 1, done.stderr
    assert (tmp_path / "card.sarif").stat().st_mode & 0o777 == 0o644
