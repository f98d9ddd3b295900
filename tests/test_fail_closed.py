"""A broken or partial run is never "ready": every way a run can end early, and sharded runs."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import (
    PROOF_TESTS,
    READY_EXAMPLE,
    UNREADY_EXAMPLE,
    copy_example,
    ready_data,
    run_cli,
)

pytest_plugins = ["pytester"]

AS_OF = "--readiness-as-of=2026-11-25"


@pytest.fixture
def ready(pytester: pytest.Pytester) -> pytest.Pytester:
    """A project that is ready on its own marked tests (no adapter, so no probes)."""
    shutil.copytree(READY_EXAMPLE / "prompts", pytester.path / "prompts")
    shutil.copy(READY_EXAMPLE / "agent-readiness.lock", pytester.path / "agent-readiness.lock")
    data = ready_data()
    del data["agents"]["triage-bot"]["adapter"]
    pytester.makefile(".yaml", **{"agent-readiness": yaml.safe_dump(data, sort_keys=False)})
    pytester.makepyfile(test_proof=PROOF_TESTS)
    return pytester


def card(pytester: pytest.Pytester, name: str = "card.json") -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((pytester.path / name).read_text(encoding="utf-8"))
    return loaded


def gate(pytester: pytest.Pytester, *args: str) -> tuple[pytest.RunResult, dict[str, Any]]:
    result = pytester.runpytest_subprocess(
        "--readiness", "--readiness-json=card.json", AS_OF, "-p", "no:randomly", *args
    )
    return result, card(pytester)


def test_the_baseline_is_ready(ready: pytest.Pytester) -> None:
    result, scorecard = gate(ready)
    assert result.ret == 0
    assert (scorecard["verdict"], scorecard["incomplete"]) == ("ready", False)


@pytest.mark.parametrize(
    ("trigger", "args", "reason"),
    [
        pytest.param(
            {"test_broken.py": "import nope_no_such_module\n"},
            (),
            "collection error",
            id="collection-error",
        ),
        pytest.param(
            {"test_stop.py": "def test_stop():\n    raise KeyboardInterrupt\n"},
            (),
            "the run was interrupted",
            id="keyboard-interrupt",
        ),
        pytest.param(
            {"test_fail.py": "def test_fails():\n    assert False\n"},
            ("-x",),
            "did not run",
            id="exitfirst",
        ),
        pytest.param(
            {"test_fail.py": "def test_fails():\n    assert False\n"},
            ("--maxfail=1",),
            "did not run",
            id="maxfail",
        ),
        pytest.param({}, ("-k", "not GOV-005"), "deselected (-k/-m)", id="keyword-filter"),
        pytest.param(
            {}, ("-m", "not readiness"), "evidence test(s) deselected", id="marker-filter"
        ),
        pytest.param(
            {
                "test_edit.py": (
                    "from pathlib import Path\n\ndef test_edits_manifest():\n"
                    "    path = Path('agent-readiness.yaml')\n"
                    "    path.write_text(path.read_text() + '# edited mid-run\\n')\n"
                )
            },
            (),
            "changed during the run",
            id="manifest-changed",
        ),
        pytest.param(
            {"test_crash.py": "import os\n\ndef test_crash():\n    os._exit(3)\n"},
            ("-n", "2"),
            "crashed",
            id="xdist-worker-crash",
        ),
    ],
)
def test_a_run_that_ends_early_is_never_ready(
    ready: pytest.Pytester, trigger: dict[str, str], args: tuple[str, ...], reason: str
) -> None:
    for name, body in trigger.items():
        (ready.path / name).write_text(body, encoding="utf-8")
    result, scorecard = gate(ready, *args)
    assert result.ret != 0
    assert scorecard["verdict"] == "not_ready"
    assert scorecard["incomplete"] is True
    assert any(reason in r for r in scorecard["incomplete_reasons"]), scorecard[
        "incomplete_reasons"
    ]
    assert "INCOMPLETE" in result.stdout.str()


def test_a_stale_scorecard_is_removed_before_the_run(ready: pytest.Pytester) -> None:
    (ready.path / "card.json").write_text('{"verdict": "ready"}')
    (ready.path / "test_broken.py").write_text("import nope_no_such_module\n")
    gate(ready)
    assert card(ready)["verdict"] == "not_ready"


# -- sharded CI ----------------------------------------------------------------------------


def shard(pytester: pytest.Pytester, index: int, count: int) -> pytest.RunResult:
    return pytester.runpytest_subprocess(
        "--readiness",
        f"--readiness-shard={index}/{count}",
        f"--readiness-json=p{index}.json",
        AS_OF,
        "-p",
        "no:randomly",
    )


@pytest.mark.parametrize("example", [READY_EXAMPLE, UNREADY_EXAMPLE], ids=lambda p: p.name)
def test_three_shards_merge_into_the_unsharded_scorecard(
    pytester: pytest.Pytester, example: Path
) -> None:
    copy_example(pytester, example)
    full = pytester.runpytest_subprocess(
        "--readiness", "--readiness-json=full.json", AS_OF, "-p", "no:randomly"
    )
    results = [shard(pytester, index, 3) for index in (1, 2, 3)]
    partials = [json.loads((pytester.path / f"p{i}.json").read_text()) for i in (1, 2, 3)]
    driven = [set(p["expected"]) for p in partials]
    assert not (driven[0] & driven[1]) and not (driven[1] & driven[2])
    assert all(result.ret in (0, 1) for result in results)
    merged = run_cli(
        "merge", "p1.json", "p2.json", "p3.json", "--output", "merged.json", cwd=pytester.path
    )
    assert merged.returncode == (0 if full.ret == 0 else 1), merged.stderr
    assert (pytester.path / "merged.json").read_bytes() == (
        pytester.path / "full.json"
    ).read_bytes()


@pytest.fixture
def shards(pytester: pytest.Pytester) -> pytest.Pytester:
    copy_example(pytester, UNREADY_EXAMPLE)
    for index in (1, 2, 3):
        shard(pytester, index, 3)
    return pytester


@pytest.mark.parametrize(
    ("files", "message"),
    [
        (["p1.json", "p2.json"], "missing shard(s) 3/3"),
        (["p1.json", "p2.json", "p2.json", "p3.json"], "shard 2/3 given twice"),
        (["p1.json", "p2.json", "full.json"], "not a partial scorecard"),
        (["p1.json", "p2.json", "nope.json"], "nope.json: no such file"),
    ],
)
def test_merge_refuses_an_incomplete_or_mixed_set(
    shards: pytest.Pytester, files: list[str], message: str
) -> None:
    (shards.path / "full.json").write_text('{"verdict": "ready"}')
    result = run_cli("merge", *files, "--output", "merged.json", cwd=shards.path)
    assert result.returncode == 2
    assert message in result.stderr
    assert not (shards.path / "merged.json").exists()


def test_merge_refuses_partials_of_different_manifests(shards: pytest.Pytester) -> None:
    third = json.loads((shards.path / "p3.json").read_text())
    third["manifest"]["sha256"] = "0" * 64
    (shards.path / "p3.json").write_text(json.dumps(third))
    result = run_cli(
        "merge", "p1.json", "p2.json", "p3.json", "--output", "m.json", cwd=shards.path
    )
    assert result.returncode == 2
    assert "the partials come from different manifests" in result.stderr


def test_merge_refuses_partials_of_different_prompt_locks(shards: pytest.Pytester) -> None:
    third = json.loads((shards.path / "p3.json").read_text())
    third["lock_sha256"] = "f" * 64
    (shards.path / "p3.json").write_text(json.dumps(third))
    result = run_cli(
        "merge", "p1.json", "p2.json", "p3.json", "--output", "m.json", cwd=shards.path
    )
    assert result.returncode == 2
    assert "different prompt locks" in result.stderr


def test_merge_refuses_a_manifest_edited_after_the_shards(shards: pytest.Pytester) -> None:
    manifest = shards.path / "agent-readiness.yaml"
    manifest.write_text(manifest.read_text() + "# edited\n")
    result = run_cli(
        "merge", "p1.json", "p2.json", "p3.json", "--output", "m.json", cwd=shards.path
    )
    assert result.returncode == 2
    assert "is not the manifest the shards ran with" in result.stderr


def test_bad_shard_values_are_usage_errors(ready: pytest.Pytester) -> None:
    result = ready.runpytest("--readiness", "--readiness-shard=4/3", AS_OF)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*expected I/N with 1 <= I <= N, got '4/3'*"])
