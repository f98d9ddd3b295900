"""Adapters between the framework-neutral harness parts and agent frameworks.

Each integration module imports its framework lazily, so importing this package costs nothing
and a missing framework surfaces as :class:`IntegrationUnavailable` naming the extra to install.
"""

from __future__ import annotations

__all__ = ["IntegrationUnavailable", "recording_double"]


class IntegrationUnavailable(ImportError):
    """The framework an integration needs is not installed; the message says what to install."""


from ._shared import recording_double  # noqa: E402
