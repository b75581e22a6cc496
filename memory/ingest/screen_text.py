"""The ocr stage: text in the picture (titles, name captions, signs, scores, slides), read where it may change.

Frames are read at every shot start, every trigger and a sweep (`settings.ocr_fps`) that skips a frame whose
picture has not changed since the last frame read (the stored frame descriptors tell). Reads of the same text
in consecutive read frames merge into one item with its first and last time; a text that changes (a score)
becomes a new item, so the items keep the order in which things were shown. The frames are decoded in a second,
sparse pass: which ones are worth reading depends on the cuts and triggers the first pass found.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from core.types import ScreenText
from models.adapters.video import frame_indices, iter_frames, sample_times

if TYPE_CHECKING:
    from memory.video_memory import VideoMemory
    from models.adapters.ocr import TextBox, TextReader

OCR_VERSION = 3  # 2: spaces between words restored; 3: text that drifts (a sign in a zoom) stays one item
SHOT_SETTLE_S = 0.3
"""Text is read this long after a cut, when a dissolve or a title's fade-in has settled."""
UNCHANGED_THUMB = 0.03
"""Largest difference of two frames' 32x18 grey thumbnails (0..1) below which the picture counts as unchanged.
The largest, not the mean: one digit of a score changing moves a few thumbnail pixels by 0.05-0.18 while the
mean moves by 0.001-0.003, as much as encoder noise on a still card (max 0.004; measured on
evaluation.screen_text_video)."""
SAME_TEXT = 0.8
"""Similarity (difflib ratio of normalised text) above which two reads are the same text."""
SAME_PLACE = 0.3
"""Least IoU of two reads' boxes for them to be one item (the same words elsewhere are another)."""
MIN_READ_CONFIDENCE = 0.6
"""Items whose best read is below this are dropped: a single misread is noise, not evidence."""


def normalised(text: str) -> str:
    """Lower-case letters and digits with single spaces: what two reads of one text share."""
    return " ".join(re.sub(r"[^0-9a-z]+", " ", text.lower()).split())


def _same_text(a: str, b: str) -> bool:
    """Two reads of one text: nearly the same letters and exactly the same numbers (a score that changes by one
    digit is new text, not a misread)."""
    return re.findall(r"\d+", a) == re.findall(r"\d+", b) and difflib.SequenceMatcher(None, a, b).ratio() >= SAME_TEXT


def _iou(a: Sequence[float], b: Sequence[float]) -> float:
    width = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    height = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = width * height
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


@dataclass(frozen=True)
class Sweep:
    """The frames to read (`read`, sorted) and the frames skipped as unchanged (`kept`): text seen at the read
    before a skipped frame is still on screen there."""

    read: list[float]
    kept: list[float]


def ocr_times(memory: VideoMemory, fps: float) -> Sweep:
    """Every shot start and trigger, plus the sweep's frames where the picture changed since the last one read."""
    duration = memory.ref.duration
    last = max(duration - 1e-3, 0.0)
    must = {0.0, *(min(t + SHOT_SETTLE_S, last) for t in memory.shot_cuts()), *(t.timestamp for t in memory.triggers())}
    sweep = [float(t) for t in sample_times(duration, fps)]
    features = memory.frame_features()
    if len(features) == 0:
        return Sweep(sorted({round(t, 3) for t in [*must, *sweep]}), [])
    def thumb(t: float) -> np.ndarray:
        return features.thumbs[int(np.argmin(np.abs(features.times - t)))]

    read: set[float] = {round(t, 3) for t in must}
    kept: list[float] = []
    timeline = sorted({*read, *(round(t, 3) for t in sweep)})
    previous: np.ndarray | None = None
    for t in timeline:
        picture = thumb(t)
        if t in read or previous is None or float(np.abs(picture - previous).max()) >= UNCHANGED_THUMB:
            read.add(t)
            previous = picture
        else:
            kept.append(t)
    return Sweep(sorted(read), kept)


@dataclass
class _Open:
    item: ScreenText
    key: str
    last_box: tuple[float, float, float, float]
    """Where it was read last: a sign in a panning or zooming shot drifts, and is matched where it went."""


def merge_reads(reads: Sequence[tuple[float, Sequence[TextBox]]], kept: Sequence[float] = ()) -> list[ScreenText]:
    """One item per text while it stays on screen, from reads in time order (frames in `kept` were skipped as
    unchanged: the texts open before them stay open through them). Sorted by first appearance."""
    done: list[ScreenText] = []
    open_items: list[_Open] = []
    skipped = sorted(kept)
    for t, boxes in sorted(reads, key=lambda r: r[0]):
        still: list[_Open] = []
        unmatched = list(open_items)
        for box in boxes:
            key = normalised(box.text)
            if not key:
                continue
            match = next((o for o in unmatched if _same_text(o.key, key) and _iou(o.last_box, box.box) >= SAME_PLACE), None)
            if match is None:
                still.append(_Open(ScreenText(t, t, box.text.strip(), tuple(box.box), box.confidence), key, tuple(box.box)))  # type: ignore[arg-type]
                continue
            unmatched.remove(match)
            best = box.text.strip() if box.confidence > match.item.confidence else match.item.text
            item = replace(match.item, t1=t, text=best, confidence=max(match.item.confidence, box.confidence),
                           reads=match.item.reads + 1)  # fmt: skip
            still.append(_Open(item, normalised(best), tuple(box.box)))  # type: ignore[arg-type]
        for gone in unmatched:
            done.append(_extended(gone.item, skipped, t))
        open_items = still
    done += [_extended(o.item, skipped, float("inf")) for o in open_items]
    return sorted((i for i in done if i.confidence >= MIN_READ_CONFIDENCE), key=lambda i: (i.t0, i.box[1], i.box[0]))


def _extended(item: ScreenText, skipped: Sequence[float], gone_at: float) -> ScreenText:
    """The item kept on screen through the unchanged frames after its last read, and on to halfway to the read
    frame where it is gone (it left somewhere between)."""
    seen = max((t for t in skipped if item.t1 < t < gone_at), default=item.t1)
    return replace(item, t1=round(seen + (gone_at - seen) / 2, 3) if gone_at != float("inf") else seen)


def read_screen_text(
    memory: VideoMemory, reader: TextReader, fps: float, batch_size: int, on_frames: Callable[[int], None]
) -> tuple[list[ScreenText], dict[str, Any]]:
    """Read the video's text where it may change; return the items and the stage's summary."""
    sweep = ocr_times(memory, fps)
    ref = memory.ref
    wanted = frame_indices(ref, sweep.read)
    index_time = {int(i): t for i, t in zip(wanted, sweep.read)}
    reads: list[tuple[float, Sequence[TextBox]]] = []
    done = 0
    unique = sorted(set(int(i) for i in wanted))
    times = [index_time[i] for i in unique]
    for _, frames in iter_frames(ref, times, batch_size=batch_size):
        batch_times = times[done : done + len(frames)]
        reads += list(zip(batch_times, reader.read(list(frames))))
        done += len(frames)
        on_frames(done)
    items = merge_reads(reads, sweep.kept)
    summary = {"model": reader.spec.description, "frames_read": len(times), "frames_skipped": len(sweep.kept),
               "items": len(items), "lines_read": sum(len(boxes) for _, boxes in reads)}  # fmt: skip
    return items, summary
