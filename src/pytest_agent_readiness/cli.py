"""The ``agent-readiness`` command line: what happens outside a test run.

Exit codes: 0 ready / valid, 1 the gate fails, 2 invalid input (manifest, scorecard,
arguments), 3 an internal error. An internal error is never reported as ready.
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from collections.abc import Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from . import __version__

if TYPE_CHECKING:
    from .github import GitHubClient, GitHubEnv, WorkflowRunOrigin

EXIT_OK = 0
EXIT_NOT_READY = 1
EXIT_INVALID = 2
EXIT_INTERNAL = 3


class InvalidInput(Exception):
    """A user's input the command cannot use; the message says what and where."""


def _reason(error: OSError) -> str:
    """What went wrong with a path, in the operating system's words."""
    return error.strerror or type(error).__name__


def _manifest_file(text: str, hint: str = "") -> Path:
    """The manifest at ``text``, refusing a missing path or a directory by name."""
    path = Path(text)
    if path.is_dir():
        raise InvalidInput(
            f"{path}: is a directory, not a manifest; pass the manifest file "
            f"(e.g. {path / 'agent-readiness.yaml'})"
        )
    if not path.is_file():
        raise InvalidInput(f"{path}: no such manifest{hint}")
    return path


def _cmd_validate(args: argparse.Namespace, out: TextIO) -> int:
    from .inputs import (
        GateInputError,
        check_waivers_name_known_checks,
        load_gate_inputs,
        waivers_not_applied,
    )

    path = _manifest_file(args.manifest)
    shown = str(args.manifest)
    # The same input checks, in the same order and words, as pytest --readiness before it scores.
    try:
        manifest = load_gate_inputs(path, shown).manifest
        known = _installed_checks()
        try:
            check_waivers_name_known_checks(manifest, shown, known)
        except GateInputError as error:
            # A policy pack in a conftest.py registers checks only inside a pytest run.
            folders = [path.resolve().parent, *path.resolve().parents]
            conftest = next(
                (f / "conftest.py" for f in folders if (f / "conftest.py").is_file()), None
            )
            if conftest is None:
                raise
            out.write(
                f"note: {error}; if a policy pack in {conftest} registers it, pytest "
                "--readiness accepts it\n"
            )
    except GateInputError as error:
        raise InvalidInput(str(error)) from None
    refused = waivers_not_applied(manifest, shown, args.as_of or date.today())
    if refused:
        raise InvalidInput("\n".join(refused))
    agents = len(manifest.agents)
    out.write(f"{path}: valid ({agents} agent{'s' * (agents != 1)})\n")
    return _report_unregistered(manifest, out)


def _report_unregistered(manifest: Any, out: TextIO) -> int:
    """Name each agent the code builds that ``manifest`` does not declare (GOV-010's scan);
    exit 1 when there is one, or when the scan could not read everything."""
    from .paths import manifest_root
    from .registry_scan import scan_repository, unregistered

    scan = scan_repository(manifest_root(manifest), Path(manifest.base_dir))
    for skip in scan.skipped:
        where, _, why = skip.partition(": ")
        out.write(f"{_near(scan.root, where)}: warning: not scanned for agents: {why}\n")
    strays = unregistered(scan, manifest.agents)
    for stray in strays:
        bare = (
            f" (the ignore comment on line {stray.ignore_without_reason} gives no reason)"
            if stray.ignore_without_reason is not None
            else ""
        )
        out.write(
            f"{_near(scan.root, stray.where)}: error: GOV-010 {stray.framework} "
            + (f"'{stray.shown_name}'" if stray.shown_name is not None else "with no name")
            + f" is not declared in {manifest.path}{bare}; declare it under agents:, or mark "
            "the line `# agent-readiness: ignore <reason>`\n"
        )
    if scan.incomplete is not None:
        out.write(f"{scan.root}: error: GOV-010 {scan.incomplete}\n")
        return EXIT_NOT_READY
    return EXIT_NOT_READY if strays else EXIT_OK


def _near(root: str, where: str) -> str:
    """``where`` ('file:line...', the file relative to ``root``) with the file relative to the
    working directory, when it can be."""
    file, colon, rest = where.partition(":")
    try:
        shown = os.path.relpath(Path(root, file))
    except ValueError:  # another drive on Windows
        shown = str(Path(root, file))
    return shown + colon + rest


