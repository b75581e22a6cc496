"""Named points in an ingest where a test may SIGKILL the process, to prove that every kill resumes cleanly.

`VIDSAGE_TEST_KILL_AT=<stage>:<point>` (for example `transcript:manifest-temp` or `frames:chunk-2`) kills
the process with SIGKILL, the signal nothing can clean up after, when the ingest reaches that point.
Unset (always, outside tests) a checkpoint costs one dictionary lookup.
"""

from __future__ import annotations

import os
import signal

KILL_AT_ENV = "VIDSAGE_TEST_KILL_AT"

POINTS: tuple[str, ...] = ("start", "files-written", "manifest-temp", "committed")
"""The points every stage passes: begun, its files and rows written, the manifest's temp file written (not
yet renamed over the manifest), and the manifest renamed (its superseded files not yet swept). The frames
stage also passes `chunk-<n>` after committing each chunk of video."""


def checkpoint(stage: str, point: str) -> None:
    """Die here, at once and without clean-up, when the test hook names this stage and point."""
    if os.environ.get(KILL_AT_ENV) == f"{stage}:{point}":
        os.kill(os.getpid(), signal.SIGKILL)
