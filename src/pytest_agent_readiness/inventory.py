"""The organisation's agent inventory: every agent across many scorecards, and what needs a human.

Scorecards come from files and directories (:func:`collect_files`) or from each repository's
newest scorecard artifact (:mod:`.inventory_github`); :func:`build_inventory` folds them into one
:class:`Inventory` of agents, findings, a board view and, against a previous inventory, what
changed. Renderers (:mod:`.reports.inventory`) read the inventory and nothing else.
"""

from __future__ import annotations

import datetime as dt
import json
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .model import DIMENSIONS, STAGES

INVENTORY_VERSION = 1
# The Action uploads each run's scorecard under this artifact name; org mode looks for it.
ARTIFACT_NAME = "agent-readiness-scorecard"
REVIEW_MAX_AGE_DAYS = 90
WAIVER_WARNING_DAYS = 14
STALE_SCORECARD_DAYS = 30
PILOT_MAX_DAYS = 90
MAX_AGENTS_PER_OWNER = 5
# The check that says whether permissions were reviewed in time: what a scorecard written before
# ``permissions_reviewed`` was recorded still tells.
PERMISSIONS_REVIEW_CHECK = "GOV-005"
# The named-owner check: a placeholder ("TBD", a team alias) is written down but names no one.
OWNER_CHECK = "GOV-001"
# Dependency names (PEP 503-normalised) that mean "this repository builds an agent".
AGENT_FRAMEWORKS: tuple[str, ...] = ("pydantic-ai", "langgraph", "langchain", "openai-agents")

# Finding kinds, in the order a reader should meet them.
FINDING_KINDS: Mapping[str, str] = {
    "unreadable": "Newest scorecard could not be read",
    "unregistered": "Builds an agent but publishes no scorecard",
    "no_owner": "No named owner",
    "critical_not_proven": "Critical control declared but not proven",
    "review_overdue": f"Permission review overdue ({REVIEW_MAX_AGE_DAYS} days)",
    "waiver_expired": "Waiver expired",
    "waiver_expiring": f"Waiver expires within {WAIVER_WARNING_DAYS} days",
    "stale_scorecard": "Stale scorecard",
    "pilot_too_long": "Pilot that has not graduated",
    "owner_overloaded": "One owner accountable for too many agents",
}


class InventoryError(Exception):
    """An input the inventory cannot use at all (exit 2): the message says what and where."""


@dataclass(frozen=True)
class Thresholds:
    """When a finding is raised; the defaults are the ones the README documents."""

    stale_days: int = STALE_SCORECARD_DAYS
    pilot_days: int = PILOT_MAX_DAYS
    max_agents_per_owner: int = MAX_AGENTS_PER_OWNER
    review_days: int = REVIEW_MAX_AGE_DAYS
    waiver_warning_days: int = WAIVER_WARNING_DAYS


@dataclass(frozen=True)
class LoadedScorecard:
    """One scorecard that was read, with where it came from."""

    source: str  # the file, or ``owner/repo`` artifact N
    repository: str
    document: Mapping[str, Any]


@dataclass(frozen=True)
class Unreadable:
    """A source (file or repository) whose newest scorecard could not be read, and why."""

    source: str
    reason: str


@dataclass(frozen=True)
class Unregistered:
    """A repository whose dependency files name an agent framework but has no scorecard."""

    repository: str
    evidence: tuple[str, ...]  # "pyproject.toml: pydantic-ai"


@dataclass(frozen=True)
class Waiver:
    check: str
    expires: str | None
    status: str


@dataclass(frozen=True)
class AgentEntry:
    """One agent as its repository's newest scorecard describes it."""

    repository: str
    manifest: str
    name: str
    owner: str | None
    owner_named: bool  # an owner written down that the owner check accepts
    stage: str
    stage_changed: str | None
    days_in_stage: int | None
    dimensions: Mapping[str, int | None]
    total: int | None
    verdict: str  # the scorecard's: ready or not_ready
    proven_controls: tuple[str, ...]
    declared_not_proven: tuple[str, ...]  # critical controls only declared
    permissions_reviewed: str | None
    review_overdue: bool | None  # None: the scorecard cannot tell
    waivers: tuple[Waiver, ...]
    prompts: tuple[str, ...]  # "path@version"
    scorecard_as_of: str | None
    scorecard_age_days: int | None
    commit: str | None
    source: str

    @property
    def key(self) -> str:
        """What names this agent across inventories: repository, manifest and agent."""
        return f"{self.repository}:{self.manifest}:{self.name}"