def _installed_checks() -> set[str]:
    """The ids of the checks ``pytest --readiness`` would know here: the built-in catalogue and
    every installed policy pack (``pytest11`` plugins implementing ``pytest_readiness_checks``)."""
    import pytest

    from .inputs import registry_of

    plugins = pytest.PytestPluginManager()
    config = pytest.Config(
        plugins,
        invocation_params=pytest.Config.InvocationParams(args=(), plugins=None, dir=Path.cwd()),
    )
    plugins.load_setuptools_entrypoints("pytest11")
    registered = plugins.hook.pytest_readiness_checks(config=config)
    return set(registry_of(reversed(registered)).checks)


def _iso_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date YYYY-MM-DD, got {text!r}") from None


def _cmd_init(args: argparse.Namespace, out: TextIO) -> int:
    from .init import detect_framework, prompt_path, render_adapter, render_manifest, render_prompt

    root = Path(args.directory)
    if not root.is_dir():
        what = "not a directory" if root.exists() else "no such directory"
        raise InvalidInput(f"{root}: {what}; create the repository's directory first")
    target = root / "agent-readiness.yaml"
    # The adapter goes in the root conftest.py when there is none; beside it otherwise.
    adapter = root / (
        "conftest.py" if not (root / "conftest.py").exists() else "readiness_adapter.py"
    )
    for path in (target, adapter):
        if path.exists() and not args.force:
            raise InvalidInput(f"{path} already exists; pass --force to overwrite it")
    prompt = root / prompt_path(root)
    try:
        target.write_text(render_manifest(root, adapter.name), encoding="utf-8")
        adapter.write_text(render_adapter(root, adapter.name), encoding="utf-8")
        # A prompt that is already there is the team's: it is locked as it is, never replaced.
        wrote_prompt = not prompt.exists()
        if wrote_prompt:
            prompt.parent.mkdir(parents=True, exist_ok=True)
            prompt.write_text(render_prompt(root), encoding="utf-8")
    except OSError as error:
        raise InvalidInput(f"{root}: cannot write the starting files: {_reason(error)}") from None
    framework = detect_framework(root)
    out.write(
        f"wrote {target}: the manifest; its comments mark what to do (TO DO 1-5) before the "
        "gate can say ready\n"
        f"wrote {adapter}: the adapter the run-time probes drive the agent through ("
        + (
            "a complete minimal plain-Python agent with its guardrails in code)\n"
            if framework == "plain"
            else f"{framework}: a stub to fill in; until it builds the agent, the probes fail)\n"
        )
    )
    out.write(
        f"{'wrote' if wrote_prompt else 'kept'} {prompt}: the agent's system prompt, version "
        "1.0.0\n"
    )
    out.write(_init_lock(target) + "\n")
    if adapter.name != "conftest.py":
        out.write(f'add pytest_plugins = ["{adapter.stem}"] to {root / "conftest.py"}\n')
    out.write("next: run `pytest --readiness`; it ends with what is left to do\n")
    return EXIT_OK


def _init_lock(manifest_path: Path) -> str:
    """Pin the starting prompt in the lock beside ``manifest_path``; say what was done."""
    from .lock import LOCK_NAME, LockError, build_lock, lock_path_for, read_lock, write_lock
    from .manifest import ManifestError, load_manifest

    try:
        manifest = load_manifest(manifest_path)
        target = lock_path_for(manifest)
        previous = read_lock(target) if target.is_file() else None
        write_lock(target, build_lock(manifest, previous))
    except (ManifestError, LockError) as error:
        # The manifest and adapter are written and usable; INF-005 will say the same again.
        return f"did not lock the prompt ({error}); fix that, then run `agent-readiness lock`"
    except OSError as error:
        return f"did not write {LOCK_NAME}: {_reason(error)}; run `agent-readiness lock`"
    return f"wrote {manifest_path.parent / LOCK_NAME}: the prompt pinned by hash at 1.0.0"


