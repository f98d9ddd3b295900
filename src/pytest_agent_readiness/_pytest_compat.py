"""Every private pytest import (``_pytest.*``) the package makes, in one place.

Each is here because pytest has no public API for it. Checked against pytest 9.2.0, the version
the test suite runs on; pyproject allows pytest>=8.0, and ``determine_setup``'s keyword
arguments changed across 8.x, so it is called with only the arguments its signature accepts.
When pytest moves one of these, this is the one file to change.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from pathlib import Path
from typing import Any

# A failure's rendering (what pytest.Item.repr_failure may return besides a string).
from _pytest._code.code import TerminalRepr

# ``path`` relative to a directory the way pytest writes node ids, '..' included.
from _pytest.pathlib import bestrelpath

__all__ = ["TerminalRepr", "bestrelpath", "determine_setup_from", "leave_unrewritten"]


def determine_setup_from(offered: Mapping[str, Any]) -> tuple[Path, Path | None] | None:
    """The rootdir and ini file pytest's own ``determine_setup`` finds from ``offered``'s
    arguments (those its signature takes), or None when that private function cannot be called.
    """
    try:
        from _pytest.config.findpaths import determine_setup

        accepted = inspect.signature(determine_setup).parameters
        found = determine_setup(**{k: v for k, v in offered.items() if k in accepted})
    except Exception:  # a private API that moved: never refuse a run on a guess
        return None
    return Path(found[0]), (Path(found[1]) if found[1] is not None else None)


def leave_unrewritten(pluginmanager: object, package: str) -> None:
    """Take ``package`` off the list of modules pytest rewrites the assertions of.

    pytest rewrites every module of an installed plugin's distribution, so a failing assert in
    a user's helper shows its values. This package has no assertion meant for a user's test, and
    rewriting is not free: pytest parses, rewrites and compiles each module itself, ignoring the
    bytecode pip compiled, and caches the result only where it may write bytecode. Where it may
    not (``PYTHONDONTWRITEBYTECODE``, as many container images set, or a read-only
    site-packages), every run paid about 0.1 s CPU to rewrite the dozens of modules a run
    imports. Modules already imported (the plugin module) stay as they are.

    No public API does this: it uses the rewrite hook's private set of marked names (checked
    against pytest 9.2.0), and does nothing when that is not there (``--assert=plain``, a
    pytest that keeps it elsewhere).
    """
    hook = getattr(pluginmanager, "rewrite_hook", None)
    marked = getattr(hook, "_must_rewrite", None)
    if isinstance(marked, set) and package in marked:
        marked.discard(package)
        decided = getattr(hook, "_marked_for_rewrite_cache", None)
        if isinstance(decided, dict):
            decided.clear()