@dataclass(frozen=True)
class Finding:
    """Something that needs someone's attention, with the agents (or repositories) behind it."""

    kind: str
    message: str
    agents: tuple[str, ...] = ()  # AgentEntry.key
    repository: str | None = None


@dataclass(frozen=True)
class Board:
    """The board's view: agents per stage and verdict, median score per dimension."""

    per_stage: Mapping[str, int]
    per_verdict: Mapping[str, int]
    median: Mapping[str, float | None]


@dataclass(frozen=True)
class Changes:
    """What changed since a previous inventory."""

    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    up: tuple[tuple[str, int, int], ...] = ()  # key, base total, total
    down: tuple[tuple[str, int, int], ...] = ()
    stage_moves: tuple[tuple[str, str, str], ...] = ()  # key, base stage, stage


@dataclass(frozen=True)
class Inventory:
    as_of: str
    agents: tuple[AgentEntry, ...]
    findings: tuple[Finding, ...]
    board: Board
    notes: tuple[str, ...] = ()
    unreadable: tuple[Unreadable, ...] = ()
    unregistered: tuple[Unregistered, ...] = ()
    changes: Changes | None = None
    thresholds: Thresholds = field(default_factory=Thresholds)


# --------------------------------------------------------------------------- reading files


def collect_files(sources: Sequence[str]) -> tuple[list[LoadedScorecard], list[Unreadable]]:
    """Every scorecard under ``sources`` (files, or directories searched recursively for
    ``*.json``); a file that is not a readable scorecard is returned as :class:`Unreadable`.

    A source that does not exist is bad input (InventoryError), not a finding."""
    from .scorecard import ScorecardError, load_scorecard

    loaded: list[LoadedScorecard] = []
    unreadable: list[Unreadable] = []
    for source in sources:
        root = Path(source)
        if root.is_dir():
            files = sorted(p for p in root.rglob("*.json") if p.is_file())
        elif root.is_file():
            files = [root]
        else:
            raise InventoryError(f"{source}: no such scorecard file or directory")
        for path in files:
            try:
                document = load_scorecard(path)
            except ScorecardError as error:
                unreadable.append(Unreadable(str(path), str(error)))
                continue
            except OSError as error:
                unreadable.append(Unreadable(str(path), f"cannot read it: {error.strerror}"))
                continue
            loaded.append(LoadedScorecard(str(path), repository_of(document, path), document))
    return loaded, unreadable


def repository_of(document: Mapping[str, Any], path: Path | None = None) -> str:
    """The repository a scorecard describes: the one its run recorded (GITHUB_REPOSITORY), else
    its project's name, else the directory it was found in."""
    run = document.get("run")
    if isinstance(run, Mapping) and isinstance(run.get("repository"), str):
        return str(run["repository"])
    if isinstance(document.get("project"), str) and document["project"]:
        return str(document["project"])
    return path.parent.name if path is not None else "(unknown)"


# --------------------------------------------------------------------------- building


def parse_date(text: object) -> dt.date | None:
    """A YYYY-MM-DD date, or None for anything else."""
    if not isinstance(text, str):
        return None
    try:
        return dt.date.fromisoformat(text[:10])
    except ValueError:
        return None


def _days(since: object, as_of: dt.date) -> int | None:
    day = parse_date(since)
    return None if day is None else (as_of - day).days