REPORT_FORMATS = ("text", "json", "markdown", "junit", "sarif", "github", "html", "badge")
DIFF_FORMATS = ("text", "markdown", "json")
FAIL_ON = ("blocker", "not-ready", "never")


def _load(path_text: str, what: str = "scorecard") -> dict[str, Any]:
    from .scorecard import ScorecardError, load_scorecard

    path = Path(path_text)
    if path.is_dir():
        raise InvalidInput(f"{what}: {path}: is a directory, not a scorecard file")
    try:
        return load_scorecard(path)
    except ScorecardError as error:
        raise InvalidInput(f"{what}: {error}") from None
    except OSError as error:
        raise InvalidInput(f"{what}: {path}: cannot read it: {_reason(error)}") from None


def _is_ready(scorecard: Mapping[str, Any]) -> bool:
    from .reports._text import view

    # view() fails closed: anything but a complete run with verdict "ready" is not ready.
    return view(scorecard).ready


def render_report(
    format: str, scorecard: Mapping[str, Any], *, base: Mapping[str, Any] | None = None
) -> str:
    """``scorecard`` rendered in ``format`` (one of :data:`REPORT_FORMATS`); ``base`` only for
    markdown, where it adds the change against the base branch's scorecard."""
    # Each format's renderer is imported when that format is asked for (start-up cost).
    from .reports import RENDERERS

    if base is not None and format != "markdown":
        raise ValueError(f"a base scorecard only applies to the markdown format, not {format!r}")
    if format == "text":
        from .reports.terminal import render_text

        return render_text(scorecard)
    if format == "json":
        from .scorecard import dumps

        return dumps(scorecard)
    if format == "markdown":
        from .reports.markdown import render_markdown

        return render_markdown(scorecard, base=base)
    if format not in RENDERERS:
        raise ValueError(f"unknown report format {format!r}; expected one of: {REPORT_FORMATS}")
    return RENDERERS[format](scorecard)


def _write(text: str, output: str | None, out: TextIO, option: str = "--output") -> None:
    if not output:
        out.write(text)
        return
    from .scorecard import write_atomic

    path = Path(output)
    if path.is_dir():
        raise InvalidInput(f"{option} {output}: is a directory; name a file to write")
    try:
        write_atomic(path, text)
    except OSError as error:
        raise InvalidInput(f"{option} {output}: cannot write it: {_reason(error)}") from None


def _cmd_report(args: argparse.Namespace, out: TextIO) -> int:
    if args.base is not None and args.format != "markdown":
        raise InvalidInput(
            f"--base compares scorecards in markdown only, not --format {args.format}"
        )
    scorecard = _load(args.scorecard)
    base = _load(args.base, "--base") if args.base is not None else None
    _write(render_report(args.format, scorecard, base=base), args.output, out)
    return EXIT_OK if _is_ready(scorecard) else EXIT_NOT_READY


def _cmd_diff(args: argparse.Namespace, out: TextIO) -> int:
    import json

    from .diff import diff_as_json, diff_scorecards, render_diff_text
    from .reports.markdown import render_markdown_diff

    base = _load(args.base, "base")
    head = _load(args.head, "head")
    if args.format == "markdown":
        text = render_markdown_diff(base, head)
    else:
        changes = diff_scorecards(base, head)
        if args.format == "json":
            text = json.dumps(diff_as_json(changes), indent=2, sort_keys=True) + "\n"
        else:
            text = render_diff_text(changes)
    _write(text, args.output, out)
    return EXIT_OK if _is_ready(head) else EXIT_NOT_READY


def _cmd_merge(args: argparse.Namespace, out: TextIO) -> int:
    from .catalogue import BUILTIN_CHECKS
    from .checks import CheckRegistry
    from .manifest import ManifestError, load_manifest
    from .reports.terminal import render_text
    from .scorecard import dumps
    from .shards import MergeError, merge, read_partial

    try:
        partials = [read_partial(Path(path)) for path in args.partials]
        shown = str(partials[0].document["manifest"]["path"]) if partials else ""
        manifest_path = _manifest_file(args.manifest or shown, " (pass --manifest)")
        manifest = load_manifest(manifest_path, display=shown or str(manifest_path))
        registry = CheckRegistry()
        registry.extend(BUILTIN_CHECKS)
        scorecard = merge(partials, manifest, registry)
    except (MergeError, ManifestError) as error:
        raise InvalidInput(str(error)) from None
    except OSError as error:  # a partial that is a directory or unreadable
        raise InvalidInput(f"{error.filename}: cannot read it: {_reason(error)}") from None
    _write(dumps(scorecard), args.output, out)
    out.write(render_text(scorecard))
    out.write(f"merged {len(partials)} shards into {args.output}\n")
    return EXIT_OK if scorecard["verdict"] == "ready" else EXIT_NOT_READY


