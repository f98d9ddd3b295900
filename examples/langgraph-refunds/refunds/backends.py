"""The systems the refund agent acts on, and in-memory stand-ins for development and tests."""

from __future__ import annotations

from typing import Any, Protocol


class Backends(Protocol):
    """Orders, payments and customer messaging (HTTP clients in production)."""

    def lookup_order(self, order_id: str) -> dict[str, Any]: ...
    def refund(self, order_id: str, amount: float) -> str: ...
    def store_credit(self, order_id: str, amount: float) -> str: ...
    def notify(self, order_id: str, message: str) -> str: ...


class InMemoryBackends:
    """Every order was charged twice; refunds, credits and messages are kept in lists."""

    def __init__(self) -> None:
        self.refunds: list[tuple[str, float]] = []
        self.credits: list[tuple[str, float]] = []
        self.messages: list[tuple[str, str]] = []

    def lookup_order(self, order_id: str) -> dict[str, Any]:
        return {"order_id": order_id, "charged": [30.0, 30.0]}

    def refund(self, order_id: str, amount: float) -> str:
        self.refunds.append((order_id, amount))
        return f"refunded {amount}"

    def store_credit(self, order_id: str, amount: float) -> str:
        self.credits.append((order_id, amount))
        return f"credited {amount}"

    def notify(self, order_id: str, message: str) -> str:
        self.messages.append((order_id, message))
        return "sent"
