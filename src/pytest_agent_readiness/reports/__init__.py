"""Renderers: each turns a scorecard (the JSON of schemas/scorecard.schema.json) into text."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

from .annotations import render_annotations, wrap_untrusted
from .badge import render_badge
from .html import render_html
from .junit import render_junit
from .markdown import render_markdown
from .sarif import render_sarif

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
