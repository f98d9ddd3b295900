"""pytest integration: options, markers, readiness items and the scorecard summary.

Without ``--readiness`` this module only declares its options and markers. With it, one
:class:`~.session.ReadinessSession` is registered for the run and does the work.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

import pytest

from ._pytest_compat import leave_unrewritten
from .names import (
    MARKERS,
    OPTION_AS_OF,
    OPTION_ENABLE,
    OPTION_JSON,
    OPTION_LIVE,
    OPTION_MANIFEST,
    OPTION_PROBE_TIMEOUT,
    OPTION_REPORT,
    OPTION_SESSION_THREADS,
    OPTION_SHARD,
    OPTION_STRICT,
    SESSION_PLUGIN_NAME,
)

if TYPE_CHECKING:
    from .checks import Check


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
        "--readiness-session-threads",
        action="store_true",
        default=False,
        dest=OPTION_SESSION_THREADS,
        help="run every agent session on a thread of its own rather than on pytest's main "
        "thread under a SIGALRM deadline (slower; for an agent that cannot run on the main "
        "thread or swallows every exception; ini: readiness_session_threads).",
    )
    parser.addini(
        OPTION_SESSION_THREADS,
        "run every agent session on a thread of its own",
        type="bool",
        default=False,
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
    # pytest rewrites every module of a plugin's distribution; this package has no assertion
    # meant for a user's test, and rewriting it cost every run about 0.1 s CPU.
    leave_unrewritten(pluginmanager, __name__.rpartition(".")[0])
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
    from .session_threads import keep_console

    keep_console()  # where a session that cannot be stopped says so (output is not captured yet)
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