def _agent_entry(
    card: LoadedScorecard, name: str, raw: Mapping[str, Any], as_of: dt.date, limits: Thresholds
) -> AgentEntry:
    document = card.document
    checks = [c for c in raw.get("checks", []) if isinstance(c, Mapping)]
    proven = tuple(
        str(c["id"])
        for c in checks
        if c.get("full_level") == "proven" and c.get("level") == "proven"
    )
    declared_only = tuple(
        str(c["id"])
        for c in checks
        if c.get("severity") == "critical"
        and c.get("full_level") == "proven"
        and c.get("level") == "declared"
    )
    reviewed = raw.get("permissions_reviewed")
    if "permissions_reviewed" in raw:
        age = _days(reviewed, as_of)
        overdue: bool | None = age is None or age > limits.review_days
    else:  # a scorecard from before the date was recorded: its own check still tells
        review = next((c for c in checks if c.get("id") == PERMISSIONS_REVIEW_CHECK), None)
        overdue = None if review is None else not bool(review.get("passed"))
    waivers = tuple(
        Waiver(str(w.get("check")), w.get("expires"), str(w.get("status")))
        for w in document.get("waivers", [])
        if isinstance(w, Mapping) and w.get("agent") == name
    )
    run = document.get("run")
    commit = run.get("commit") if isinstance(run, Mapping) else None
    manifest = document.get("manifest")
    prompts = tuple(
        f"{p.get('path')}@{p.get('version')}"
        for p in raw.get("prompts", [])
        if isinstance(p, Mapping)
    )
    owner_check = next((c for c in checks if c.get("id") == OWNER_CHECK), None)
    owner = raw.get("owner") or None
    named = owner is not None and (owner_check is None or bool(owner_check.get("passed")))
    found = raw.get("dimensions")
    dimensions: Mapping[str, Any] = found if isinstance(found, Mapping) else {}
    return AgentEntry(
        repository=card.repository,
        manifest=str(manifest.get("file")) if isinstance(manifest, Mapping) else "",
        name=name,
        owner=owner,
        owner_named=named,
        stage=str(raw.get("stage") or "unknown"),
        stage_changed=raw.get("stage_changed"),
        days_in_stage=_days(raw.get("stage_changed"), as_of),
        dimensions={d: dimensions.get(d) for d in DIMENSIONS},
        total=raw.get("total"),
        verdict=str(document.get("verdict")),
        proven_controls=proven,
        declared_not_proven=declared_only,
        permissions_reviewed=reviewed if isinstance(reviewed, str) else None,
        review_overdue=overdue,
        waivers=waivers,
        prompts=prompts,
        scorecard_as_of=document.get("as_of"),
        scorecard_age_days=_days(document.get("as_of"), as_of),
        commit=commit if isinstance(commit, str) else None,
        source=card.source,
    )


def newest_per_manifest(
    cards: Iterable[LoadedScorecard],
) -> tuple[list[LoadedScorecard], list[str]]:
    """One scorecard per repository and manifest file, the newest (by ``as_of``, then by
    source name); the notes say which were dropped for which."""
    best: dict[tuple[str, str], LoadedScorecard] = {}
    notes: list[str] = []

    def manifest_file(card: LoadedScorecard) -> str:
        manifest = card.document.get("manifest")
        return str(manifest.get("file")) if isinstance(manifest, Mapping) else ""

    def rank(card: LoadedScorecard) -> tuple[str, str]:
        return (str(card.document.get("as_of") or ""), card.source)

    for card in cards:
        key = (card.repository, manifest_file(card))
        kept = best.get(key)
        if kept is None:
            best[key] = card
            continue
        newer, older = (card, kept) if rank(card) > rank(kept) else (kept, card)
        best[key] = newer
        notes.append(
            f"{older.source}: a duplicate of {newer.source} ({key[0]}, {key[1]}); kept the "
            f"newer (as of {newer.document.get('as_of')})"
        )
    return [best[key] for key in sorted(best)], notes


def build_inventory(
    cards: Sequence[LoadedScorecard],
    *,
    as_of: dt.date,
    unreadable: Sequence[Unreadable] = (),
    unregistered: Sequence[Unregistered] = (),
    base: Mapping[str, Any] | None = None,
    thresholds: Thresholds | None = None,
) -> Inventory:
    """The inventory of every agent in ``cards`` (duplicates folded to the newest), with its
    findings judged ``as_of``, and the changes since ``base`` (a previous inventory's JSON)."""
    limits = thresholds or Thresholds()
    kept, notes = newest_per_manifest(cards)
    agents = tuple(
        _agent_entry(card, name, raw, as_of, limits)
        for card in kept
        for name, raw in sorted(card.document.get("agents", {}).items())
        if isinstance(raw, Mapping)
    )
    findings = _findings(agents, as_of, limits, unreadable, unregistered)
    return Inventory(
        as_of=as_of.isoformat(),
        agents=agents,
        findings=tuple(findings),
        board=_board(agents),
        notes=tuple(notes),
        unreadable=tuple(unreadable),
        unregistered=tuple(unregistered),
        changes=changes_since(base, agents) if base is not None else None,
        thresholds=limits,
    )


