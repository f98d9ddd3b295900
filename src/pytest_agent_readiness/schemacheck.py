"""Schema verdicts: a fast yes from jsonschema-rs, the words from jsonschema.

Every document the plugin reads (the manifest, adversarial suites, the prompt lock) is checked
against a JSON Schema shipped in the package. Most documents are valid, and for those only the
verdict matters: jsonschema-rs (Rust) gives it some thirty times faster than jsonschema, which
matters for a 200-agent manifest or 5,000 adversarial cases read by every xdist worker. When
the fast validator says "invalid", or cannot read the value (an integer beyond 64 bits, a NaN),
or is not installed, the caller asks jsonschema (Python) for the errors, so every message, path
and line is what the Python validator says. The fast validator is only ever trusted for "valid";
a test holds the two to the same verdict on documents built to find where they could differ.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cache
from importlib import resources
from typing import Any, Protocol, cast


class _FastValidator(Protocol):
    def is_valid(self, instance: object) -> bool: ...


def shipped_schema(package: str, resource: str) -> Mapping[str, Any]:
    """A JSON Schema shipped in ``package`` at ``resource`` (a path inside the package)."""
    text = resources.files(package).joinpath(resource).read_text(encoding="utf-8")
    return cast("Mapping[str, Any]", json.loads(text))


@cache
def _fast_validator(package: str, resource: str, formats: bool) -> _FastValidator | None:
    try:
        import jsonschema_rs
    except ImportError:
        return None
    schema = shipped_schema(package, resource)
    return cast(
        "_FastValidator",
        jsonschema_rs.Draft202012Validator(dict(schema), validate_formats=formats),
    )


def certainly_valid(
    package: str, resource: str, instance: object, *, formats: bool = False
) -> bool | None:
    """True when the fast validator finds ``instance`` valid against the shipped schema.

    False when it finds it invalid, None when there is no fast verdict (jsonschema-rs missing, or
    a value it cannot read). ``formats`` asserts ``format`` keywords, as jsonschema does with a
    ``FormatChecker``. Only True may skip the Python validator.
    """
    validator = _fast_validator(package, resource, formats)
    if validator is None:
        return None
    try:
        return validator.is_valid(instance)
    except (ValueError, TypeError, OverflowError):
        # jsonschema-rs reads Python values into JSON ones: integers past 64 bits, NaN and
        # infinities have no JSON form there. The Python validator judges those.
        return None
