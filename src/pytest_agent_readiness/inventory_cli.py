"""``agent-readiness inventory``: its arguments, and the run from sources to rendered text."""

from __future__ import annotations

import argparse
import datetime as dt
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TextIO

from .inventory import (
    MAX_AGENTS_PER_OWNER,
    PILOT_MAX_DAYS,
    STALE_SCORECARD_DAYS,
    InventoryError,
    Thresholds,
    build_inventory,
    collect_files,
    read_base,
)

INVENTORY_FORMATS = ("text", "markdown", "json", "csv", "html")


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from None


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive whole number")
    return int(text)


def add_inventory_parser(commands: Any, run: Callable[..., int]) -> None:
    """The ``inventory`` subcommand's arguments."""
    inventory = commands.add_parser(
        "inventory",
        help="one report of every agent across many scorecards (files, directories, an org)",
        epilog="exit 0 when nothing needs attention, 1 when something does, 2 on bad input",
    )
    inventory.add_argument(
        "sources", nargs="*", metavar="SOURCE", help="scorecard files or directories (recursive)"
    )
    inventory.add_argument(
        "--github-org",
        metavar="ORG",
        help="also read each repository's newest scorecard artifact (GITHUB_TOKEN; GHES through "
        "GITHUB_API_URL)",
    )
    inventory.add_argument("--format", choices=INVENTORY_FORMATS, default="text")
    inventory.add_argument("--output", help="write here (atomically) instead of standard output")
    inventory.add_argument(
        "--as-of", type=_date, metavar="DATE", help="judge ages against this date (default: today)"
    )
    inventory.add_argument(
        "--base", metavar="PREVIOUS.json", help="a previous `--format json` inventory: what changed"
    )
    inventory.add_argument(
        "--stale-days", type=_positive, default=STALE_SCORECARD_DAYS, metavar="DAYS"
    )
    inventory.add_argument("--pilot-days", type=_positive, default=PILOT_MAX_DAYS, metavar="DAYS")
    inventory.add_argument(
        "--max-agents-per-owner", type=_positive, default=MAX_AGENTS_PER_OWNER, metavar="N"
    )
    inventory.set_defaults(run=run)


def run_inventory(
    args: argparse.Namespace, environ: Mapping[str, str], log: TextIO
) -> tuple[str, bool]:
    """The rendered inventory and whether it has findings (InventoryError on bad input)."""
    from .reports.inventory import INVENTORY_RENDERERS

    if not args.sources and not args.github_org:
        raise InventoryError("name at least one scorecard file or directory, or --github-org ORG")
    base = read_base(Path(args.base)) if args.base is not None else None
    cards, unreadable = collect_files(args.sources)
    unregistered: list[Any] = []
    if args.github_org:
        from .inventory_github import collect_org

        org = collect_org(args.github_org, environ, log)
        cards += org.cards
        unreadable += org.unreadable
        unregistered = list(org.unregistered)
    inventory = build_inventory(
        cards,
        as_of=args.as_of or dt.datetime.now(dt.timezone.utc).date(),
        unreadable=unreadable,
        unregistered=unregistered,
        base=base,
        thresholds=Thresholds(
            stale_days=args.stale_days,
            pilot_days=args.pilot_days,
            max_agents_per_owner=args.max_agents_per_owner,
        ),
    )
    return INVENTORY_RENDERERS[args.format](inventory), bool(inventory.findings)