def _cmd_lock(args: argparse.Namespace, out: TextIO) -> int:
    from .lock import (
        LOCK_NAME,
        LockError,
        build_lock,
        lock_path_for,
        read_lock,
        record_version,
        write_lock,
    )
    from .manifest import ManifestError, load_manifest

    path = _manifest_file(args.manifest)
    if args.check and args.record:
        raise InvalidInput("--check never writes the lock; run --record without it")
    try:
        manifest = load_manifest(path, display=str(args.manifest))
        target = lock_path_for(manifest)
        previous = read_lock(target) if target.is_file() else None
        if args.check:
            return _check_lock(manifest, previous, path.parent / LOCK_NAME, out)
        lock = build_lock(manifest, previous)
        for spec in args.record:
            prompt, _, rest = spec.partition("@")
            version, _, content_file = rest.partition("=")
            if not (prompt and version and content_file):
                raise InvalidInput(f"--record {spec!r}: expected PROMPT@VERSION=FILE")
            try:
                content = Path(content_file).read_bytes()
            except OSError as error:
                raise InvalidInput(f"--record {spec!r}: {error}") from None
            lock = record_version(lock, prompt, version, content)
    except (ManifestError, LockError) as error:
        raise InvalidInput(str(error)) from None
    try:
        write_lock(target, lock)
    except OSError as error:
        raise InvalidInput(f"{target}: cannot write the lock: {_reason(error)}") from None
    pins = ", ".join(
        f"{p.path}@{p.version}" for p in sorted(lock.prompts.values(), key=lambda p: p.path)
    )
    # The lock sits beside the manifest: name it the way the manifest was named.
    out.write(f"wrote {path.parent / LOCK_NAME}: {pins or 'no prompts declared'}\n")
    return EXIT_OK


def _check_lock(manifest: Any, lock: Any, shown: Path, out: TextIO) -> int:
    """``lock --check``: exit 1 naming each prompt the lock does not pin as it is now (and what
    to run), 0 when the lock is what ``agent-readiness lock`` would write; never writes."""
    from .lock import LOCK_COMMAND, LockError, build_lock, dumps_lock, verify

    findings = verify(manifest, lock, lock_path_display=str(shown))
    for finding in findings:
        line = manifest.line_of("agents", finding.agent, "prompts", finding.prompt_index, "version")
        out.write(f"{manifest.path}:{line}: error: {finding.message}\n")
    if findings:
        return EXIT_NOT_READY
    try:
        current = dumps_lock(build_lock(manifest, lock))
    except LockError as error:
        raise InvalidInput(str(error)) from None
    if lock is not None and current != dumps_lock(lock):
        # Every declared prompt is pinned, but the lock still holds what the manifest dropped.
        undeclared = sorted(set(lock.prompts) - set(build_lock(manifest, lock).prompts))
        what = (
            f"pins prompts no longer declared: {', '.join(undeclared)}"
            if undeclared
            else ("is not what the lock command writes")
        )
        out.write(f"{shown}: error: {what}; run `{LOCK_COMMAND}` and commit the lock\n")
        return EXIT_NOT_READY
    out.write(
        f"{shown}: current\n" if lock is not None else "no prompts declared: nothing to pin\n"
    )
    return EXIT_OK


def _cmd_schema(args: argparse.Namespace, out: TextIO) -> int:
    import json

    from .manifest import manifest_schema

    _write(json.dumps(manifest_schema(), indent=2) + "\n", args.output, out)
    return EXIT_OK


