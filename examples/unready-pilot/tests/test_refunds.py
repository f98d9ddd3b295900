from __future__ import annotations

from refund_agent import run


def test_refunds_what_the_model_asks() -> None:
    refunds: list[float] = []
    plan = [("payments.refund", {"amount": 20.0})]
    run(plan, {"payments.refund": lambda amount: refunds.append(amount)})
    assert refunds == [20.0]
