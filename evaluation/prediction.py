"""What the system under test answered for one question, with what it cost."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Prediction:
    """One answer: its text, the chosen option for multiple choice, latency and usage counts."""

    text: str
    choice: int | None = None
    """Index of the chosen option when the system picked one; else scoring reads the text."""
    latency_s: float = 0.0
    tool_calls: int = 0
    vlm_calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    images: int = 0
    """Images (keyframes) sent to the VLM."""
    timings: dict[str, float] = field(default_factory=dict)
    evidence: list[dict[str, Any]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    """Sources that failed while answering: such an answer measures the failure, not the system."""
    abstained: bool = False
    """The answer makes no claim (the loaded models cannot see what is asked, or nothing tells options apart)."""
    forced: bool = False
    """The choice was forced where no evidence told the options apart: a guess, reported separately."""
    confidence: float | None = None
    limitations: list[str] = field(default_factory=list)
    plan: list[str] = field(default_factory=list)
    """The tools called, in order (paraphrases of one question should call the same ones)."""

    @property
    def tokens(self) -> int:
        """Prompt plus completion tokens."""
        return self.prompt_tokens + self.completion_tokens

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_answer(cls, answer: Any) -> Prediction:
        """Read an agent answer by its attributes: text, choice?, timings, usage?, evidence (`.to_dict()` each).

        Tool calls come from `usage["tool_calls"]`, else from the length of a `tool_calls` list.
        """
        timings = {str(k): float(v) for k, v in (getattr(answer, "timings", None) or {}).items()}
        usage = getattr(answer, "usage", None) or {}
        choice = getattr(answer, "choice", None)
        return cls(
            text=str(getattr(answer, "text", "") or ""),
            choice=int(choice) if choice is not None else None,
            latency_s=timings["total"] if "total" in timings else sum(timings.values()),
            tool_calls=int(usage.get("tool_calls", 0) or 0) or _count(getattr(answer, "tool_calls", None)),
            vlm_calls=int(usage.get("vlm_calls", 0) or 0),
            prompt_tokens=int(usage.get("prompt_tokens", 0) or 0),
            completion_tokens=int(usage.get("completion_tokens", 0) or 0),
            errors=[f"{e.source} failed: {e.message}" for e in getattr(answer, "errors", None) or []],
            images=int(usage.get("images", 0) or 0),
            timings=timings,
            evidence=[_evidence_dict(item) for item in getattr(answer, "evidence", None) or []],
            abstained=bool(getattr(answer, "abstained", False)),
            forced=bool(getattr(answer, "forced", False)),
            confidence=getattr(answer, "confidence", None),
            limitations=list(getattr(answer, "limitations", None) or []),
            plan=[str(c.get("name", "")) for c in getattr(answer, "tool_calls", None) or [] if isinstance(c, dict)],
        )


def _evidence_dict(evidence: Any) -> dict[str, Any]:
    """An evidence object as a dict (its `to_dict()`, or the mapping itself)."""
    if hasattr(evidence, "to_dict"):
        return dict(evidence.to_dict())
    return dict(evidence)


def _count(calls: Any) -> int:
    """How many calls a list of them holds (0 for anything else)."""
    return len(calls) if isinstance(calls, list) else 0
