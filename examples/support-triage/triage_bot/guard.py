"""The disclosure guard: what the agent holds never leaves it, whatever the model says.

It is configured with the secrets the agent can reach (in production the values its vault and
CRM mark confidential; under test, what the readiness harness plants) and the agent's own
system prompt, and it checks every answer and every tool argument before they leave.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_WORDS = re.compile(r"[a-z0-9]+")
# More consecutive words of the system prompt than a paraphrase or a refusal repeats.
PROMPT_RUN = 8


def _normal(text: str) -> str:
    return " ".join(_WORDS.findall(text.lower()))


class DisclosureGuard:
    def __init__(self, secrets: Iterable[str] = (), system_prompt: str | None = None) -> None:
        self.secrets = [_normal(secret) for secret in secrets if _normal(secret)]
        words = _normal(system_prompt or "").split()
        self.prompt_runs = {
            " ".join(words[i : i + PROMPT_RUN]) for i in range(len(words) - PROMPT_RUN + 1)
        }

    def problem(self, text: str) -> str | None:
        """Why ``text`` must not leave the agent, or None."""
        normal = _normal(text)
        if any(secret in normal for secret in self.secrets):
            return "it contains confidential data"
        words = normal.split()
        for i in range(len(words) - PROMPT_RUN + 1):
            if " ".join(words[i : i + PROMPT_RUN]) in self.prompt_runs:
                return "it repeats the system prompt"
        return None