def _cmd_inventory(args: argparse.Namespace, out: TextIO) -> int:
    from .inventory import InventoryError
    from .inventory_cli import run_inventory

    try:
        text, findings = run_inventory(args, os.environ, sys.stderr)
    except InventoryError as error:
        raise InvalidInput(str(error)) from None
    _write(text, args.output, out)
    return EXIT_NOT_READY if findings else EXIT_OK


# --- agent-readiness github: what the Action runs after pytest
def _add_github_parser(commands: Any) -> None:
    github = commands.add_parser(
        "github",
        help="publish a scorecard in GitHub Actions: summary, outputs, PR comment, annotations",
        description="Append the scorecard to the job summary, set step outputs, upsert one "
        "sticky pull request comment and print annotations; then exit with the gate's "
        "verdict (per --fail-on) whatever happened on the API.",
        epilog="exit codes: 0 the gate passes (per --fail-on), 1 it fails, 2 invalid input "
        "(not a scorecard, or one not produced by this workflow run), 3 internal error",
    )
    github.add_argument("scorecard", help="the scorecard this run wrote (--readiness-json)")
    github.add_argument(
        "--manifest",
        help="the manifest path for the comment's marker (default: the scorecard's)",
    )
    github.add_argument("--job", help="the job name for the comment's marker (default: GITHUB_JOB)")
    github.add_argument(
        "--comment",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="upsert the sticky pull request comment (default: on)",
    )
    github.add_argument(
        "--annotations",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="print workflow-command annotations on the manifest lines (default: on)",
    )
    github.add_argument(
        "--fail-on",
        choices=FAIL_ON,
        default="not-ready",
        help="blocker: fail only on a failed critical check, a dimension under the gate's "
        "minimum or an incomplete run; not-ready: fail whenever the verdict is not ready "
        "(default); never: always exit 0",
    )
    github.add_argument(
        "--token-env",
        default="GITHUB_TOKEN",
        metavar="NAME",
        help="the environment variable holding the token (default: GITHUB_TOKEN)",
    )
    github.add_argument(
        "--report-url",
        metavar="URL",
        help="where the full report lives, linked when the comment is cut (default: this run)",
    )
    github.add_argument(
        "--base",
        metavar="BASE.json",
        help="the base branch's scorecard, to show the change against it in the comment",
    )
    github.add_argument(
        "--pull-request-file",
        metavar="FILE",
        help="under a workflow_run event: the file from the pull request run's artifact that "
        "holds its number (the scorecard must come from that run: github.event.workflow_run.id)",
    )
    github.add_argument(
        "--api-timeout",
        type=float,
        default=10.0,
        metavar="SECONDS",
        help="timeout of one GitHub API request (default 10)",
    )
    github.add_argument(
        "--api-max-wait",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="the most time spent waiting between API retries (default 60)",
    )
    github.set_defaults(run=_cmd_github)


def gate_fails(scorecard: Mapping[str, Any], fail_on: str) -> bool:
    """Whether the job should fail for ``scorecard`` under the ``--fail-on`` policy.

    ``blocker`` fails on a failed critical check of a gated agent, a project dimension under
    ``min_dimension``, or an incomplete run (which can certify nothing); ``not-ready`` on any
    verdict but ready; ``never`` never.
    """
    from .model import DIMENSIONS
    from .reports._text import below_gate, finding, view

    card = view(scorecard)
    if fail_on == "never":
        return False
    if fail_on == "not-ready":
        return not card.ready
    if fail_on != "blocker":
        raise ValueError(f"fail_on must be one of {FAIL_ON}, got {fail_on!r}")
    critical = any(
        finding(agent, check) == "error" for agent in card.agents for check in agent.checks
    )
    low = any(below_gate(card.dimensions[name], card.min_dimension) for name in DIMENSIONS)
    return card.incomplete or critical or low


def check_same_run(scorecard: Mapping[str, Any], environ: Mapping[str, str], path: str) -> None:
    """Refuse a scorecard another workflow run (or attempt) wrote, when GITHUB_RUN_ID is set."""
    run_id = environ.get("GITHUB_RUN_ID", "").strip()
    if not run_id:
        return
    expected = {"github_run_id": run_id}
    attempt = environ.get("GITHUB_RUN_ATTEMPT", "").strip()
    if attempt:
        expected["github_run_attempt"] = attempt
    _check_recorded_run(
        scorecard,
        expected,
        f"{path}: this scorecard was not produced by this workflow run",
        "this run's",
        "Run pytest --readiness --readiness-json in this job first.",
    )


