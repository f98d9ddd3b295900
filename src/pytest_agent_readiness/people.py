"""Whom a declaration may name: a person (not a placeholder, a group or an address) and a
contact somebody reads.

Its own module because the catalogue's owner checks and the waiver rules (which scoring applies
too) both ask it, and neither should import the other for it.
"""

from __future__ import annotations

import re

EMAIL = re.compile(r"^[^<>@\s]+@[^<>@\s]+\.[^<>@\s]+$")
NAMED_EMAIL = re.compile(r"^(?P<name>[^<>@]+?)\s*<(?P<email>[^<>@\s]+@[^<>@\s]+\.[^<>@\s]+)>$")
PLACEHOLDERS = frozenset(
    {
        "tbd",
        "tba",
        "todo",
        "fixme",
        "n/a",
        "na",
        "none",
        "null",
        "unknown",
        "owner",
        "someone",
        "anyone",
        "nobody",
        "admin",
        "xxx",
        "changeme",
        "?",
        "-",
        "team",
        "me",
        "us",
        "test",
    }
)
# Words that name a group rather than a person.
_GROUP_WORDS = frozenset(
    {
        "team",
        "teams",
        "group",
        "squad",
        "department",
        "dept",
        "oncall",
        "on-call",
        "support",
        "ops",
        "devops",
        "sre",
        "engineering",
        "everyone",
        "all",
        "staff",
        "rota",
        "committee",
        "owners",
        "guild",
        "channel",
        "list",
    }
)
_NO_REPLY = re.compile(r"^(no-?reply|do-?not-?reply)@", re.IGNORECASE)


def person_problem(name: str | None) -> str | None:
    """Why ``name`` does not name a person, or None when it does."""
    if name is None or not name.strip():
        return "the name is empty"
    cleaned = name.strip()
    if cleaned.lower() in PLACEHOLDERS:
        return f"'{cleaned}' is a placeholder, not a person"
    if not re.search(r"[^\W\d_]{2,}", cleaned):
        return f"'{cleaned}' is not a person's name"
    if "@" in cleaned:
        return f"'{cleaned}' is an address, not a person's name"
    words = {word for word in re.split(r"[\s_/]+", cleaned.lower()) if word}
    group = words & _GROUP_WORDS
    if group:
        return f"'{cleaned}' names a group ('{sorted(group)[0]}'), not a person"
    return None


def contact_problem(contact: str | None) -> str | None:
    """Why ``contact`` is not a reachable address ('a@b.c' or 'Name <a@b.c>'), or None."""
    if contact is None or not contact.strip():
        return "no contact given"
    text = contact.strip()
    if text.lower() in PLACEHOLDERS:
        return f"'{text}' is a placeholder, not a contact"
    named = NAMED_EMAIL.match(text)
    address = named.group("email") if named else text
    if not EMAIL.match(address):
        return f"'{text}' is not an e-mail address"
    if _NO_REPLY.match(address):
        return f"'{text}' is a no-reply address: nobody reads it"
    return None
