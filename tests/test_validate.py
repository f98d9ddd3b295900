"""``agent-readiness validate`` accepts exactly what ``pytest --readiness`` accepts, and says
what the gate will say: every manifest here is run through both."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from conftest import Project, agent_of, run_cli, with_waiver

AS_OF = "2026-11-25"
Setup = Callable[[Project, dict[str, Any]], None]


def gate(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``pytest --readiness`` in ``root`` (no tests of its own: the manifest is what is judged)."""
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "--readiness",
            f"--readiness-as-of={AS_OF}",
            "--readiness-json=card.json",
            "-p",
            "no:randomly",
            "-p",
            "no:cacheprovider",
            *args,
        ],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def validate(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_cli("validate", f"--as-of={AS_OF}", *args, cwd=root)


def bad_case_file(project: Project, data: dict[str, Any]) -> None:
    cases = project.root / "cases"
    cases.mkdir()
    (cases / "refunds.yaml").write_text(
        "version: 1\nsuite: refunds\ntitle: Refunds\ncases:\n  - id: RF-001\n    title: x\n"
    )
    agent_of(data)["adversarial"]["suite_dirs"] = ["cases"]


def promptfoo_import(content: str) -> Setup:
    def setup(project: Project, data: dict[str, Any]) -> None:
        (project.root / "promptfoo.json").write_text(content)
        agent_of(data)["adversarial"]["imports"] = [
            {"tool": "promptfoo", "path": "promptfoo.json", "suite": "jailbreak"}
        ]

    return setup


def garak_import(project: Project, data: dict[str, Any]) -> None:
    (project.root / "garak.report.jsonl").write_text("")
    agent_of(data)["adversarial"]["imports"] = [
        {"tool": "garak", "path": "garak.report.jsonl", "suite": "jailbreak"}
    ]


def unknown_suite(project: Project, data: dict[str, Any]) -> None:
    agent_of(data)["adversarial"]["suites"].append("refund_fraud")


def waiver_for_unknown_check(project: Project, data: dict[str, Any]) -> None:
    with_waiver(data, check="DQ-999")


def duplicate_key(project: Project, data: dict[str, Any]) -> None:
    agent_of(data)["stage"] = "pilot"


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        (bad_case_file, "cases/refunds.yaml"),
        (promptfoo_import(""), "promptfoo.json"),
        (promptfoo_import('{"results": {"version": 3, "results": ['), "promptfoo.json"),
        (garak_import, "garak.report.jsonl"),
        (unknown_suite, "unknown suite 'refund_fraud'"),
        (waiver_for_unknown_check, "waivers[0].check: unknown check 'DQ-999'"),
    ],
    ids=[
        "malformed-case-file",
        "empty-promptfoo",
        "truncated-promptfoo",
        "empty-garak",
        "unknown-suite",
        "waiver-unknown-check",
    ],
)
def test_validate_refuses_what_the_gate_refuses_with_the_same_message(
    project: Project, data: dict[str, Any], setup: Setup, message: str
) -> None:
    setup(project, data)
    project.write(data)
    checked = validate(project.root)
    ran = gate(project.root)
    assert ran.returncode == pytest.ExitCode.USAGE_ERROR, ran.stdout + ran.stderr
    assert checked.returncode == 2, checked.stdout
    assert message in checked.stderr
    said = checked.stderr.removeprefix("agent-readiness validate: ").strip()
    assert said in ran.stderr, (said, ran.stderr)
    assert "Traceback" not in checked.stderr + ran.stderr


@pytest.mark.parametrize(
    ("expires", "consequence"),
    [("2027-12-30", "more than 90 days ahead; it lifts nothing"), ("2026-11-01", "expired")],
    ids=["400-days-ahead", "expired"],
)
def test_validate_names_a_waiver_the_gate_will_not_apply(
    project: Project, data: dict[str, Any], expires: str, consequence: str
) -> None:
    agent_of(data)["data_quality"].pop("drift")  # DQ-002 fails: what the waiver is for
    project.write(with_waiver(data, expires=expires))
    checked = validate(project.root)
    assert checked.returncode == 2
    assert consequence in checked.stderr
    assert "GOV-007 fails for triage-bot (as of 2026-11-25)" in checked.stderr
    assert "agent-readiness.yaml:" in checked.stderr
    # The gate scores it: the waiver lifts nothing and GOV-007 fails, with the same reason.
    gate(project.root)
    card = json.loads((project.root / "card.json").read_text(encoding="utf-8"))
    checks = {c["id"]: c for c in card["agents"]["triage-bot"]["checks"]}
    assert checks["GOV-007"]["passed"] is False
    assert checks["DQ-002"]["passed"] is False and checks["DQ-002"]["waiver"] is None
    reason = checks["GOV-007"]["reason"].removeprefix("waiver for DQ-002: ")
    assert f"waiver for DQ-002 on triage-bot: {reason};" in checked.stderr


def test_a_waiver_is_judged_as_of_the_day_given(project: Project, data: dict[str, Any]) -> None:
    agent_of(data)["data_quality"].pop("drift")
    project.write(with_waiver(data, expires="2026-12-31"))
    assert validate(project.root).returncode == 0
    later = run_cli("validate", "--as-of=2027-01-02", cwd=project.root)
    assert later.returncode == 2 and "expired on 2026-12-31" in later.stderr
    assert run_cli("validate", "--as-of=soon", cwd=project.root).returncode == 2


def test_the_gate_and_validate_accept_a_waiver_for_a_conftest_policy_pack(
    project: Project, data: dict[str, Any]
) -> None:
    (project.root / "conftest.py").write_text(
        "from pytest_agent_readiness.checks import Check, Finding\n\n\n"
        "def pytest_readiness_checks(config):\n"
        "    return [Check('ACME-001', 'governance', 'Paged', 'standard', 'declaration',\n"
        "                  'Page on-call.', lambda agent, ctx: Finding.missing('no pager'))]\n"
    )
    project.write(with_waiver(data, check="ACME-001"))
    checked = validate(project.root)
    assert checked.returncode == 0, checked.stderr
    assert "note: " in checked.stdout and "unknown check 'ACME-001'" in checked.stdout
    ran = gate(project.root)
    assert ran.returncode != pytest.ExitCode.USAGE_ERROR, ran.stderr
    card = json.loads((project.root / "card.json").read_text(encoding="utf-8"))
    assert [w["check"] for w in card["waivers"]] == ["ACME-001"]


def test_the_schema_error_is_the_gates_too(project: Project) -> None:
    project.write_text("version: 1\nagents:\n  bot:\n    stage: pilot\n    stage: scaling\n")
    checked = validate(project.root)
    ran = gate(project.root)
    assert (checked.returncode, ran.returncode) == (2, pytest.ExitCode.USAGE_ERROR)
    said = checked.stderr.removeprefix("agent-readiness validate: ").strip()
    assert said in ran.stderr