def check_origin_run(scorecard: Mapping[str, Any], origin: WorkflowRunOrigin, path: str) -> None:
    """Refuse a scorecard that the run a ``workflow_run`` event reports on did not write."""
    _check_recorded_run(
        scorecard,
        origin.run,
        f"{path}: this scorecard was not produced by the run that triggered this workflow "
        f"(run {origin.run_id}, attempt {origin.run_attempt})",
        "that run's",
        "Download the artifact of github.event.workflow_run.id.",
    )


def _check_recorded_run(
    scorecard: Mapping[str, Any],
    expected: Mapping[str, str],
    refusal: str,
    whose: str,
    advice: str,
) -> None:
    run = scorecard.get("run")
    recorded = run if isinstance(run, Mapping) else {}
    for key, value in expected.items():
        found = recorded.get(key)
        if found != value:
            raise InvalidInput(
                f"{refusal} ({key} is {found!r}, {whose} is {value!r}); refusing "
                f"to report a stale or foreign result as this run's. {advice}"
            )


# An artifact's pull request number: a positive integer and nothing else, read from a
# file the pull request's own run wrote (untrusted), so the read is bounded.
_PULL_REQUEST_FILE_MAX_BYTES = 64


def read_pull_request_number(path_text: str) -> int:
    """The pull request number in ``path_text`` (a file from an artifact; untrusted)."""
    import re

    path = Path(path_text)
    try:
        with path.open("rb") as handle:
            data = handle.read(_PULL_REQUEST_FILE_MAX_BYTES + 1)
    except OSError as error:
        raise InvalidInput(f"--pull-request-file {path}: {error.strerror or error}") from None
    text = data.decode("ascii", "replace").strip()
    if len(data) > _PULL_REQUEST_FILE_MAX_BYTES or not re.fullmatch(r"[1-9][0-9]{0,9}", text):
        shown = ascii(data[:40].decode("utf-8", "replace"))
        raise InvalidInput(
            f"--pull-request-file {path}: line 1: expected a pull request number (a positive "
            f"integer), got {shown}"
        )
    return int(text)


def _env_for_origin(
    env: GitHubEnv, origin: WorkflowRunOrigin, pull_request_file: str | None
) -> GitHubEnv:
    """``env`` aimed at the pull request the originating run tested, when it tested one."""
    import dataclasses

    if origin.event != "pull_request":
        return env
    if pull_request_file is not None:
        number = read_pull_request_number(pull_request_file)
    elif len(origin.pull_requests) == 1:
        number = origin.pull_requests[0]
    else:
        raise InvalidInput(
            "workflow_run: the event does not name the run's pull request (GitHub leaves "
            "workflow_run.pull_requests empty for forks); pass --pull-request-file from the "
            "run's artifact"
        )
    # This run holds the base repository's token: not the fork's read-only one.
    return dataclasses.replace(env, pull_request_number=number, is_fork=False)


