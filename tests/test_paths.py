"""Repository content never makes the tool read, write or delete a file outside the repository.

Every "outside" here is a real file in a temporary folder beside the project (never inside it),
reached the ways a hostile pull request would: an absolute path, ``..`` and a symlink committed
inside the repository. Each test checks that the victim still holds its bytes afterwards.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import READY_EXAMPLE, TODAY, Project, agent_of, copy_example, registry, run_cli
from pytest_agent_readiness.checks import CheckContext
from pytest_agent_readiness.evidence import EvidenceInputError, load_imports, load_suites
from pytest_agent_readiness.harness import KillSwitchDriver, KillSwitchError
from pytest_agent_readiness.lock import (
    LockError,
    build_lock,
    lock_path_for,
    read_lock,
    verify,
)
from pytest_agent_readiness.manifest import ManifestError
from pytest_agent_readiness.model import KillSwitch
from pytest_agent_readiness.paths import OutsideRepository, repository_root, resolve_inside
from pytest_agent_readiness.scoring import assess

pytest_plugins = ["pytester"]

SECRET = "the victim's own bytes\n"
AS_OF = "--readiness-as-of=2026-11-25"


@pytest.fixture
def victim(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A file outside every project, with content no test may change."""
    file = tmp_path_factory.mktemp("outside") / "important.txt"
    file.write_text(SECRET, encoding="utf-8")
    return file


def untouched(victim: Path) -> bool:
    return victim.read_text(encoding="utf-8") == SECRET and list(victim.parent.iterdir()) == [
        victim
    ]


def relative(target: Path, start: Path) -> str:
    return os.path.relpath(target, start)


def line_of(text: str, needle: str) -> int:
    """The 1-based line of ``text`` that first contains ``needle``."""
    return next(n for n, line in enumerate(text.splitlines(), start=1) if needle in line)


# --- the repository root and containment ---------------------------------------------------


def test_the_repository_root_is_the_nearest_folder_with_git(tmp_path: Path) -> None:
    nested = tmp_path / "repo" / "services" / "bot"
    nested.mkdir(parents=True)
    assert repository_root(nested) == nested.resolve()  # no git: the folder itself
    (tmp_path / "repo" / ".git").mkdir()
    assert repository_root(nested) == (tmp_path / "repo").resolve()
    # A worktree or submodule has a .git file; it is the nearer root.
    (tmp_path / "repo" / "services" / ".git").write_text("gitdir: elsewhere\n")
    assert repository_root(nested) == (tmp_path / "repo" / "services").resolve()


def test_paths_resolve_inside_or_are_refused(tmp_path: Path, victim: Path) -> None:
    root = tmp_path.resolve()
    (root / "prompts").mkdir()
    (root / "prompts" / "a.md").write_text("x")
    (root / "alias").symlink_to(root / "prompts")
    (root / "out").symlink_to(victim.parent)
    (root / "loop").symlink_to(root / "loop")

    assert resolve_inside(root, root, "prompts/a.md") == root / "prompts" / "a.md"
    assert resolve_inside(root, root, "alias/a.md") == root / "prompts" / "a.md"
    assert resolve_inside(root, root, "prompts/../prompts/new.md") == root / "prompts" / "new.md"
    for value in (str(victim), relative(victim, root), "out/important.txt", "out/new.txt", ".."):
        with pytest.raises(OutsideRepository, match="outside the repository root"):
            resolve_inside(root, root, value)
    for value in ("loop/x", "prompts/a\x00.md"):
        with pytest.raises(OutsideRepository, match="cannot be resolved"):
            resolve_inside(root, root, value)


def test_a_path_with_a_nul_byte_is_a_usage_error_not_a_traceback(
    project: Project, data: dict[str, Any]
) -> None:
    agent_of(data)["prompts"][0]["path"] = "prompts/triage\x00.md"
    with pytest.raises(
        ManifestError, match=r"prompts\[0\]\.path: 'prompts/triage\\x00\.md' cannot"
    ):
        project.load(data)


# --- manifest paths: a usage error at load, in validate, lock and pytest alike -------------

