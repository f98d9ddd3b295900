"""The ``agent-readiness`` command line: what happens outside a test run.

Exit codes: 0 ready / valid, 1 the gate fails, 2 invalid input (manifest, scorecard,
arguments), 3 an internal error. An internal error is never reported as ready.
"""

from __future__ import annotations

import argparse
import sys
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TextIO

from . import __version__

EXIT_OK = 0
EXIT_NOT_READY = 1
EXIT_INVALID = 2
EXIT_INTERNAL = 3


class InvalidInput(Exception):
    """A user's input the command cannot use; the message says what and where."""


def _cmd_validate(args: argparse.Namespace, out: TextIO) -> int:
    from .catalogue import BUILTIN_CHECKS
    from .manifest import ManifestError, load_manifest

    path = Path(args.manifest)
    if not path.is_file():
        raise InvalidInput(f"{path}: no such manifest")
    try:
        manifest = load_manifest(path, display=str(args.manifest))
    except ManifestError as error:
        raise InvalidInput(str(error)) from None
    known = {check.id for check in BUILTIN_CHECKS}
    for waiver in manifest.waivers:
        if waiver.check not in known:
            line = manifest.line_of("waivers", waiver.index, "check")
            out.write(
                f"{path}:{line}: note: waiver names {waiver.check}, not a built-in check; "
                "pytest --readiness checks it against installed policy packs\n"
            )
    agents = len(manifest.agents)
    out.write(f"{path}: valid ({agents} agent{'s' * (agents != 1)})\n")
    return EXIT_OK


def _cmd_init(args: argparse.Namespace, out: TextIO) -> int:
    from .init import render_manifest

    root = Path(args.directory)
    target = root / "agent-readiness.yaml"
    if target.exists() and not args.force:
        raise InvalidInput(f"{target} already exists; pass --force to overwrite it")
    target.write_text(render_manifest(root), encoding="utf-8")
    out.write(
        f"wrote {target}: fill in the owners, then run `pytest --readiness`\n"
        "(it scores as not ready until a named person owns each agent)\n"
    )
    return EXIT_OK


def _cmd_report(args: argparse.Namespace, out: TextIO) -> int:
    from .reports.terminal import render_text
    from .scorecard import ScorecardError, dumps, load_scorecard

    try:
        scorecard = load_scorecard(Path(args.scorecard))
    except ScorecardError as error:
        raise InvalidInput(str(error)) from None
    renderers: dict[str, Callable[[dict[str, object]], str]] = {
        "text": render_text,
        "json": dumps,
    }
    text = renderers[args.format](scorecard)
    if args.output:
        from .scorecard import write_atomic

        write_atomic(Path(args.output), text)
    else:
        out.write(text)
    return EXIT_OK if scorecard["verdict"] == "ready" else EXIT_NOT_READY


def _cmd_schema(args: argparse.Namespace, out: TextIO) -> int:
    import json

    from .manifest import manifest_schema

    text = json.dumps(manifest_schema(), indent=2) + "\n"
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
    else:
        out.write(text)
    return EXIT_OK


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

    validate = commands.add_parser("validate", help="check a manifest against the schema")
    validate.add_argument("manifest", nargs="?", default="agent-readiness.yaml")
    validate.set_defaults(run=_cmd_validate)

    report = commands.add_parser("report", help="render a scorecard JSON")
    report.add_argument("scorecard", help="a scorecard written by pytest --readiness-json")
    report.add_argument("--format", choices=["text", "json"], default="text")
    report.add_argument("--output", help="write here instead of standard output")
    report.set_defaults(run=_cmd_report)

    schema = commands.add_parser("schema", help="print the manifest's JSON Schema (for editors)")
    schema.add_argument("--output", help="write here instead of standard output")
    schema.set_defaults(run=_cmd_schema)
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
