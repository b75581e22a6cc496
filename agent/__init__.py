"""The agent: question -> evidence from memory -> grounded answer. Public API: `ask`."""

from agent.api import ask

__all__ = ["ask"]
