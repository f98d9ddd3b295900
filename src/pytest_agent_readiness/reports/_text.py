"""What every renderer shares: a typed, defensive view of the scorecard, ordering and escaping.

The scorecard is JSON that may come from another machine (``agent-readiness report``) and every
string in it that the project wrote (agent names, reasons, titles, test ids, waiver text) is
untrusted. The renderers never touch the raw mapping: they read it through :func:`view`, which
fills defaults for optional keys and scrubs characters no report format should carry.
"""

from __future__ import annotations

import hashlib
import html
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from ..model import DIMENSIONS

DIMENSION_LABELS: Mapping[str, str] = {
    "governance": "Governance",
    "infrastructure": "Infrastructure",
    "observability": "Observability",
    "data_quality": "Data quality",
}
LEVELS: tuple[str, ...] = ("missing", "declared", "proven")
TOOL_NAME = "pytest-agent-readiness"
MAX_SCORE = 5
# Waiver states that need a human's attention before they turn into a failing check.
WAIVER_ATTENTION: frozenset[str] = frozenset({"expiring", "expired", "stale", "invalid"})

Finding = Literal["error", "warning", "notice"]


# --- scrubbing
# C0/C1 controls (tab and newline survive), lone surrogates, noncharacters; the Unicode
# bidirectional overrides, isolates and marks that can reorder text to hide what it says
# ("Trojan Source"); and the invisible characters that make two names look the same or smuggle
# text past a reader: zero-width spaces and joiners, word joiner and invisible operators, the
# byte-order mark, and the tag characters (U+E0000 block, invisible "ASCII smuggling"). XML 1.0
# forbids most of these; no report needs any of them. Every renderer (HTML included) reads
# through clean(), so they show as U+FFFD everywhere, never as nothing.
_UNSAFE_CHARS = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufdd0-\ufdef\ufffe\uffff"
    "\u202a-\u202e\u2066-\u2069\u200b-\u200f\u2060-\u2064\ufeff\u061c\u180e"
    "\U000e0000-\U000e007f]"
)
_NEWLINES = re.compile(r"\r\n|\r|\n|\u2028|\u2029|\x85")
REPLACEMENT = "\ufffd"


def clean(text: object) -> str:
    """``text`` as a string with unsafe characters replaced by U+FFFD; newlines become ``\\n``."""
    as_text = text if isinstance(text, str) else ("" if text is None else str(text))
    if as_text.isprintable():
        # Every character either pattern replaces is unprintable (Cc, Cf, Cs or Cn), and a
        # report reads tens of thousands of strings: most are plain text, checked in one pass.
        return as_text
    return _UNSAFE_CHARS.sub(REPLACEMENT, _NEWLINES.sub("\n", as_text))


# Lines a CI runner would take for a command: GitHub's ``::name::`` at the start of a line (after
# leading whitespace), its legacy ``##[name]`` and Azure's ``##vso[`` anywhere in a line.
_LINE_COMMAND = re.compile(r"^(\s*):(?=:)", re.MULTILINE)
_LEGACY_COMMAND = re.compile(r"##(?=(?:vso)?\[)", re.IGNORECASE)


def inert_lines(text: str) -> str:
    """Plain text that no CI runner reads as a workflow command: a line's leading ``::`` and any
    ``##[`` / ``##vso[`` get their first character percent-encoded (``%3A:``, ``%23#[``), the
    way workflow-command values are escaped. For logs that may show project text."""
    text = _LINE_COMMAND.sub(r"\1%3A", text)
    return _LEGACY_COMMAND.sub("%23#", text)


def one_line(text: str) -> str:
    """``text`` with every run of whitespace (newlines included) collapsed to one space."""
    return " ".join(text.split())


