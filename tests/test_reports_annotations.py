"""GitHub workflow-command annotations: escaping, ordering, the per-level cap, stop-commands."""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest

from _scorecards import (
    HOSTILE_STRINGS,
    hostile_scorecard,
    ready_scorecard,
    sample_scorecard,
    validate,
)
from pytest_agent_readiness.reports._text import clean, clip, one_line
from pytest_agent_readiness.reports.annotations import (
    escape_data,
    escape_property,
    render_annotations,
    wrap_untrusted,
)

# One command per line: level, escaped properties (no raw ':' or ','), '::', escaped message.
COMMAND = re.compile(
    r"::(?P<level>error|warning|notice) "
    r"(?:file=(?P<file>[^,:\r\n]*),)?(?:line=(?P<line>\d+),)?title=(?P<title>[^,:\r\n]*)"
    r"::(?P<message>[^\r\n]*)"
)


def unescape(value: str) -> str:
    """What the runner makes of an escaped value (the inverse of the toolkit's escaping)."""
    for escaped, raw in (("%0D", "\r"), ("%0A", "\n"), ("%3A", ":"), ("%2C", ","), ("%25", "%")):
        value = value.replace(escaped, raw)
    return value


def commands(output: str) -> list[re.Match[str]]:
    lines = output.splitlines()
    matches = [COMMAND.fullmatch(line) for line in lines]
    assert all(matches), [line for line, match in zip(lines, matches, strict=True) if not match]
    return [match for match in matches if match]


@pytest.mark.parametrize(
    ("raw", "data", "prop"),
    [
        ("plain", "plain", "plain"),
        ("100%", "100%25", "100%25"),
        ("a\nb", "a%0Ab", "a%0Ab"),
        ("a\r\nb", "a%0D%0Ab", "a%0D%0Ab"),
        ("a:b,c", "a:b,c", "a%3Ab%2Cc"),
        ("%0A", "%250A", "%250A"),
        ("::error::x", "::error::x", "%3A%3Aerror%3A%3Ax"),
    ],
)
def test_escaping_table(raw: str, data: str, prop: str) -> None:
    assert escape_data(raw) == data
    assert escape_property(raw) == prop
    assert unescape(prop) == raw


def test_sample_annotations_in_order() -> None:
    found = commands(render_annotations(validate(sample_scorecard())))

    assert [(m["level"], unescape(m["title"]), m["line"]) for m in found] == [
        ("error", "Readiness gate failed", "1"),
        ("error", "Readiness gate failed", "1"),
        ("error", "INF-001 Kill switch halts the agent [triage-bot]", "3"),
        ("warning", "GOV-001 Named human owner [refund-agent]", "41"),
        ("warning", "INF-001 Kill switch halts the agent [refund-agent]", "44"),
        ("warning", "OBS-002 Alerts declared for the article's signals [triage-bot]", "28"),
        ("warning", "Waiver DQ-002 [triage-bot]", "50"),
        ("notice", "GOV-004 Least privilege [triage-bot]", "14"),
    ]
    assert {m["file"] for m in found} == {"agent-readiness.yaml"}
    assert unescape(found[2]["message"]) == (
        "Failed (critical).\nNo kill switch is declared.\n"
        "Fix: Declare kill_switch with a mechanism, target and halt_within_s."
    )


def test_ready_scorecard_has_no_errors_or_warnings() -> None:
    assert render_annotations(validate(ready_scorecard())) == ""


def test_incomplete_run_is_an_error_first() -> None:
    card = ready_scorecard()
    card.update(incomplete=True, incomplete_reasons=["pytest was interrupted."])

    found = commands(render_annotations(validate(card)))

    assert [(m["level"], unescape(m["message"])) for m in found] == [
        ("error", "pytest was interrupted.")
    ]


@pytest.mark.parametrize("text", HOSTILE_STRINGS.values(), ids=HOSTILE_STRINGS.keys())
def test_hostile_strings_cannot_inject_a_command(text: str) -> None:
    output = render_annotations(validate(hostile_scorecard(text)))

    found = commands(output)  # every line is one of ours, whole

    assert len(found) == len(output.splitlines()) == 9
    expected = clean(text)
    assert unescape(found[0]["message"]) == clip(expected, 2_000)  # the reason, intact
    assert unescape(found[0]["file"]) == f"config/{expected}.yaml"
    title = f"INF-001{expected} {expected} [{expected}-triage-bot]"
    assert clip(one_line(title), 200) in [unescape(m["title"]) for m in found]


def _many_failures(count: int) -> dict[str, Any]:
    card = sample_scorecard()
    template = card["agents"]["triage-bot"]["checks"][2]  # INF-001, failed critical
    card["agents"]["triage-bot"]["checks"] = [
        dict(copy.deepcopy(template), id=f"INF-{index:03}") for index in range(count)
    ]
    card["agents"]["refund-agent"]["checks"] = []
    card["waivers"] = []
    return card


@pytest.mark.parametrize(
    ("failures", "cap", "shown_errors", "more"),
    [
        (25, 10, 9, 18),  # 2 gate failures + 25 checks = 27 errors: 9 shown, then "18 more"
        (8, 10, 10, None),  # exactly at the cap: all shown, no summary
        (9, 10, 9, 2),  # one over: 9 shown + summary for 2
        (5, 1, 0, 7),
        (5, 3, 2, 5),
    ],
)
def test_each_level_is_capped_with_a_summary_within_the_cap(
    failures: int, cap: int, shown_errors: int, more: int | None
) -> None:
    found = commands(render_annotations(validate(_many_failures(failures)), max_per_level=cap))
    errors = [m for m in found if m["level"] == "error"]

    assert len(errors) <= cap
    if more is None:
        assert len(errors) == shown_errors
    else:
        assert len(errors) == shown_errors + 1
        assert unescape(errors[-1]["message"]) == (
            f"…and {more} more errors from the readiness check; see the job summary."
        )
        assert errors[-1]["line"] is None


def test_cap_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="max_per_level"):
        render_annotations(validate(sample_scorecard()), max_per_level=0)


def test_wrap_untrusted_stops_commands_with_a_fresh_token() -> None:
    text = "::error::fake\n::add-mask::x\n"

    wrapped = wrap_untrusted(text)

    first, *body, last = wrapped.splitlines()
    match = re.fullmatch(r"::stop-commands::([0-9a-f]{32})", first)
    assert match
    token = match[1]
    assert last == f"::{token}::"
    assert "\n".join(body) + "\n" == text
    assert token not in text
    assert wrap_untrusted(text) != wrapped  # a new token every time


def test_wrap_untrusted_adds_the_missing_newline() -> None:
    assert (
        wrap_untrusted("log", token="abcdefgh") == "::stop-commands::abcdefgh\nlog\n::abcdefgh::\n"
    )


@pytest.mark.parametrize(
    ("text", "token", "message"),
    [
        ("leaks abcdefgh here", "abcdefgh", "occurs in the text"),
        ("x", "short", "8-128"),
        ("x", "has:colon", "8-128"),
        ("x", "new\nline1", "8-128"),
    ],
)
def test_wrap_untrusted_refuses_unsafe_tokens(text: str, token: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        wrap_untrusted(text, token=token)
