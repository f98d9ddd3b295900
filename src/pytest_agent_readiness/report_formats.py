"""The report formats a pytest run (``--readiness-report``) and ``agent-readiness report`` write,
and the one function that renders a scorecard in each.

Its own module because the pytest face and the CLI both render reports, and neither should
import the other for it. The renderers load on first use.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

REPORT_FORMATS = ("text", "json", "markdown", "junit", "sarif", "github", "html", "badge")


def render_report(
    format: str, scorecard: Mapping[str, Any], *, base: Mapping[str, Any] | None = None
) -> str:
    """``scorecard`` rendered in ``format`` (one of :data:`REPORT_FORMATS`); ``base`` only for
    markdown, where it adds the change against the base branch's scorecard."""
    # Each format's renderer is imported when that format is asked for (start-up cost).
    from .reports import RENDERERS

    if base is not None and format != "markdown":
        raise ValueError(f"a base scorecard only applies to the markdown format, not {format!r}")
    if format == "text":
        from .reports.terminal import render_text

        return render_text(scorecard)
    if format == "json":
        from .scorecard import dumps

        return dumps(scorecard)
    if format == "markdown":
        from .reports.markdown import render_markdown

        return render_markdown(scorecard, base=base)
    if format not in RENDERERS:
        raise ValueError(f"unknown report format {format!r}; expected one of: {REPORT_FORMATS}")
    return RENDERERS[format](scorecard)
