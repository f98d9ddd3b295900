"""Renderers: each turns a scorecard (the JSON of schemas/scorecard.schema.json) into text."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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

# Where each public name lives. A renderer's module (and what it imports: junit-xml, the diff)
# loads when the renderer is first asked for, so a pytest run that prints only the terminal
# summary never loads the others.
_HOMES = {
    "render_annotations": "annotations",
    "wrap_untrusted": "annotations",
    "render_badge": "badge",
    "render_html": "html",
    "render_junit": "junit",
    "render_markdown": "markdown",
    "render_sarif": "sarif",
}
_FORMATS = {
    "markdown": "render_markdown",
    "junit": "render_junit",
    "sarif": "render_sarif",
    "github": "render_annotations",
    "html": "render_html",
    "badge": "render_badge",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    # import_module, not a relative import statement: it goes by sys.modules (see the
    # package's __init__), so a renderer is the one its own module defines.
    return getattr(import_module(f"{__name__}.{home}"), name)


class _Renderers(Mapping[str, Renderer]):
    """The renderer of each format, each imported on first lookup (read-only)."""

    def __getitem__(self, format: str) -> Renderer:
        renderer: Renderer = __getattr__(_FORMATS[format])
        return renderer

    def __contains__(self, format: object) -> bool:
        # Mapping's own __contains__ would look the renderer up, importing it.
        return format in _FORMATS

    def __iter__(self) -> Iterator[str]:
        return iter(_FORMATS)

    def __len__(self) -> int:
        return len(_FORMATS)


RENDERERS: Mapping[str, Renderer] = _Renderers()


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