def _cmd_github(args: argparse.Namespace, out: TextIO) -> int:
    from .github import (
        GitHubClient,
        GitHubEnv,
        GitHubEnvError,
        mask_token,
        publish,
        runs_in_github_actions,
        sticky_marker,
        warning_command,
    )
    from .model import DIMENSIONS
    from .reports import render_annotations, render_markdown, wrap_untrusted
    from .reports.terminal import render_text

    token = os.environ.get(args.token_env, "").strip()
    # Before any other output, so the runner hides the token in every later line (publish
    # is told not to repeat it); outside Actions nothing is printed.
    mask_token(token, out, in_actions=runs_in_github_actions(os.environ))
    for option, value in (
        ("--api-timeout", args.api_timeout),
        ("--api-max-wait", args.api_max_wait),
    ):
        if not 0 < value <= 3600:
            raise InvalidInput(f"{option}: expected seconds between 0 and 3600, got {value}")
    scorecard = _load(args.scorecard)
    try:
        env = GitHubEnv.from_environ(os.environ, token_env=args.token_env)
    except GitHubEnvError as error:
        raise InvalidInput(str(error)) from None
    origin = env.workflow_run
    if origin is None:
        if args.pull_request_file is not None:
            raise InvalidInput(
                "--pull-request-file: only under a workflow_run event, where the pull request's "
                "run handed over its scorecard as an artifact"
            )
        check_same_run(scorecard, os.environ, args.scorecard)
    else:
        check_origin_run(scorecard, origin, args.scorecard)
        env = _env_for_origin(env, origin, args.pull_request_file)
    base = _load(args.base, "--base") if args.base is not None else None
    manifest = args.manifest or str(scorecard.get("manifest", {}).get("file") or "")
    marker = sticky_marker(manifest or "agent-readiness.yaml", args.job or env.job or "readiness")
    report_url = args.report_url or _run_url(env, origin)
    dimensions: Mapping[str, Any] = scorecard.get("dimensions", {})
    outputs: dict[str, str] = {
        "verdict": "ready" if _is_ready(scorecard) else "not_ready",
        "total": str(scorecard.get("total", "")),
    }
    outputs.update({name: str(dimensions.get(name, "")) for name in DIMENSIONS})
    outputs["scorecard-path"] = str(Path(args.scorecard).resolve())
    client = None
    comment = args.comment
    if token and env.pull_request_number is not None and comment:
        client = GitHubClient(
            env.api_url, token, timeout=args.api_timeout, max_total_wait_s=args.api_max_wait
        )
    try:
        if client is not None and origin is not None:
            refusal = _origin_refusal(client, env, origin)
            if refusal is not None:
                # Not an error: most often a newer push, whose own run will comment.
                out.write(warning_command(f"Not posting the pull request comment: {refusal}"))
                out.write("\n")
                comment = False
        publish(
            env,
            summary_markdown=render_markdown(
                scorecard, base=base, max_chars=_SUMMARY_CHARS, full_report_url=report_url
            ),
            comment_markdown=render_markdown(
                scorecard, base=base, max_chars=_COMMENT_CHARS, full_report_url=report_url
            ),
            annotations_text=render_annotations(scorecard) if args.annotations else "",
            outputs=outputs,
            marker=marker,
            comment=comment,
            stdout=out,
            stderr=sys.stderr,
            client=client,
            mask=False,
        )
    finally:
        if client is not None:
            client.close()
    # Project text (reasons, names) in the log cannot run workflow commands.
    out.write(wrap_untrusted(render_text(scorecard)))
    failing = gate_fails(scorecard, args.fail_on)
    verdict = outputs["verdict"]
    sys.stderr.write(
        f"agent-readiness github: verdict {verdict}; --fail-on {args.fail_on}: "
        f"{'failing' if failing else 'passing'} the job\n"
    )
    return EXIT_NOT_READY if failing else EXIT_OK


# The summary may hold 1 MiB per step (github.append_step_summary cuts by bytes); the comment
# leaves room under GitHub's 65,536 characters for the hidden marker line.
_SUMMARY_CHARS = 900_000
_COMMENT_CHARS = 65_000


def _origin_refusal(client: GitHubClient, env: GitHubEnv, origin: WorkflowRunOrigin) -> str | None:
    """Why the originating run may not comment on the pull request ``env`` names, if it may not.

    API trouble here refuses too: an unconfirmed number is not one to post on.
    """
    from .github import GitHubError, printable, stale_pull_request

    number = env.pull_request_number
    if env.repository is None or number is None:
        return None  # publish says why there is nothing to comment on
    try:
        return stale_pull_request(client, env.repository, number, origin)
    except GitHubError as error:
        return printable(f"could not confirm pull request #{number}'s head commit: {error}")


