"""When a waiver is acceptable: GOV-007 checks it in the catalogue, and scoring applies only
acceptable waivers, so the rule lives here, where both import it."""

from __future__ import annotations

from datetime import date

from .people import PLACEHOLDERS, person_problem

WAIVER_MAX_DAYS_AHEAD = 90


def waiver_problem(approved_by: str, reason: str, expires: str, today: date) -> str | None:
    """Why a waiver is not acceptable on ``today``, or None."""
    problem = person_problem(approved_by)
    if problem:
        return f"approver {problem}"
    if len(reason.strip()) < 10 or reason.strip().lower() in PLACEHOLDERS:
        return "the reason does not say why the risk is accepted"
    expiry = date.fromisoformat(expires)
    if expiry < today:
        return f"expired on {expiry}"
    if (expiry - today).days > WAIVER_MAX_DAYS_AHEAD:
        return f"expires {expiry}, more than {WAIVER_MAX_DAYS_AHEAD} days ahead"
    return None
