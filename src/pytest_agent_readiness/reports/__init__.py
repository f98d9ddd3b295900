"""Renderers: each turns a scorecard (the JSON of schemas/scorecard.schema.json) into text."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

from pytest_agent_readiness.reports.annotations import render_annotations, wrap_untrusted
from pytest_agent_readiness.reports.badge import render_badge
from pytest_agent_readiness.reports.html import render_html
from pytest_agent_readiness.reports.junit import render_junit
from pytest_agent_readiness.reports.markdown import render_markdown
from pytest_agent_readiness.reports.sarif import render_sarif

__all__ = [
    "RENDERERS",
    "UnknownFormat",
    "render",
    "render_annotations",
    "render_badge",
    "render_html",
    "render_junit",
    "render_markdown",
    "render_sarif",
    "wrap_untrusted",
]

Renderer = Callable[[Mapping[str, Any]], str]

RENDERERS: Mapping[str, Renderer] = MappingProxyType(
    {
        "markdown": render_markdown,
        "junit": render_junit,
        "sarif": render_sarif,
        "github": render_annotations,
        "html": render_html,
        "badge": render_badge,
    }
)


class UnknownFormat(ValueError):
    """A report format that no renderer provides."""

    def __init__(self, format: str) -> None:
        self.format = format
        super().__init__(
            f"unknown report format {format!r}; expected one of: {', '.join(sorted(RENDERERS))}"
        )


def render(format: str, scorecard: Mapping[str, Any]) -> str:
    """Render ``scorecard`` in ``format`` (a key of :data:`RENDERERS`) with default options."""
    try:
        renderer = RENDERERS[format]
    except KeyError:
        raise UnknownFormat(format) from None
    return renderer(scorecard)
