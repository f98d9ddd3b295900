"""A small support-triage agent in plain Python, with its guardrails in code."""

from .agent import (
    AgentHalted,
    Crm,
    KnowledgeBase,
    Limits,
    ModelTurn,
    ToolCall,
    TriageBot,
)

__all__ = ["AgentHalted", "Crm", "KnowledgeBase", "Limits", "ModelTurn", "ToolCall", "TriageBot"]