ManifestEdit = Callable[[dict[str, Any], Path, Path], tuple[str, str]]


def prompt_absolute(data: dict[str, Any], root: Path, victim: Path) -> tuple[str, str]:
    agent_of(data)["prompts"][0]["path"] = str(victim)
    return "agents.triage-bot.prompts[0].path", str(victim)


def prompt_dotdot(data: dict[str, Any], root: Path, victim: Path) -> tuple[str, str]:
    agent_of(data)["prompts"][0]["path"] = value = relative(victim, root)
    return "agents.triage-bot.prompts[0].path", value


def prompt_symlink(data: dict[str, Any], root: Path, victim: Path) -> tuple[str, str]:
    (root / "prompts" / "linked.md").symlink_to(victim)
    agent_of(data)["prompts"][0]["path"] = "prompts/linked.md"
    return "agents.triage-bot.prompts[0].path", "prompts/linked.md"


def prompt_folder_symlink(data: dict[str, Any], root: Path, victim: Path) -> tuple[str, str]:
    (root / "shared").symlink_to(victim.parent)
    agent_of(data)["prompts"][0]["path"] = "shared/important.txt"
    return "agents.triage-bot.prompts[0].path", "shared/important.txt"


def measured(data: dict[str, Any], root: Path, victim: Path) -> tuple[str, str]:
    agent_of(data)["outcomes"]["measured"] = {"path": relative(victim, root)}
    return "agents.triage-bot.outcomes.measured.path", relative(victim, root)


def suite_dir(data: dict[str, Any], root: Path, victim: Path) -> tuple[str, str]:
    agent_of(data)["adversarial"]["suite_dirs"] = ["cases", relative(victim.parent, root)]
    (root / "cases").mkdir()
    return "agents.triage-bot.adversarial.suite_dirs[1]", relative(victim.parent, root)


def red_team_import(data: dict[str, Any], root: Path, victim: Path) -> tuple[str, str]:
    entry = {"tool": "promptfoo", "path": str(victim), "suite": "jailbreak"}
    agent_of(data)["adversarial"]["imports"] = [entry]
    return "agents.triage-bot.adversarial.imports[0].path", str(victim)


def kill_switch_file(data: dict[str, Any], root: Path, victim: Path) -> tuple[str, str]:
    switch = agent_of(data)["kill_switch"]
    switch.update(mechanism="file", target=relative(victim, root))
    return "agents.triage-bot.kill_switch.target", relative(victim, root)


ESCAPES: list[ManifestEdit] = [
    prompt_absolute,
    prompt_dotdot,
    prompt_symlink,
    prompt_folder_symlink,
    measured,
    suite_dir,
    red_team_import,
    kill_switch_file,
]


@pytest.mark.parametrize("edit", ESCAPES, ids=lambda edit: edit.__name__)
def test_a_manifest_path_out_of_the_repository_is_a_usage_error_naming_key_and_line(
    project: Project, data: dict[str, Any], victim: Path, edit: ManifestEdit
) -> None:
    key, value = edit(data, project.root, victim)
    text = project.write(data).read_text(encoding="utf-8")
    line = line_of(text, value)

    with pytest.raises(ManifestError) as raised:
        project.load()
    message = str(raised.value)
    assert f"agent-readiness.yaml:{line}:" in message
    assert f": {key}: {value} resolves to " in message
    assert "outside the repository root" in message

    # validate and lock say the same, and lock writes nothing.
    lock_before = (project.root / "agent-readiness.lock").read_bytes()
    for command in ("validate", "lock"):
        completed = run_cli(command, "agent-readiness.yaml", cwd=project.root)
        assert completed.returncode == 2, completed.stdout + completed.stderr
        assert f"agent-readiness.yaml:{line}:" in completed.stderr
        assert f": {key}: {value} resolves to " in completed.stderr
    assert (project.root / "agent-readiness.lock").read_bytes() == lock_before
    assert untouched(victim)


