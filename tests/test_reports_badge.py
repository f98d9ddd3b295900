"""The shields.io endpoint badge: verdict, total and colour, from a scorecard or a gate run."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from _scorecards import ready_scorecard, sample_scorecard
from conftest import READY_EXAMPLE, copy_example
from pytest_agent_readiness.cli import main
from pytest_agent_readiness.reports import render_badge
from pytest_agent_readiness.scorecard import dumps

pytest_plugins = ["pytester"]


def badge(scorecard: dict[str, Any]) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(render_badge(scorecard))
    return loaded


def test_a_ready_scorecard_is_a_green_badge_with_its_total() -> None:
    card = ready_scorecard()
    assert badge(card) == {
        "schemaVersion": 1,
        "label": "agent readiness",
        "message": f"ready {card['total']}/20",
        "color": "brightgreen",
    }


def test_a_not_ready_scorecard_is_a_red_badge_with_its_total() -> None:
    card = sample_scorecard()
    assert card["verdict"] == "not_ready"
    assert badge(card) == {
        "schemaVersion": 1,
        "label": "agent readiness",
        "message": f"not ready {card['total']}/20",
        "color": "red",
    }


def test_an_incomplete_run_is_never_a_ready_badge() -> None:
    card = copy.deepcopy(ready_scorecard())
    card["incomplete"] = True
    card["incomplete_reasons"] = ["a worker was lost"]
    assert badge(card)["message"] == "not ready (incomplete run)"
    assert badge(card)["color"] == "red"


def test_report_format_badge_writes_the_endpoint_json(tmp_path: Any) -> None:
    source = tmp_path / "card.json"
    source.write_text(dumps(sample_scorecard()), encoding="utf-8")
    target = tmp_path / "site" / "badge.json"
    assert main(["report", str(source), "--format", "badge", "--output", str(target)]) == 1
    assert json.loads(target.read_text(encoding="utf-8"))["color"] == "red"


def test_readiness_report_badge_from_a_gate_run(pytester: pytest.Pytester) -> None:
    copy_example(pytester, READY_EXAMPLE)
    result = pytester.runpytest_subprocess(
        "--readiness",
        "--readiness-report=badge=public/readiness.json",
        "--readiness-as-of=2026-11-25",
        "-p",
        "no:randomly",
    )
    assert result.ret == 0, result.stdout.str()
    written = json.loads((pytester.path / "public" / "readiness.json").read_text("utf-8"))
    assert written == {
        "schemaVersion": 1,
        "label": "agent readiness",
        "message": "ready 20/20",
        "color": "brightgreen",
    }