def _findings(
    agents: Sequence[AgentEntry],
    as_of: dt.date,
    limits: Thresholds,
    unreadable: Sequence[Unreadable],
    unregistered: Sequence[Unregistered],
) -> list[Finding]:
    found: list[Finding] = [
        Finding("unreadable", f"{u.source}: {u.reason}", repository=u.source) for u in unreadable
    ]
    found += [
        Finding(
            "unregistered",
            f"{u.repository}: names {', '.join(u.evidence)} but publishes no scorecard",
            repository=u.repository,
        )
        for u in unregistered
    ]

    def each(kind: str, message: str, agent: AgentEntry) -> None:
        found.append(Finding(kind, f"{agent.key}: {message}", (agent.key,), agent.repository))

    for agent in agents:
        if not agent.owner_named:
            written = f" (the manifest says {agent.owner!r})" if agent.owner else ""
            each("no_owner", f"no named owner{written}", agent)
        if agent.declared_not_proven:
            controls = ", ".join(agent.declared_not_proven)
            each("critical_not_proven", f"declared, never proven: {controls}", agent)
        if agent.review_overdue:
            when = agent.permissions_reviewed or "never"
            each("review_overdue", f"permissions last reviewed {when}", agent)
        for waiver in agent.waivers:
            expires = parse_date(waiver.expires)
            if expires is None:
                continue
            if expires < as_of:
                each("waiver_expired", f"waiver for {waiver.check} expired {expires}", agent)
            elif (expires - as_of).days <= limits.waiver_warning_days:
                each("waiver_expiring", f"waiver for {waiver.check} expires {expires}", agent)
        age = agent.scorecard_age_days
        if age is not None and age > limits.stale_days:
            each(
                "stale_scorecard",
                f"scorecard {age} days old (as of {agent.scorecard_as_of})",
                agent,
            )
        days = agent.days_in_stage
        if agent.stage == "pilot" and days is not None and days > limits.pilot_days:
            each("pilot_too_long", f"a pilot for {days} days (since {agent.stage_changed})", agent)
    owners: dict[str, list[AgentEntry]] = {}
    for agent in agents:
        if agent.owner and agent.owner_named:
            owners.setdefault(agent.owner.strip().casefold(), []).append(agent)
    for group in sorted(owners.values(), key=lambda g: g[0].owner or ""):
        if len(group) > limits.max_agents_per_owner:
            found.append(
                Finding(
                    "owner_overloaded",
                    f"{group[0].owner} owns {len(group)} agents (more than "
                    f"{limits.max_agents_per_owner})",
                    tuple(a.key for a in group),
                )
            )
    order = list(FINDING_KINDS)
    return sorted(found, key=lambda f: order.index(f.kind))


def _board(agents: Sequence[AgentEntry]) -> Board:
    per_stage: dict[str, int] = dict.fromkeys(STAGES, 0)
    per_verdict = {"ready": 0, "not_ready": 0}
    for agent in agents:
        per_stage[agent.stage] = per_stage.get(agent.stage, 0) + 1
        per_verdict[agent.verdict] = per_verdict.get(agent.verdict, 0) + 1
    median: dict[str, float | None] = {}
    for dimension in (*DIMENSIONS, "total"):
        scores = [
            score
            for agent in agents
            if isinstance(
                score := agent.total if dimension == "total" else agent.dimensions[dimension], int
            )
        ]
        median[dimension] = statistics.median(scores) if scores else None
    return Board(per_stage, per_verdict, median)


# --------------------------------------------------------------------------- changes


