"""The scorecard as GitHub Actions workflow commands: annotations on the manifest lines.

The runner shows only the first ten annotations of each level per step, so each level is capped
here: past the cap, the last shown annotation of that level says how many more there are and
points at the job summary. Every value is escaped the way the runner unescapes it, so no project
string can end a command early or start a second one.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ._text import (
    AgentView,
    CheckView,
    Finding,
    ScorecardView,
    blockers_first,
    clip,
    finding,
    one_line,
    view,
    waivers_needing_attention,
)

LEVELS: tuple[Finding, ...] = ("error", "warning", "notice")
# GitHub cuts annotation titles at 255 characters and messages are shown whole; keep them short.
_TITLE_LIMIT = 200
_MESSAGE_LIMIT = 2_000
_TOKEN = re.compile(r"[A-Za-z0-9_-]{8,128}")


@dataclass(frozen=True)
class Annotation:
    """One workflow command: ``::level file=…,line=…,title=…::message``."""

    level: Finding
    message: str
    title: str
    file: str | None = None
    line: int | None = None

    def command(self) -> str:
        properties = []
        if self.file:
            properties.append(f"file={escape_property(self.file)}")
        if self.line is not None:
            properties.append(f"line={self.line}")
        properties.append(f"title={escape_property(clip(one_line(self.title), _TITLE_LIMIT))}")
        message = escape_data(clip(self.message, _MESSAGE_LIMIT))
        return f"::{self.level} {','.join(properties)}::{message}"


def escape_data(text: str) -> str:
    """Escape a workflow command's message as the runner expects (``%``, CR, LF)."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """Escape a workflow command's property value: as a message, plus ``:`` and ``,``."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def render_annotations(scorecard: Mapping[str, Any], *, max_per_level: int = 10) -> str:
    """Render ``scorecard`` as workflow commands, one per line, blockers first.

    Errors: an incomplete run, gate failures, failed critical checks of gated agents. Warnings:
    other failed checks, waivers that are expiring, expired, stale or invalid. Notices: checks
    that pass short of full marks (declared where only proof earns them). At most
    ``max_per_level`` commands per level; the last one says how many more there are.
    """
    if max_per_level < 1:
        raise ValueError(f"max_per_level must be at least 1, got {max_per_level}")
    card = view(scorecard)
    annotations = [*_verdict_annotations(card), *_check_annotations(card)]
    annotations += _waiver_annotations(card)
    lines: list[str] = []
    for level in LEVELS:
        of_level = [annotation for annotation in annotations if annotation.level == level]
        if len(of_level) > max_per_level:
            shown = of_level[: max_per_level - 1]
            shown.append(_more(card, level, len(of_level) - len(shown)))
            of_level = shown
        lines += [annotation.command() for annotation in of_level]
    return "".join(line + "\n" for line in lines)


def _verdict_annotations(card: ScorecardView) -> list[Annotation]:
    reasons = card.incomplete_reasons or (
        ("The run could not judge every check.",) if card.incomplete else ()
    )
    annotations = [
        Annotation("error", reason, "Readiness run incomplete", card.manifest_file, 1)
        for reason in reasons
    ]
    annotations += [
        Annotation("error", message, "Readiness gate failed", card.manifest_file, 1)
        for message in card.gate_messages()
    ]
    return annotations


def _check_annotations(card: ScorecardView) -> list[Annotation]:
    annotations = []
    for agent, check in blockers_first(card.agents):
        level = finding(agent, check)
        if level is not None:
            annotations.append(_check_annotation(level, agent, check))
    return annotations


def _check_annotation(level: Finding, agent: AgentView, check: CheckView) -> Annotation:
    if level == "notice":
        lead = f"Passes at {check.level}; full marks need {check.full_level}."
    elif agent.gated:
        lead = f"Failed ({check.severity})."
    else:
        lead = f"Failed ({check.severity}); agent is a pilot, so not blocking."
    lines = [lead, check.reason, f"Fix: {check.remediation}" if check.remediation else ""]
    return Annotation(
        level,
        "\n".join(line for line in lines if line),
        f"{check.label} [{agent.name}]",
        check.file,
        check.line,
    )


def _waiver_annotations(card: ScorecardView) -> list[Annotation]:
    annotations = []
    for waiver in waivers_needing_attention(card.waivers):
        expires = f"Expires {waiver.expires}." if waiver.expires else ""
        parts = (f"Waiver is {waiver.status}.", waiver.note, expires, waiver.reason)
        annotations.append(
            Annotation(
                "warning",
                " ".join(part for part in parts if part),
                f"Waiver {waiver.check} [{waiver.agent}]",
                waiver.file,
                waiver.line,
            )
        )
    return annotations


def _more(card: ScorecardView, level: Finding, count: int) -> Annotation:
    plural = "s" if count != 1 else ""
    return Annotation(
        level,
        f"…and {count} more {level}{plural} from the readiness check; see the job summary.",
        f"{count} more readiness {level}{plural}",
        card.manifest_file,
    )


def wrap_untrusted(text: str, token: str | None = None) -> str:
    """``text`` between ``::stop-commands::TOKEN`` and ``::TOKEN::`` so the runner ignores any
    workflow command inside it. ``token`` defaults to a fresh random one; it never occurs in
    ``text`` (a given token that does is refused, a random one is drawn again)."""
    if token is None:
        token = secrets.token_hex(16)
        while token in text:
            token = secrets.token_hex(16)
    elif not _TOKEN.fullmatch(token):
        raise ValueError("token must be 8-128 letters, digits, '_' or '-'")
    elif token in text:
        raise ValueError("token occurs in the text it should protect; use a fresh one")
    body = text if text.endswith("\n") or not text else text + "\n"
    return f"::stop-commands::{token}\n{body}::{token}::\n"