def clip(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters, marking the cut with an ellipsis."""
    return text if len(text) <= limit else text[: max(limit - 1, 0)] + "…"


def fingerprint(*parts: str) -> str:
    """A stable hex digest of ``parts`` (separated unambiguously)."""
    return hashlib.sha256("\x00".join(parts).encode("utf-8", "replace")).hexdigest()[:32]


# --- the view
@dataclass(frozen=True)
class CheckView:
    """One check's result for one agent, with optional keys filled in."""

    id: str
    title: str
    dimension: str
    severity: str
    level: str
    full_level: str
    passed: bool
    reason: str
    remediation: str
    file: str  # relative to the repository root
    line: int | None
    document_path: str  # the place inside the manifest, e.g. 'agents.refund-agent.owner'
    evidence: tuple[str, ...]
    failed_evidence: tuple[str, ...]
    waived: bool

    @property
    def critical(self) -> bool:
        return self.severity == "critical"

    @property
    def at_full_level(self) -> bool:
        """True when the check reached the level that earns full marks."""
        return LEVELS.index(self.level) >= LEVELS.index(self.full_level)

    @property
    def label(self) -> str:
        """``ID title`` (or just the id when the check has no title)."""
        return f"{self.id} {self.title}" if self.title else self.id


@dataclass(frozen=True)
class AgentView:
    """One agent's scores and checks."""

    name: str
    stage: str
    gated: bool
    owner: str | None
    total: int | None
    dimensions: Mapping[str, int | None]
    checks: tuple[CheckView, ...]
    next_stage: str | None = None
    promotion_blockers: tuple[str, ...] = ()  # check ids that keep it from the next stage


@dataclass(frozen=True)
class WaiverView:
    check: str
    agent: str
    reason: str
    approved_by: str
    expires: str
    status: str
    note: str
    file: str
    line: int | None


@dataclass(frozen=True)
class ScorecardView:
    """The scorecard, read defensively: unknown or missing optional keys get safe defaults."""

    project: str | None
    tool_name: str
    tool_version: str
    manifest_file: str  # relative to the repository root
    as_of: str | None
    ready: bool
    incomplete: bool
    incomplete_reasons: tuple[str, ...]
    total: int | None
    dimensions: Mapping[str, int | None]
    min_total: int | None
    min_dimension: int | None
    gate_failures: tuple[str, ...]
    agents: tuple[AgentView, ...]
    waivers: tuple[WaiverView, ...]
    warnings: tuple[str, ...]

    @property
    def max_total(self) -> int:
        return MAX_SCORE * len(DIMENSIONS)

    def gate_messages(self) -> tuple[str, ...]:
        """Why the gate is closed: its failures, or a fallback so 'not ready' is never silent."""
        if self.gate_failures or self.ready:
            return self.gate_failures
        if self.incomplete:
            return ()  # the incomplete reasons say it
        return ("The scorecard says not ready without naming a failing rule.",)

    def agent(self, name: str) -> AgentView | None:
        return next((agent for agent in self.agents if agent.name == name), None)


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _strings(value: object) -> tuple[str, ...]:
    # A list (what JSON gives) first: asking the Sequence ABC costs more than cleaning.
    if not isinstance(value, list) and (not isinstance(value, Sequence) or isinstance(value, str)):
        return ()
    return tuple(clean(item) for item in value)


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _dimensions(value: object) -> Mapping[str, int | None]:
    scores = _mapping(value)
    return {dimension: _int(scores.get(dimension)) for dimension in DIMENSIONS}


def _check(raw: Mapping[str, Any], manifest_file: str) -> CheckView:
    level = raw.get("level")
    full_level = raw.get("full_level")
    return CheckView(
        id=clean(raw.get("id") or "?"),
        title=clean(raw.get("title") or ""),
        dimension=clean(raw.get("dimension") or ""),
        severity="critical" if raw.get("severity") == "critical" else "standard",
        level=level if level in LEVELS else "missing",
        full_level=full_level if full_level in ("declared", "proven") else "proven",
        # Fail closed: a check whose outcome is unreadable did not pass.
        passed=raw.get("passed") is True,
        reason=clean(raw.get("reason") or ""),
        remediation=clean(raw.get("remediation") or ""),
        file=clean(raw.get("file") or manifest_file),
        line=_int(raw.get("line")),
        document_path=clean(raw.get("document_path") or ""),
        evidence=_strings(raw.get("evidence")),
        failed_evidence=_strings(raw.get("failed_evidence")),
        waived=bool(raw.get("waiver")),
    )


def _agent(name: str, raw: Mapping[str, Any], manifest_file: str) -> AgentView:
    stage = clean(raw.get("stage") or "")
    gated = raw.get("gated")
    checks = raw.get("checks")
    promotion = _mapping(raw.get("promotion"))
    next_stage = promotion.get("next_stage")
    blockers = promotion.get("blockers")
    return AgentView(
        name=clean(name),
        stage=stage,
        gated=gated if isinstance(gated, bool) else stage != "pilot",
        owner=clean(raw["owner"]) if isinstance(raw.get("owner"), str) else None,
        total=_int(raw.get("total")),
        dimensions=_dimensions(raw.get("dimensions")),
        checks=tuple(
            _check(check, manifest_file)
            for check in (checks if isinstance(checks, list) else [])
            if isinstance(check, Mapping)
        ),
        next_stage=clean(next_stage) if isinstance(next_stage, str) and next_stage else None,
        promotion_blockers=tuple(
            clean(blocker.get("id") or "?")
            for blocker in (blockers if isinstance(blockers, list) else [])
            if isinstance(blocker, Mapping)
        ),
    )


def _waiver(raw: Mapping[str, Any], manifest_file: str) -> WaiverView:
    return WaiverView(
        check=clean(raw.get("check") or "?"),
        agent=clean(raw.get("agent") or "?"),
        reason=clean(raw.get("reason") or ""),
        approved_by=clean(raw.get("approved_by") or ""),
        expires=clean(raw.get("expires") or ""),
        status=clean(raw.get("status") or "invalid"),
        note=clean(raw.get("note") or ""),
        file=clean(raw.get("file") or manifest_file),
        line=_int(raw.get("line")),
    )


def view(scorecard: Mapping[str, Any] | ScorecardView) -> ScorecardView:
    """Read ``scorecard`` (the JSON of schemas/scorecard.schema.json) into a :class:`ScorecardView`.

    A view passes through as it is: a caller that renders one scorecard several times (the
    terminal summary and its to-do list) reads it once.

    Agents come out sorted by name and waivers in their written order, so every renderer is
    deterministic. Anything but ``verdict == "ready"`` with ``incomplete`` false reads as not ready.
    """
    if isinstance(scorecard, ScorecardView):
        return scorecard
    tool = _mapping(scorecard.get("tool"))
    gate = _mapping(scorecard.get("gate"))
    manifest_file = clean(_mapping(scorecard.get("manifest")).get("file") or "agent-readiness.yaml")
    incomplete = scorecard.get("incomplete") is not False
    agents = _mapping(scorecard.get("agents"))
    waivers = scorecard.get("waivers")
    project = scorecard.get("project")
    return ScorecardView(
        project=clean(project) if isinstance(project, str) and project else None,
        tool_name=clean(tool.get("name") or TOOL_NAME),
        tool_version=clean(tool.get("version") or "unknown"),
        manifest_file=manifest_file,
        as_of=clean(scorecard["as_of"]) if isinstance(scorecard.get("as_of"), str) else None,
        ready=scorecard.get("verdict") == "ready" and not incomplete,
        incomplete=incomplete,
        incomplete_reasons=_strings(scorecard.get("incomplete_reasons")),
        total=_int(scorecard.get("total")),
        dimensions=_dimensions(scorecard.get("dimensions")),
        min_total=_int(gate.get("min_total")),
        min_dimension=_int(gate.get("min_dimension")),
        gate_failures=_strings(gate.get("failures")),
        agents=tuple(
            _agent(name, agents[name], manifest_file)
            for name in sorted(agents, key=str)
            if isinstance(agents[name], Mapping)
        ),
        waivers=tuple(
            _waiver(waiver, manifest_file)
            for waiver in (waivers if isinstance(waivers, list) else [])
            if isinstance(waiver, Mapping)
        ),
        warnings=_strings(scorecard.get("warnings")),
    )


# --- ordering and classification
def finding(agent: AgentView, check: CheckView) -> Finding | None:
    """How loudly a check's result should be reported.

    A failed critical check of a gated agent blocks the release (error); other failures are
    warnings (a pilot is never a blocker); a pass short of full marks is a notice; a full pass is
    nothing to report.
    """
    if not check.passed:
        return "error" if check.critical and agent.gated else "warning"
    return None if check.at_full_level else "notice"


_FINDING_RANK: Mapping[Finding | None, int] = {"error": 0, "warning": 1, "notice": 2, None: 3}


def blockers_first(agents: Iterable[AgentView]) -> list[tuple[AgentView, CheckView]]:
    """Every (agent, check) pair, blockers first: failed critical, failed standard, short of full
    marks, full marks; within each, gated agents before pilots, then by check id and agent name."""
    pairs = [(agent, check) for agent in agents for check in agent.checks]
    return sorted(
        pairs,
        key=lambda pair: (
            _FINDING_RANK[finding(*pair)],
            not pair[1].critical,
            not pair[0].gated,
            pair[1].id,
            pair[0].name,
        ),
    )


def failed_checks(agents: Iterable[AgentView]) -> list[tuple[AgentView, CheckView]]:
    """The failed (agent, check) pairs, blockers first."""
    return [(agent, check) for agent, check in blockers_first(agents) if not check.passed]


def waivers_needing_attention(waivers: Iterable[WaiverView]) -> list[WaiverView]:
    """Waivers that are expiring, expired, stale or invalid."""
    return [waiver for waiver in waivers if waiver.status in WAIVER_ATTENTION]


def score_text(score: int | None) -> str:
    return "–" if score is None else str(score)


def below_gate(score: int | None, minimum: int | None) -> bool:
    """True when ``score`` misses ``minimum`` (an unknown score misses any gate)."""
    return minimum is not None and (score is None or score < minimum)


# --- Markdown (GitHub-flavoured)
# U+2060 WORD JOINER is invisible and breaks GitHub's mention, issue-reference and autolink
# matchers, which run on the rendered text (so entities or backslashes alone do not stop them).
_JOINER = "\u2060"
_REFERENCES = re.compile(
    r"(?P<at>@)(?=[A-Za-z0-9_])"  # @user, @org/team
    r"|(?P<hash>#)(?=\d)"  # #123, owner/repo#123
    r"|(?P<gh>\bGH-)(?=\d)"  # GH-123
    r"|(?P<scheme>:)(?=//)"  # https://…, also inside [text](url)
    r"|(?P<www>\bwww)(?=\.)",  # www.example.com
    re.IGNORECASE,
)
# Every ASCII punctuation character that can open Markdown syntax anywhere in a line (emphasis,
# links, images, code, table cells, strikethrough, math, headings); '&', '<', '>' and '"' become
# entities instead. Line-start syntax ('-', '+', '1.', '---') needs no escape: untrusted text never
# starts a line, because newlines in it collapse and every line starts with our own markup.
_MARKDOWN_PUNCTUATION = re.compile(r"([\\`*_{}\[\]()#|~$])")


def neutralise_references(text: str) -> str:
    """``text`` with @mentions, #issue refs and URL autolinks broken by an invisible joiner."""
    return _REFERENCES.sub(lambda match: match.group(0) + _JOINER, text)


def md_text(text: str, *, limit: int | None = None) -> str:
    """Untrusted ``text`` as inert inline Markdown: safe in a paragraph, list item or table cell.

    Newlines collapse to spaces (a table row or list item cannot be split), Markdown punctuation
    is backslash-escaped, ``&<>"`` become entities (no raw HTML, comments or scripts), and
    mentions, issue references and links are neutralised.
    """
    flat = one_line(clean(text))
    if limit is not None:
        flat = clip(flat, limit)
    escaped = _MARKDOWN_PUNCTUATION.sub(r"\\\1", neutralise_references(flat))
    return html.escape(escaped, quote=False).replace('"', "&quot;")


_BACKTICK_RUN = re.compile(r"`+")


def md_code(text: str, *, limit: int | None = None) -> str:
    """Untrusted ``text`` as a Markdown code span (not for table cells: a '|' would split them).

    The fence is one backtick longer than the longest run inside, and the content is padded with
    a space (which the parser strips again) when it starts or ends with a backtick.
    """
    # A code span shows '<!--' literally, but the raw body would still contain it, and sticky
    # comments are found by a raw '<!-- marker -->': break every '--' with the invisible joiner.
    flat = one_line(clean(text)).replace("--", "-" + _JOINER + "-")
    if limit is not None:
        flat = clip(flat, limit)
    if not flat:
        return ""
    longest = max((len(run) for run in _BACKTICK_RUN.findall(flat)), default=0)
    fence = "`" * (longest + 1)
    # Whitespace was collapsed and stripped, so only a backtick at an edge needs padding.
    pad = " " if flat.startswith("`") or flat.endswith("`") else ""
    return f"{fence}{pad}{flat}{pad}{fence}"


def md_table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """A GFM table from cells that are already escaped Markdown."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines.extend("| " + " | ".join(row) + " |" for row in rows)
    return "\n".join(lines) + "\n"


# --- HTML
def html_text(text: str, *, limit: int | None = None) -> str:
    """Untrusted ``text`` escaped for HTML element content or a quoted attribute value."""
    scrubbed = clean(text)
    if limit is not None:
        scrubbed = clip(scrubbed, limit)
    return html.escape(scrubbed, quote=True)
