"""A shields.io endpoint badge: the verdict and total, coloured by the verdict.

The JSON is what https://shields.io/badges/endpoint-badge reads from a URL the team publishes
(a gist, GitHub Pages): ``https://img.shields.io/endpoint?url=<where the JSON is>``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from ._text import score_text, view

__all__ = ["BADGE_COLOURS", "BADGE_LABEL", "render_badge"]

BADGE_LABEL = "agent readiness"
BADGE_COLOURS: Mapping[str, str] = {"ready": "brightgreen", "not ready": "red", "incomplete": "red"}


def render_badge(scorecard: Mapping[str, Any]) -> str:
    """The shields.io endpoint JSON for ``scorecard``: ``ready 20/20`` in green, ``not ready
    12/20`` in red; an incomplete run says so (it certified nothing, whatever its total)."""
    card = view(scorecard)  # fails closed: anything but a complete ready run is not ready
    total = f"{score_text(card.total)}/{card.max_total}"
    if card.incomplete:
        state, message = "incomplete", "not ready (incomplete run)"
    elif card.ready:
        state, message = "ready", f"ready {total}"
    else:
        state, message = "not ready", f"not ready {total}"
    badge = {
        "schemaVersion": 1,
        "label": BADGE_LABEL,
        "message": message,
        "color": BADGE_COLOURS[state],
    }
    return json.dumps(badge, sort_keys=True) + "\n"