def test_a_path_that_stays_inside_through_a_symlink_is_fine(
    project: Project, data: dict[str, Any]
) -> None:
    (project.root / "current").symlink_to(project.root / "prompts")
    agent_of(data)["prompts"][0]["path"] = "current/triage.md"
    assert project.load(data).agents["triage-bot"].prompts


def test_inside_a_git_checkout_paths_may_reach_the_checkout_top(
    tmp_path: Path, data: dict[str, Any]
) -> None:
    # A monorepo: the manifest in a service folder, prompts shared at the top.
    (tmp_path / ".git").mkdir()
    shutil.copytree(READY_EXAMPLE / "prompts", tmp_path / "shared-prompts")
    service = tmp_path / "services" / "bot"
    service.mkdir(parents=True)
    agent_of(data)["prompts"][0]["path"] = "../../shared-prompts/triage.md"
    manifest = Project(service).load(data)
    assert manifest.agents["triage-bot"].prompts


def test_pytest_readiness_refuses_a_prompt_linked_out(
    pytester: pytest.Pytester, victim: Path
) -> None:
    # The review's payload: a prompt symlinked to a file outside, then `lock` and a run.
    copy_example(pytester, READY_EXAMPLE)
    prompt = pytester.path / "prompts" / "triage.md"
    prompt.unlink()
    prompt.symlink_to(victim)

    result = pytester.runpytest_subprocess("--readiness", AS_OF, "-p", "no:randomly")

    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            "*agent-readiness.yaml:*: agents.triage-bot.prompts[[]0[]].path: prompts/triage.md "
            "resolves to *important.txt, outside the repository root*"
        ]
    )
    assert untouched(victim)


# --- after load: the checks, the lock and the evidence still refuse --------------------------
# A symlink swapped in after the manifest was read (or a Manifest built by other code) must not
# get through either: every reader resolves through the same containment.


def test_the_prompt_and_lock_checks_refuse_a_prompt_swapped_for_a_link_after_load(
    project: Project, victim: Path
) -> None:
    manifest = project.load()
    prompt = project.root / "prompts" / "triage.md"
    prompt.unlink()
    prompt.symlink_to(victim)

    assessment = assess(manifest, registry(), [], today=TODAY)
    results = {r.check.id: r for r in assessment.agents["triage-bot"].results}
    assert not results["INF-003"].passed
    assert results["INF-003"].reason == "prompt file prompts/triage.md is outside the repository"
    assert not results["INF-005"].passed
    assert "prompts/triage.md is outside the repository" in results["INF-005"].reason

    lock = read_lock(lock_path_for(manifest))
    assert [f.kind for f in verify(manifest, lock, lock_path_display="x")] == ["outside-repository"]
    with pytest.raises(LockError) as raised:
        build_lock(manifest, lock)
    line = manifest.line_of("agents", "triage-bot", "prompts", 0, "path")
    assert f"agent-readiness.yaml:{line}: agents.triage-bot.prompts[0].path: " in str(raised.value)
    assert untouched(victim)


def test_an_adversarial_system_prompt_linked_out_after_load_is_not_read(
    project: Project, victim: Path
) -> None:
    # In live mode the system prompt goes to a model API: it must never carry a file from outside.
    from pytest_agent_readiness.adversarial.runner import system_prompt_of

    manifest = project.load()
    agent = manifest.agents["triage-bot"]
    assert system_prompt_of(agent, Path(manifest.base_dir))
    prompt = project.root / "prompts" / "triage.md"
    prompt.unlink()
    prompt.symlink_to(victim)
    assert system_prompt_of(agent, Path(manifest.base_dir)) is None