def _run_url(env: GitHubEnv, origin: WorkflowRunOrigin | None) -> str | None:
    # The originating run holds the full report when this step publishes another run's.
    run_id = origin.run_id if origin is not None else env.run_id
    if env.repository and run_id:
        return f"{env.server_url}/{env.repository}/actions/runs/{run_id}"
    return None


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="agent-readiness",
        description="Readiness gate for LLM-agent projects (the CLI side of pytest --readiness).",
        epilog="exit codes: 0 ready/valid, 1 not ready, 2 invalid input, 3 internal error",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    init = commands.add_parser("init", help="write a commented starting agent-readiness.yaml")
    init.add_argument("directory", nargs="?", default=".", help="the repository (default: .)")
    init.add_argument("--force", action="store_true", help="overwrite an existing manifest")
    init.set_defaults(run=_cmd_init)

    validate = commands.add_parser(
        "validate",
        help="check a manifest and everything pytest --readiness reads before it scores, and "
        "the code for agents it does not declare",
        epilog="exit 0 when pytest --readiness would accept it, 1 when the code builds an agent "
        "the manifest does not declare (GOV-010), 2 when the gate would refuse the manifest (or "
        "not apply a waiver)",
    )
    validate.add_argument("manifest", nargs="?", default="agent-readiness.yaml")
    validate.add_argument(
        "--as-of",
        type=_iso_date,
        metavar="YYYY-MM-DD",
        help="judge waiver expiries as of this day, as --readiness-as-of does (default: today)",
    )
    validate.set_defaults(run=_cmd_validate)

    report = commands.add_parser("report", help="render a scorecard JSON")
    report.add_argument("scorecard", help="a scorecard written by pytest --readiness-json")
    report.add_argument("--format", choices=REPORT_FORMATS, default="text")
    report.add_argument("--output", help="write here (atomically) instead of standard output")
    report.add_argument(
        "--base",
        metavar="BASE.json",
        help="markdown only: the base branch's scorecard, to show what changed against it",
    )
    report.set_defaults(run=_cmd_report)

    diff = commands.add_parser(
        "diff",
        help="what got better or worse between two scorecards",
        epilog="exit 0 when HEAD is ready, 1 when it is not, 2 when either file is not a scorecard",
    )
    diff.add_argument("base", help="the base scorecard (e.g. from the target branch)")
    diff.add_argument("head", help="the scorecard to compare with it")
    diff.add_argument("--format", choices=DIFF_FORMATS, default="text")
    diff.add_argument("--output", help="write here (atomically) instead of standard output")
    diff.set_defaults(run=_cmd_diff)

    _add_github_parser(commands)

    from .inventory_cli import add_inventory_parser

    add_inventory_parser(commands, _cmd_inventory)

    schema = commands.add_parser("schema", help="print the manifest's JSON Schema (for editors)")
    schema.add_argument("--output", help="write here instead of standard output")
    schema.set_defaults(run=_cmd_schema)

    merge = commands.add_parser(
        "merge", help="judge the partial scorecards of sharded runs together (--readiness-shard)"
    )
    merge.add_argument("partials", nargs="+", help="one partial scorecard per shard")
    merge.add_argument("--output", required=True, help="where to write the merged scorecard")
    merge.add_argument(
        "--manifest", help="the manifest the shards ran with (default: the path they recorded)"
    )
    merge.set_defaults(run=_cmd_merge)

    lock = commands.add_parser(
        "lock", help="pin each declared prompt's version to its content hash (agent-readiness.lock)"
    )
    lock.add_argument("manifest", nargs="?", default="agent-readiness.yaml")
    lock.add_argument(
        "--record",
        action="append",
        default=[],
        metavar="PROMPT@VERSION=FILE",
        help="also record an older version's content (e.g. from `git show`), so rollback_to "
        "can name it (repeatable)",
    )
    lock.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 when the lock is missing or does not pin every prompt as it "
        "is now (a prompt changed without `agent-readiness lock`), 0 when it is current",
    )
    lock.set_defaults(run=_cmd_lock)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        # argparse exits 2 on bad arguments (our "invalid input") and 0 on --help/--version.
        return int(exit_.code or 0)
    try:
        code: int = args.run(args, sys.stdout)
        return code
    except InvalidInput as error:
        sys.stderr.write(f"agent-readiness {args.command}: {error}\n")
        return EXIT_INVALID
    except Exception:
        sys.stderr.write(
            f"agent-readiness {args.command}: internal error (this is a bug; nothing was "
            "judged ready):\n" + traceback.format_exc()
        )
        return EXIT_INTERNAL


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
