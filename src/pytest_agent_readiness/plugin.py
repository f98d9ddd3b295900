"""pytest integration: options, markers, readiness items and the scorecard summary.

Without ``--readiness`` this module only declares its options and markers. With it, one
:class:`~.session.ReadinessSession` is registered for the run and does the work.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from .checks import Check

OPTION_ENABLE = "readiness"
OPTION_MANIFEST = "readiness_manifest"
OPTION_JSON = "readiness_json"
OPTION_AS_OF = "readiness_as_of"
OPTION_PROBE_TIMEOUT = "readiness_probe_timeout"
OPTION_LIVE = "readiness_live"
OPTION_SHARD = "readiness_shard"
OPTION_REPORT = "readiness_report"
OPTION_STRICT = "readiness_strict"
SESSION_PLUGIN_NAME = "agent-readiness-session"

MARKER_READINESS = "readiness"
MARKER_ADVERSARIAL = "adversarial"
MARKERS = (
    "readiness(check, agent=None): a passing test is run-time evidence for the readiness check "
    "`check` (e.g. 'INF-001') for `agent` (every agent when omitted); a failing one fails it.",
    "adversarial(suite, agent=None): the test is one adversarial case of `suite` for `agent` "
    "(every agent that declares the suite when omitted); it counts toward the suite's pass rate.",
)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("readiness", "agent readiness gate (pytest-agent-readiness)")
    group.addoption(
        "--readiness",
        action="store_true",
        default=False,
        dest=OPTION_ENABLE,
        help="score the project's agents against agent-readiness.yaml and fail the run when "
        "the readiness gate fails.",
    )
    group.addoption(
        "--readiness-manifest",
        dest=OPTION_MANIFEST,
        metavar="PATH",
        default=None,
        help="the manifest to read (default: agent-readiness.yaml at the rootdir; "
        "ini: readiness_manifest).",
    )
    group.addoption(
        "--readiness-json",
        dest=OPTION_JSON,
        metavar="PATH",
        default=None,
        help="write the scorecard JSON here (ini: readiness_json).",
    )
    group.addoption(
        "--readiness-as-of",
        dest=OPTION_AS_OF,
        metavar="YYYY-MM-DD",
        default=None,
        help="judge dates (permission reviews, waivers) as of this day instead of today "
        "(ini: readiness_as_of).",
    )
    parser.addini(
        OPTION_MANIFEST, "readiness manifest path, relative to the ini file", default=None
    )
    parser.addini(OPTION_JSON, "scorecard JSON path, relative to the ini file", default=None)
    parser.addini(OPTION_AS_OF, "judge dates as of this day (YYYY-MM-DD)", default=None)
    group.addoption(
        "--readiness-probe-timeout",
        dest=OPTION_PROBE_TIMEOUT,
        metavar="SECONDS",
        default=None,
        help="how long a run-time probe waits for one agent session before it fails as hung "
        "(default 10; ini: readiness_probe_timeout).",
    )
    group.addoption(
        "--readiness-shard",
        dest=OPTION_SHARD,
        metavar="I/N",
        default=None,
        help="run a deterministic 1/N share of the probes and adversarial cases and write "
        "partial evidence to --readiness-json; `agent-readiness merge` judges the shards "
        "together (ini: readiness_shard).",
    )
    parser.addini(OPTION_SHARD, "run shard I of N (I/N)", default=None)
    group.addoption(
        "--readiness-live",
        action="store_true",
        default=False,
        dest=OPTION_LIVE,
        help="run the adversarial suites against the agents' real models (the adapter builds "
        "them when harness.live is true); a case that cannot reach its model is an error "
        "(ini: readiness_live).",
    )
    parser.addini(
        OPTION_LIVE, "run adversarial suites against real models", type="bool", default=False
    )
    parser.addini(
        OPTION_PROBE_TIMEOUT, "seconds a run-time probe waits for one agent session", default=None
    )
    group.addoption(
        "--readiness-report",
        dest=OPTION_REPORT,
        action="append",
        default=[],
        metavar="FORMAT=PATH",
        help="also render the scorecard as FORMAT (text, json, markdown, junit, sarif, github, "
        "html) into PATH; repeatable (ini: readiness_report, a list).",
    )
    parser.addini(
        OPTION_REPORT, "reports to write, FORMAT=PATH each, relative to the ini file", type="args"
    )
    group.addoption(
        "--readiness-strict",
        action="store_true",
        default=False,
        dest=OPTION_STRICT,
        help="fail the run on every failing check of a gated agent, and on the probes and "
        "adversarial cases behind it, even when the verdict is ready (by default the exit "
        "status is the verdict; ini: readiness_strict).",
    )
    parser.addini(
        OPTION_STRICT,
        "fail the run on every failing check, even when the verdict is ready",
        type="bool",
        default=False,
    )


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    # The first hook pytest calls on this plugin: before a conftest or the session imports the
    # rest of the package.
    _leave_package_unrewritten(pluginmanager)
    from . import hookspecs

    pluginmanager.add_hookspecs(hookspecs)


def pytest_configure(config: pytest.Config) -> None:
    # Markers are registered even without --readiness, so --strict-markers runs keep working.
    for line in MARKERS:
        config.addinivalue_line("markers", line)
    # The fixtures module imports only pytest; the machinery behind it loads on first use.
    config.pluginmanager.import_plugin("pytest_agent_readiness.fixtures")
    if not config.getoption(OPTION_ENABLE):
        return
    from .session import ReadinessSession

    readiness = ReadinessSession.from_config(config)
    config.pluginmanager.register(readiness, SESSION_PLUGIN_NAME)
    if config.pluginmanager.hasplugin("xdist"):
        from .session import XdistHooks

        config.pluginmanager.register(XdistHooks(readiness), f"{SESSION_PLUGIN_NAME}-xdist")


def pytest_unconfigure(config: pytest.Config) -> None:
    # Instrumentation the LangGraph integration made lasts the pytest session, not the process.
    langgraph = sys.modules.get("pytest_agent_readiness.integrations.langgraph")
    if langgraph is not None:
        langgraph.uninstrument()


def pytest_readiness_checks(config: pytest.Config) -> Sequence[Check]:
    from .catalogue import BUILTIN_CHECKS

    return BUILTIN_CHECKS


def _leave_package_unrewritten(pluginmanager: pytest.PytestPluginManager) -> None:
    """Take this package off the list of modules pytest rewrites the assertions of.

    pytest rewrites every module of an installed plugin's distribution, so a failing assert in
    a user's helper shows its values. This package has no assertion meant for a user's test, and
    rewriting is not free: pytest parses, rewrites and compiles each module itself, ignoring the
    bytecode pip compiled, and caches the result only where it may write bytecode. Where it may
    not (``PYTHONDONTWRITEBYTECODE``, as many container images set, or a read-only
    site-packages), every run paid about 0.1 s CPU to rewrite the dozens of modules a run
    imports. Modules already imported (this one) stay as they are.

    No public API does this: it uses the rewrite hook's private set of marked names (checked
    against pytest 9.2.0), and does nothing when that is not there (``--assert=plain``, a
    pytest that keeps it elsewhere).
    """
    hook = getattr(pluginmanager, "rewrite_hook", None)
    marked = getattr(hook, "_must_rewrite", None)
    package = __name__.rpartition(".")[0]
    if isinstance(marked, set) and package in marked:
        marked.discard(package)
        decided = getattr(hook, "_marked_for_rewrite_cache", None)
        if isinstance(decided, dict):
            decided.clear()
