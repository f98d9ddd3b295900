"""pytest integration: options, markers, items and the scorecard summary."""

from __future__ import annotations

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("readiness", "agent readiness gate")
    group.addoption("--readiness", action="store_true", default=False, help="run the readiness gate")