def read_base(path: Path) -> Mapping[str, Any]:
    """A previous inventory written with ``--format json`` (InventoryError otherwise)."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise InventoryError(f"--base {path}: cannot read it: {error.strerror}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise InventoryError(f"--base {path}: not JSON: {error}") from None
    agents = document.get("agents") if isinstance(document, dict) else None
    if (
        not isinstance(document, dict)
        or document.get("inventory_version") != INVENTORY_VERSION
        or not isinstance(agents, list)
        or not all(isinstance(a, dict) and isinstance(a.get("key"), str) for a in agents)
    ):
        raise InventoryError(
            f"--base {path}: not an inventory written by `agent-readiness inventory --format "
            f"json` (expected inventory_version {INVENTORY_VERSION} and a list of agents with "
            "a key each)"
        )
    return document


def changes_since(base: Mapping[str, Any], agents: Sequence[AgentEntry]) -> Changes:
    """Agents added and removed, totals up and down, stage moves, since ``base``."""
    before = {a["key"]: a for a in base.get("agents", [])}
    now = {a.key: a for a in agents}
    up, down, moves = [], [], []
    for key in sorted(set(before) & set(now)):
        old, new = before[key], now[key]
        if isinstance(old.get("total"), int) and isinstance(new.total, int):
            if new.total > old["total"]:
                up.append((key, old["total"], new.total))
            elif new.total < old["total"]:
                down.append((key, old["total"], new.total))
        if old.get("stage") != new.stage:
            moves.append((key, str(old.get("stage")), new.stage))
    return Changes(
        added=tuple(sorted(set(now) - set(before))),
        removed=tuple(sorted(set(before) - set(now))),
        up=tuple(up),
        down=tuple(down),
        stage_moves=tuple(moves),
    )


# --------------------------------------------------------------------------- JSON


def inventory_as_json(inventory: Inventory) -> dict[str, Any]:
    """The inventory as a JSON document (what ``--base`` reads back)."""

    def agent(entry: AgentEntry) -> dict[str, Any]:
        return {
            "key": entry.key,
            "repository": entry.repository,
            "manifest": entry.manifest,
            "agent": entry.name,
            "owner": entry.owner,
            "stage": entry.stage,
            "stage_changed": entry.stage_changed,
            "days_in_stage": entry.days_in_stage,
            "dimensions": dict(entry.dimensions),
            "total": entry.total,
            "verdict": entry.verdict,
            "proven_controls": list(entry.proven_controls),
            "critical_declared_not_proven": list(entry.declared_not_proven),
            "permissions_reviewed": entry.permissions_reviewed,
            "review_overdue": entry.review_overdue,
            "waivers": [
                {"check": w.check, "expires": w.expires, "status": w.status} for w in entry.waivers
            ],
            "prompts": list(entry.prompts),
            "scorecard_as_of": entry.scorecard_as_of,
            "scorecard_age_days": entry.scorecard_age_days,
            "commit": entry.commit,
            "source": entry.source,
        }

    changes = inventory.changes
    return {
        "inventory_version": INVENTORY_VERSION,
        "as_of": inventory.as_of,
        "agents": [agent(entry) for entry in inventory.agents],
        "findings": [
            {
                "kind": f.kind,
                "message": f.message,
                "agents": list(f.agents),
                "repository": f.repository,
            }
            for f in inventory.findings
        ],
        "board": {
            "per_stage": dict(inventory.board.per_stage),
            "per_verdict": dict(inventory.board.per_verdict),
            "median": dict(inventory.board.median),
        },
        "notes": list(inventory.notes),
        "unreadable": [{"source": u.source, "reason": u.reason} for u in inventory.unreadable],
        "unregistered": [
            {"repository": u.repository, "evidence": list(u.evidence)}
            for u in inventory.unregistered
        ],
        "changes": None
        if changes is None
        else {
            "added": list(changes.added),
            "removed": list(changes.removed),
            "up": [list(c) for c in changes.up],
            "down": [list(c) for c in changes.down],
            "stage_moves": [list(c) for c in changes.stage_moves],
        },
        "thresholds": {
            "stale_days": inventory.thresholds.stale_days,
            "pilot_days": inventory.thresholds.pilot_days,
            "max_agents_per_owner": inventory.thresholds.max_agents_per_owner,
            "review_days": inventory.thresholds.review_days,
            "waiver_warning_days": inventory.thresholds.waiver_warning_days,
        },
    }