def test_measured_outcomes_swapped_for_a_link_after_load_are_not_read(
    project: Project, data: dict[str, Any], victim: Path
) -> None:
    metrics = project.root / "metrics.yaml"
    metrics.write_text("task_completion_rate: 0.9\nescalation_rate: 0.1\nerror_rate: 0.01\n")
    agent = agent_of(data)
    agent["stage"] = "scaling"
    agent["outcomes"]["measured"] = {"path": "metrics.yaml"}
    manifest = project.load(data)
    victim.write_text("task_completion_rate: 0.99\nescalation_rate: 0.0\nerror_rate: 0.0\n")
    metrics.unlink()
    metrics.symlink_to(victim)

    context = CheckContext(manifest, TODAY)
    with pytest.raises(OutsideRepository):
        context.resolve("metrics.yaml")
    results = assess(manifest, registry(), [], today=TODAY).agents["triage-bot"].results
    obs_005 = next(r for r in results if r.check.id == "OBS-005")
    assert not obs_005.passed
    assert obs_005.reason == "measured outcomes file metrics.yaml is outside the repository"
    assert metrics.is_symlink()


def test_a_lock_file_linked_out_is_neither_read_nor_written(project: Project, victim: Path) -> None:
    lock = project.root / "agent-readiness.lock"
    victim.write_text(lock.read_text(encoding="utf-8"), encoding="utf-8")
    lock.unlink()
    lock.symlink_to(victim)
    before = victim.read_bytes()

    completed = run_cli("lock", "agent-readiness.yaml", cwd=project.root)
    assert completed.returncode == 2
    assert "agent-readiness.lock resolves to " in completed.stderr
    assert "expected the lock file inside the repository" in completed.stderr
    assert lock.is_symlink() and victim.read_bytes() == before

    results = project.assess().agents["triage-bot"].results
    inf_005 = next(r for r in results if r.check.id == "INF-005")
    assert not inf_005.passed
    assert "expected the lock file inside the repository" in inf_005.reason


def test_a_shard_records_no_hash_of_a_lock_linked_out(project: Project, victim: Path) -> None:
    from pytest_agent_readiness.shards import _lock_sha256

    manifest = project.load()
    assert _lock_sha256(manifest) is not None
    lock = project.root / "agent-readiness.lock"
    lock.unlink()
    lock.symlink_to(victim)
    assert _lock_sha256(manifest) is None


def test_a_case_file_linked_out_of_a_suite_dir_is_refused_before_it_is_read(
    project: Project, data: dict[str, Any], victim: Path
) -> None:
    cases = project.root / "cases"
    cases.mkdir()
    (cases / "stolen.yaml").symlink_to(victim)
    agent_of(data)["adversarial"]["suite_dirs"] = ["cases"]
    manifest = project.load(data)

    with pytest.raises(EvidenceInputError, match=r"stolen\.yaml resolves to .*important\.txt"):
        load_suites(manifest, "agent-readiness.yaml")
    assert untouched(victim)


def test_suite_dirs_and_imports_swapped_after_load_are_usage_errors_naming_key_and_line(
    project: Project, data: dict[str, Any], victim: Path
) -> None:
    (project.root / "cases").mkdir()
    (project.root / "redteam.json").write_text("{}")
    agent = agent_of(data)
    agent["adversarial"]["suite_dirs"] = ["cases"]
    agent["adversarial"]["imports"] = [
        {"tool": "promptfoo", "path": "redteam.json", "suite": "jailbreak"}
    ]
    manifest = project.load(data)
    (project.root / "cases").rmdir()
    (project.root / "cases").symlink_to(victim.parent)
    (project.root / "redteam.json").unlink()
    (project.root / "redteam.json").symlink_to(victim)

    line = manifest.line_of("agents", "triage-bot", "adversarial", "suite_dirs", 0)
    with pytest.raises(EvidenceInputError) as raised:
        load_suites(manifest, "agent-readiness.yaml")
    assert str(raised.value).startswith(
        f"agent-readiness.yaml:{line}: agents.triage-bot.adversarial.suite_dirs[0]: cases "
        "resolves to "
    )
    line = manifest.line_of("agents", "triage-bot", "adversarial", "imports", 0, "path")
    with pytest.raises(EvidenceInputError) as raised:
        load_imports(manifest, "agent-readiness.yaml")
    assert str(raised.value).startswith(
        f"agent-readiness.yaml:{line}: agents.triage-bot.adversarial.imports[0].path: "
        "redteam.json resolves to "
    )
    assert untouched(victim)


