"""What one ingest did, as the CLI, the chat and `Session.open` report it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from core.types import VideoRef


@dataclass
class IngestReport:
    """What one ingest did: the video, which stages ran or were reused, notes for the user, time taken."""

    video: VideoRef
    ran: list[str]
    reused: list[str]
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def cached(self) -> bool:
        return not self.ran

    def to_dict(self) -> dict[str, Any]:
        return {
            "video": self.video.to_dict(),
            "video_id": self.video.video_id,
            "ran": self.ran,
            "reused": self.reused,
            "cached": self.cached,
            "notes": self.notes,
            "seconds": round(self.seconds, 3),
        }
