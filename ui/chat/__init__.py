"""`main.py chat`: the Textual terminal chat over one or more videos."""

from __future__ import annotations

import sys

from agent.session import check_videos
from core.errors import InvalidRequest
from core.settings import Settings
from ui.chat.app import ChatApp

EXIT_CANCELLED = 130
"""The exit code after the user cancelled the ingest (as for an interrupted command)."""


def run_chat(videos: list[str], settings: Settings, *, thread_id: str | None = None) -> int:
    """Run the chat until the user quits and return the exit code (0, or 130 after a cancelled ingest).
    A missing or empty file raises its VidsageError before the app starts; an ingest that failed in the
    app (shown there) raises its error once the app has closed, for the caller to print."""
    if not videos:
        raise InvalidRequest("chat needs at least one video file")
    app = ChatApp(check_videos(videos), settings, thread_id=thread_id)
    app.run()
    if app.ingest_error is not None:
        raise app.ingest_error
    if app.ingest_cancelled:
        print("vidsage: ingest cancelled; the stages that finished stay in memory", file=sys.stderr)
        return EXIT_CANCELLED
    return 0


__all__ = ["ChatApp", "run_chat"]