# --- the file kill switch ---------------------------------------------------------------------

WHERE = "agent-readiness.yaml:7: agents.bot.kill_switch.target"


def driver(base: Path, target: str) -> KillSwitchDriver:
    spec = KillSwitch(mechanism="file", target=target, halt_within_s=1, operators=())
    return KillSwitchDriver(spec, base, declared_at=WHERE)


def test_the_file_switch_creates_its_file_where_declared_and_removes_what_it_made(
    tmp_path: Path,
) -> None:
    (tmp_path / "state").mkdir()
    (tmp_path / "flags").symlink_to(tmp_path / "state")  # a link that stays inside
    for target, made in [("run/a/agent.disabled", tmp_path / "run"), ("flags/off", None)]:
        with driver(tmp_path, target) as switch:
            switch.engage()
            # The agent looks where the manifest says, through any link.
            assert (tmp_path / target).read_text() == "engaged by pytest-agent-readiness\n"
        assert not os.path.lexists(tmp_path / target)
        if made is not None:
            assert not made.exists(), "a folder made for the switch was left behind"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["flags", "state"]


def test_the_file_switch_never_touches_a_file_that_exists(tmp_path: Path) -> None:
    existing = tmp_path / "agent.disabled"
    existing.write_text(SECRET)
    (tmp_path / "planted").symlink_to(existing)  # a link at the name
    for target in ("agent.disabled", "planted"):
        with driver(tmp_path, target) as switch, pytest.raises(KillSwitchError) as raised:
            switch.engage()
        assert str(raised.value) == (
            f"{WHERE}: {target} already exists; the file kill switch creates the file and "
            "removes it after, so it must not exist before the run"
        )
    assert existing.read_text() == SECRET
    assert (tmp_path / "planted").is_symlink()


def test_a_second_engage_fails_without_releasing_the_first(tmp_path: Path) -> None:
    with driver(tmp_path, "run/agent.disabled") as switch:
        switch.engage()
        with pytest.raises(KillSwitchError, match="already exists"):
            switch.engage()
        assert (tmp_path / "run" / "agent.disabled").is_file()
    assert list(tmp_path.iterdir()) == []


def test_the_file_switch_refuses_a_target_outside_the_repository(
    tmp_path: Path, victim: Path
) -> None:
    (tmp_path / "out").symlink_to(victim.parent)
    for target in (relative(victim, tmp_path), "out/important.txt", "out/new.txt", "/tmp/x"):
        with driver(tmp_path, target) as switch, pytest.raises(KillSwitchError) as raised:
            switch.engage()
        assert str(raised.value).startswith(f"{WHERE}: {target} resolves to ")
        assert "outside the repository root" in str(raised.value)
    assert untouched(victim)


def toy_project(pytester: pytest.Pytester, target: str) -> None:
    from test_probes import manifest, project

    project(pytester, data=manifest(mechanism="file", target=target))


def test_a_run_whose_kill_switch_file_exists_fails_the_probe_naming_key_and_line(
    pytester: pytest.Pytester,
) -> None:
    toy_project(pytester, "run/toy.disabled")
    existing = pytester.path / "run" / "toy.disabled"
    existing.parent.mkdir()
    existing.write_text(SECRET)
    line = line_of((pytester.path / "agent-readiness.yaml").read_text(), "target:")

    result = pytester.runpytest(
        "--readiness", "--readiness-json=card.json", AS_OF, "-p", "no:randomly"
    )

    card = yaml.safe_load((pytester.path / "card.json").read_text())
    entry = next(c for c in card["agents"]["toy"]["checks"] if c["id"] == "INF-001")
    assert entry["passed"] is False
    assert (
        f"agent-readiness.yaml:{line}: agents.toy.kill_switch.target: run/toy.disabled already "
        "exists" in entry["reason"]
    )
    assert result.ret == 1
    assert existing.read_text() == SECRET


