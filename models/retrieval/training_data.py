"""The pairs file of retrieval training and its videos, each decoded once into preprocessed frames; split
from `models.retrieval.training` so reading the data stands apart from the training loop.

Pairs file (JSON Lines), one pair a line; `video_path` / `text` are accepted for `video` / `caption`,
a relative video path is resolved against the pairs file's folder, other keys are ignored:

    {"video": "clips/harbour.mp4", "caption": "a ferry leaves the harbour at dusk"}

Each video is decoded once: `config.max_frames` frames at the centres of equal parts of its length,
preprocessed and kept in memory for every epoch.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from core.errors import InvalidRequest, VideoUnreadable
from models.adapters.video import iter_frames, probe

if TYPE_CHECKING:
    import torch

    from models.adapters.clip import ClipEncoder

VIDEO_KEYS = ("video", "video_path")
CAPTION_KEYS = ("caption", "text")
DecodeProgress = Callable[[int, int], None]
"""on_decode(pairs done, pairs): while the training videos are decoded, before the first epoch."""


@dataclass(frozen=True)
class TrainingPair:
    """One (video, caption) pair and the line of the pairs file it came from."""

    video: Path
    caption: str
    line: int


@dataclass
class TrainingData:
    """Usable pairs, each video's preprocessed frames (N, 3, S, S) on the CPU, and which video each pair uses."""

    pairs: list[TrainingPair]
    pixels: list[torch.Tensor]
    video_of: list[int]
    skipped: list[tuple[str, str]]


# --- pairs and frames ---------------------------------------------------------------------------


def read_pairs(path: Path | str) -> list[TrainingPair]:
    """Parse a JSON Lines pairs file; a bad line is an InvalidRequest naming the file and line."""
    path = Path(path).expanduser()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as error:
        raise InvalidRequest(f"{path}: no such pairs file") from error
    except (OSError, UnicodeDecodeError) as error:
        raise InvalidRequest(f"{path}: not a readable UTF-8 pairs file ({error})") from error
    pairs = [_parse_line(path, number, line) for number, line in enumerate(text.splitlines(), 1) if line.strip()]
    if not pairs:
        raise InvalidRequest(f"{path}: holds no (video, caption) pairs")
    return pairs


def _parse_line(path: Path, number: int, line: str) -> TrainingPair:
    """One JSON object with a video path and a non-empty caption."""
    where = f"{path}: line {number}"
    try:
        record = json.loads(line)
    except json.JSONDecodeError as error:
        raise InvalidRequest(f"{where}: not valid JSON ({error.msg})") from error
    if not isinstance(record, dict):
        raise InvalidRequest(f'{where}: expected a JSON object like {{"video": ..., "caption": ...}}')
    video = next((record[key] for key in VIDEO_KEYS if key in record), None)
    caption = next((record[key] for key in CAPTION_KEYS if key in record), None)
    if not isinstance(video, str) or not video.strip():
        raise InvalidRequest(f'{where}: needs a video path under "video" (or "video_path")')
    if not isinstance(caption, str) or not caption.strip():
        raise InvalidRequest(f'{where}: needs a non-empty caption under "caption" (or "text")')
    video_path = Path(video.strip()).expanduser()
    if not video_path.is_absolute():
        video_path = path.parent / video_path
    return TrainingPair(video_path, caption.strip(), number)


def clip_times(duration: float, frames: int) -> np.ndarray:
    """`frames` timestamps at the centres of equal parts of the whole video (TSN-style sampling)."""
    return (np.arange(frames, dtype=np.float64) + 0.5) / frames * max(float(duration), 1e-3)


def _decode(clip: ClipEncoder, video: Path, frames: int) -> torch.Tensor:
    """The video's sampled frames, preprocessed once, on the CPU in the CLIP's dtype (N, 3, S, S)."""
    import torch

    ref = probe(video)
    decoded = [batch for _, batch in iter_frames(ref, clip_times(ref.duration, frames), batch_size=frames)]
    stacked = np.concatenate(decoded) if decoded else np.zeros((0,))
    if len(stacked) != frames:
        raise VideoUnreadable(f"{video}: only {len(stacked)} of {frames} sampled frames decode")
    with torch.no_grad():
        return clip._preprocess(stacked).cpu()


def load_training_data(
    pairs: Sequence[TrainingPair], clip: ClipEncoder, frames: int, on_decode: DecodeProgress | None = None
) -> TrainingData:
    """Decode every distinct video once; unreadable ones are skipped and reported, not fatal."""
    pixels: list[torch.Tensor] = []
    index_of: dict[Path, int | None] = {}
    data = TrainingData([], pixels, [], [])
    for position, pair in enumerate(pairs):
        if on_decode is not None:
            on_decode(position, len(pairs))
        key = pair.video.resolve()
        if key not in index_of:
            try:
                pixels.append(_decode(clip, pair.video, frames))
                index_of[key] = len(pixels) - 1
            except VideoUnreadable as error:
                index_of[key] = None
                data.skipped.append((str(pair.video), str(error)))
        if index_of[key] is not None:
            data.pairs.append(pair)
            data.video_of.append(int(index_of[key]))
    if on_decode is not None:
        on_decode(len(pairs), len(pairs))
    return data
