"""The limits one question works within: tool calls, model calls, images, rounds and wall time."""

from __future__ import annotations

import time
from dataclasses import dataclass

from core.settings import Settings
from core.usage import Usage


@dataclass(frozen=True)
class Budget:
    """Per-question limits (from settings: VIDSAGE_AGENT_MAX_TOOL_CALLS and friends)."""

    tool_calls: int
    vlm_calls: int
    frames: int
    rounds: int
    seconds: float

    @classmethod
    def from_settings(cls, settings: Settings) -> Budget:
        return cls(settings.agent_max_tool_calls, settings.agent_max_vlm_calls, settings.agent_max_frames,
                   settings.agent_max_rounds, settings.agent_max_seconds)  # fmt: skip


@dataclass(frozen=True)
class Remaining:
    """What is left of a budget at one point of a question."""

    tool_calls: int
    vlm_calls: int
    frames: int
    rounds: int
    seconds: float

    @property
    def spent(self) -> str | None:
        """The first exhausted limit, in words, or None while every limit has room."""
        if self.tool_calls <= 0:
            return "the tool-call budget is spent"
        if self.rounds <= 0:
            return "the round budget is spent"
        if self.seconds <= 0:
            return "the time budget is spent"
        return None


def remaining(budget: Budget, tool_calls: int, rounds: int, usage: Usage, started: float) -> Remaining:
    """The budget left after `tool_calls` calls, `rounds` rounds and the model use in `usage`."""
    return Remaining(
        tool_calls=budget.tool_calls - tool_calls,
        vlm_calls=budget.vlm_calls - usage.vlm_calls,
        frames=budget.frames - usage.images,
        rounds=budget.rounds - rounds,
        seconds=budget.seconds - (time.time() - started),
    )
