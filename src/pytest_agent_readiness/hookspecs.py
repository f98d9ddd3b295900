"""Hook specifications pytest-agent-readiness adds to pytest, so policy packs can plug in.

A company ships its own checks as a pytest plugin (an entry point in the ``pytest11`` group,
or a ``conftest.py``) that implements :func:`pytest_readiness_checks`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from .checks import Check


@pytest.hookspec
def pytest_readiness_checks(config: pytest.Config) -> Sequence[Check]:
    """Return checks to add to the readiness catalogue.

    Called once per ``pytest --readiness`` run, on every plugin that implements it; the checks
    of all of them are scored together. Ids must be unique across plugins (``ABC-123``)::

        from pytest_agent_readiness.checks import Check, Finding

        def owner_on_call(agent, context):
            if agent.escalation and "pager" in str(agent.escalation.get("tool_error", "")):
                return Finding.ok("tool errors page on-call", "agents", agent.name, "escalation")
            return Finding.missing("tool errors do not page", "agents", agent.name)

        def pytest_readiness_checks(config):
            return [Check("ACME-001", "governance", "Tool errors page on-call", "standard",
                          "declaration", "Route tool_error to the pager.", owner_on_call)]
    """
    raise NotImplementedError