def test_a_run_whose_kill_switch_file_is_outside_is_a_usage_error(
    pytester: pytest.Pytester, victim: Path
) -> None:
    toy_project(pytester, relative(victim, pytester.path))

    result = pytester.runpytest("--readiness", AS_OF, "-p", "no:randomly")

    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*agent-readiness.yaml:*: agents.toy.kill_switch.target: *important.txt resolves to *"]
    )
    assert untouched(victim)


# --- paths in pytest's ini file ---------------------------------------------------------------


def ini_project(pytester: pytest.Pytester, settings: str) -> None:
    copy_example(pytester, READY_EXAMPLE)
    ini = (pytester.path / "pytest.ini").read_text(encoding="utf-8")
    (pytester.path / "pytest.ini").write_text(ini + settings, encoding="utf-8")


@pytest.mark.parametrize(
    ("setting", "shown"),
    [
        ("readiness_report = junit={victim}", "readiness_report = junit={victim}"),
        ("readiness_report =\n    html=ok.html\n    sarif={relative}", "readiness_report = sarif="),
        ("readiness_report = markdown=linked/important.txt", "readiness_report = markdown=linked/"),
        ("readiness_json = {relative}", "readiness_json = {relative}"),
        ("readiness_json = linked/important.txt", "readiness_json = linked/important.txt"),
        ("readiness_manifest = {victim}", "readiness_manifest = {victim}"),
    ],
)
def test_an_ini_path_out_of_the_repository_is_a_usage_error_and_the_victim_stays(
    pytester: pytest.Pytester, victim: Path, setting: str, shown: str
) -> None:
    values = {"victim": victim, "relative": relative(victim, pytester.path)}
    (pytester.path / "linked").symlink_to(victim.parent)
    ini_project(pytester, setting.format(**values) + "\n")
    key = setting.split(" ", 1)[0]
    line = line_of((pytester.path / "pytest.ini").read_text(), key)

    result = pytester.runpytest_subprocess("--readiness", AS_OF, "-p", "no:randomly")

    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            f"ERROR: pytest.ini:{line}: {shown.format(**values)}*resolves to *important.txt, "
            f"outside the repository root *; paths in the ini file must stay inside the "
            f"repository (pass --{key.replace('_', '-')} on the command line to write elsewhere)"
        ]
    )
    assert untouched(victim)
    assert not (pytester.path / "ok.html").exists()


def test_the_manifest_fixture_without_readiness_keeps_the_ini_path_inside(
    pytester: pytest.Pytester, victim: Path
) -> None:
    ini_project(pytester, f"readiness_manifest = {victim}\n")
    pytester.makepyfile(test_uses="def test_it(readiness_manifest):\n    pass\n")

    result = pytester.runpytest_subprocess("-p", "no:randomly", "test_uses.py")

    result.stdout.fnmatch_lines(["*readiness_manifest = *important.txt*outside the repository*"])
    result.assert_outcomes(errors=1)


def test_command_line_report_paths_are_the_users_choice(
    pytester: pytest.Pytester, tmp_path_factory: pytest.TempPathFactory
) -> None:
    elsewhere = tmp_path_factory.mktemp("reports")
    copy_example(pytester, READY_EXAMPLE)

    result = pytester.runpytest_subprocess(
        "--readiness",
        AS_OF,
        "-p",
        "no:randomly",
        f"--readiness-json={elsewhere / 'card.json'}",
        f"--readiness-report=junit={elsewhere / 'junit.xml'}",
    )

    assert result.ret in (0, 1)
    assert (elsewhere / "card.json").is_file()
    assert (elsewhere / "junit.xml").is_file()


def test_a_default_manifest_linked_out_of_the_repository_is_refused(
    pytester: pytest.Pytester, victim: Path
) -> None:
    copy_example(pytester, READY_EXAMPLE)
    victim.write_text((pytester.path / "agent-readiness.yaml").read_text(), encoding="utf-8")
    (pytester.path / "agent-readiness.yaml").unlink()
    (pytester.path / "agent-readiness.yaml").symlink_to(victim)

    result = pytester.runpytest_subprocess("--readiness", AS_OF, "-p", "no:randomly")

    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: agent-readiness.yaml: *outside the repository root*"])
