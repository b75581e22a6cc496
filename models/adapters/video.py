"""Video input: validate and describe a file (PyAV), decode frames by timestamp in batches (decord),
and decode audio as 16 kHz mono float32 (PyAV).

Validation demuxes every packet once, so a truncated file whose index still claims the full length
(which decord's `len()` believes) is caught before anything is written to memory.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from core.errors import InvalidRequest, VideoUnreadable
from core.types import VideoRef, format_timestamp

AUDIO_RATE = 16_000
_HASH_CHUNK = 1 << 20
_TRUNCATION_TOLERANCE_S = 1.0
#: Decoder threads per reader: all cores up to 8 (H.264 frame threading gains little beyond that).
DECODE_THREADS = max(1, min(8, os.cpu_count() or 1))


VIDEO_SUFFIXES = (".mp4", ".mkv", ".webm", ".avi", ".mov", ".m4v", ".mpg", ".mpeg", ".wmv", ".flv", ".3gp", ".ts",
                  ".ogv", ".gif")  # fmt: skip
"""File endings taken for videos when a folder or a dataset's video root is searched, most preferred first (where
one name has several files)."""


def content_hash(path: Path) -> str:
    """BLAKE2b of the file's bytes: the identity of a video in memory, whatever its name."""
    digest = hashlib.blake2b(digest_size=20)
    with path.open("rb") as handle:
        while chunk := handle.read(_HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def check_path(path: Path) -> None:
    """Reject paths that cannot be a video file, with a one-line reason."""
    if not path.exists():
        raise VideoUnreadable(f"{path}: no such file")
    if path.is_dir():
        raise VideoUnreadable(f"{path}: is a directory, not a video file")
    if not path.is_file():
        raise VideoUnreadable(f"{path}: is not a regular file")
    if path.stat().st_size == 0:
        raise VideoUnreadable(f"{path}: is empty (0 bytes)")


@dataclass(frozen=True)
class _StreamExtent:
    stated: float
    demuxed: float


@dataclass(frozen=True)
class _Demuxed:
    fps: float
    width: int
    height: int
    video: _StreamExtent
    audio: _StreamExtent | None
    video_packets: int


def _demux_extents(path: Path) -> _Demuxed:
    """Open with PyAV and walk every packet: stated vs. actually present duration per stream."""
    import av

    try:
        container = av.open(str(path))
    except (av.error.FFmpegError, UnicodeDecodeError, ValueError) as error:
        raise VideoUnreadable(f"{path}: is not a readable video ({_short(error)})") from error
    with container:
        if not container.streams.video:
            raise VideoUnreadable(f"{path}: contains no video stream")
        video = container.streams.video[0]
        if _is_still_image(container.format.name, video):
            raise VideoUnreadable(f"{path}: is a still image, not a video")
        audio = container.streams.audio[0] if container.streams.audio else None
        fps = float(video.average_rate or video.guessed_rate or 0.0)
        width, height = int(video.codec_context.width or 0), int(video.codec_context.height or 0)
        if fps <= 0 or width <= 0 or height <= 0:
            raise VideoUnreadable(f"{path}: video stream has no usable frame rate or size")
        container_duration = float(container.duration) / av.time_base if container.duration else 0.0

        def stated(stream: "av.stream.Stream") -> float:
            if stream.duration and stream.time_base:
                return float(stream.duration * stream.time_base)
            return container_duration

        video_packets = 0
        ends: dict[int, float] = {}
        starts: dict[int, float] = {}
        packets = 0
        streams = [s for s in (video, audio) if s is not None]
        try:
            for packet in container.demux(*streams):
                if packet.pts is None or packet.time_base is None:
                    continue
                packets += 1
                video_packets += packet.stream.index == video.index
                start = float(packet.pts * packet.time_base)
                end = float((packet.pts + (packet.duration or 0)) * packet.time_base)
                index = packet.stream.index
                starts[index] = min(starts.get(index, start), start)
                ends[index] = max(ends.get(index, end), end)
        except av.error.FFmpegError as error:
            raise VideoUnreadable(f"{path}: is corrupt or truncated ({_short(error)})") from error
        if packets == 0 or video.index not in ends:
            raise VideoUnreadable(f"{path}: has no decodable video frames")
        video_extent = _StreamExtent(stated(video), ends[video.index] - starts[video.index])
        audio_extent = None
        if audio is not None and audio.index in ends:
            audio_extent = _StreamExtent(stated(audio), ends[audio.index] - starts[audio.index])
        return _Demuxed(fps, width, height, video_extent, audio_extent, video_packets)


_DECORD_PREFIX = re.compile(r"^\[\d\d:\d\d:\d\d\] \S+:\d+: (\[[^\]]*\] )?")
_LIBRARY_NOISE = re.compile(r"\S+\.(?:cc|cpp|c|h):\d+: |\[\w+ @ 0x[0-9a-f]+\] ")
"""decord's source locations and FFmpeg's `[h264 @ 0x...]` prefixes: nothing a user can act on."""


_ANIMATED_IMAGE_FORMATS = {"gif", "apng", "webp_pipe"}


def _is_still_image(format_name: str, stream: "av.video.stream.VideoStream") -> bool:  # type: ignore[name-defined]  # noqa: F821
    """Image demuxers (png_pipe, image2, ...) holding one picture: a photo renamed to .mp4."""
    names = set(format_name.split(","))
    if names & _ANIMATED_IMAGE_FORMATS:
        return False
    return bool(names & {"image2"} or any(n.endswith("_pipe") for n in names)) and (stream.frames or 1) <= 1


def _short(error: BaseException) -> str:
    """The first line of a library error, without decord's timestamp and source locations, FFmpeg's context
    prefixes, or PyAV's errno and function name (FFmpeg's own words are kept)."""
    reason = getattr(error, "strerror", None)
    text = reason if isinstance(reason, str) and reason.strip() else str(error).strip()
    text = text.splitlines()[0] if text else type(error).__name__
    return _LIBRARY_NOISE.sub("", _DECORD_PREFIX.sub("", text)).strip()[:160]


def _check_truncation(path: Path, name: str, extent: _StreamExtent) -> None:
    missing = extent.stated - extent.demuxed
    if extent.stated > 0 and missing > max(_TRUNCATION_TOLERANCE_S, 0.05 * extent.stated):
        raise VideoUnreadable(
            f"{path}: is truncated ({name} stream holds {extent.demuxed:.1f} s of its stated {extent.stated:.1f} s)"
        )


def probe(path: Path | str, known_hash: str | None = None) -> VideoRef:
    """Validate a video file and describe it; raises VideoUnreadable with a one-line reason."""
    path = Path(path).expanduser()
    check_path(path)
    demuxed = _demux_extents(path)
    _check_truncation(path, "video", demuxed.video)
    if demuxed.audio is not None:
        _check_truncation(path, "audio", demuxed.audio)
    decoder, num_frames = _frame_decoder(path, demuxed)
    duration = min(demuxed.video.demuxed, num_frames / demuxed.fps)
    return VideoRef(
        path=path.resolve(),
        content_hash=known_hash or content_hash(path),
        duration=round(duration, 3),
        fps=demuxed.fps,
        width=demuxed.width,
        height=demuxed.height,
        num_frames=num_frames,
        audio_duration=round(demuxed.audio.demuxed, 3) if demuxed.audio else 0.0,
        decoder=decoder,
    )


def _decord() -> Any:
    """The decord module, with its FFmpeg log silenced: damage is reported once, as our own error, not as raw
    `[h264 @ 0x...]` lines on stderr."""
    import decord

    decord.logging.set_level(decord.logging.QUIET)
    return decord


def _open_reader(path: Path) -> "decord.VideoReader":  # type: ignore[name-defined]  # noqa: F821
    decord = _decord()

    try:
        return decord.VideoReader(str(path), ctx=decord.cpu(0), num_threads=DECODE_THREADS)
    except decord.DECORDError as error:
        raise VideoUnreadable(f"{path}: cannot be decoded ({_short(error)})") from error


def _frame_decoder(path: Path, demuxed: "_Demuxed") -> tuple[str, int]:
    """decord when it can read the file (fast random access), else PyAV (AV1, GIF, other formats its
    bundled FFmpeg lacks, and tiny frames such as 16x16 or 1x1, which decord opens but cannot copy out);
    returns the decoder name and the frame count."""
    decord = _decord()

    try:
        reader = decord.VideoReader(str(path), ctx=decord.cpu(0), num_threads=1)
        reader.get_batch([0]).asnumpy()
    except decord.DECORDError:
        return "pyav", _pyav_frame_count(path, demuxed)
    return "decord", _decodable_frame_count(path)


def _pyav_frame_count(path: Path, demuxed: "_Demuxed") -> int:
    """Frame count from the demuxed packets, after checking that PyAV decodes a first frame."""
    import av

    try:
        with av.open(str(path)) as container:
            next(container.decode(video=0))
    except (av.error.FFmpegError, StopIteration) as error:
        reason = _short(error) if isinstance(error, av.error.FFmpegError) else "no frame decodes"
        raise VideoUnreadable(f"{path}: video frames cannot be decoded ({reason})") from error
    return max(1, demuxed.video_packets)


def _decodable_frame_count(path: Path) -> int:
    """Frame count decord sees, confirmed by decoding the last frame (a lying index fails here)."""
    decord = _decord()

    reader = _open_reader(path)
    count = len(reader)
    if count == 0:
        raise VideoUnreadable(f"{path}: has no decodable video frames")
    try:
        reader[count - 1]
    except decord.DECORDError as error:
        raise VideoUnreadable(f"{path}: is damaged (its last frames cannot be decoded)") from error
    return count


def frame_indices(ref: VideoRef, times: Sequence[float]) -> np.ndarray:
    """Nearest frame index for each timestamp, clipped to the video."""
    indices = np.rint(np.asarray(times, dtype=np.float64) * ref.fps).astype(np.int64)
    return np.clip(indices, 0, max(ref.num_frames - 1, 0))


def sample_times(duration: float, fps: float) -> np.ndarray:
    """Evenly spaced timestamps at `fps`, starting at 0, strictly inside the video."""
    count = max(1, int(np.floor(duration * fps - 1e-9)) + 1)
    times = np.arange(count, dtype=np.float64) / fps
    return times[times < max(duration, 1e-6)]


def iter_frames(ref: VideoRef, times: Sequence[float], batch_size: int = 32) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Decode the frames nearest to `times` (sorted), `batch_size` at a time: yields (times, RGB uint8 NHWC)."""
    if ref.decoder == "pyav":
        yield from _iter_frames_pyav(ref, times, batch_size)
        return
    decord = _decord()

    reader = _open_reader(ref.path)
    times_array = np.asarray(times, dtype=np.float64)
    indices = frame_indices(ref, times_array)
    for start in range(0, len(indices), batch_size):
        batch = indices[start : start + batch_size]
        try:
            frames = reader.get_batch(batch.tolist()).asnumpy()
        except decord.DECORDError as error:
            bad = _first_bad_frame(reader, batch.tolist())
            raise VideoUnreadable(
                f"{ref.path}: is damaged (its video frames cannot be decoded at {format_timestamp(bad / ref.fps)})"
            ) from error
        yield times_array[start : start + batch_size], frames


def _first_bad_frame(reader: Any, indices: list[int]) -> int:
    """The first of `indices` that decord cannot decode on its own (a batch failed; say where)."""
    decord = _decord()
    for index in indices:
        try:
            reader.get_batch([index]).asnumpy()
        except decord.DECORDError:
            return index
    return indices[0]


def _iter_frames_pyav(ref: VideoRef, times: Sequence[float], batch_size: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Sequential PyAV decode keeping the frame nearest each requested time (for formats decord lacks).

    A frame that fails to decode is skipped; the previous good frame stands in for it, so one damaged
    packet does not lose the video.
    """
    import av

    times_array = np.asarray(times, dtype=np.float64)
    wanted = frame_indices(ref, times_array)
    batch_times: list[float] = []
    batch_frames: list[np.ndarray] = []
    cursor = 0
    last: np.ndarray | None = None
    with av.open(str(ref.path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        for packet in container.demux(stream):
            try:
                decoded = packet.decode()
            except av.error.FFmpegError:
                continue
            for frame in decoded:
                index = int(round(float(frame.time or 0.0) * ref.fps))
                image = frame.to_ndarray(format="rgb24")
                while cursor < len(wanted) and wanted[cursor] <= index:
                    batch_times.append(float(times_array[cursor]))
                    batch_frames.append(image if wanted[cursor] == index or last is None else last)
                    cursor += 1
                    if len(batch_frames) == batch_size:
                        yield np.asarray(batch_times), np.stack(batch_frames)
                        batch_times, batch_frames = [], []
                last = image
    while cursor < len(wanted) and last is not None:
        batch_times.append(float(times_array[cursor]))
        batch_frames.append(last)
        cursor += 1
    if batch_frames:
        yield np.asarray(batch_times), np.stack(batch_frames)


def _decoded_audio(ref: VideoRef) -> Iterator[np.ndarray]:
    """16 kHz mono float32 pieces of the audio track, as PyAV decodes them; checks for truncation at the end."""
    import av

    decoded = 0
    resampler = av.AudioResampler(format="flt", layout="mono", rate=AUDIO_RATE)
    try:
        with av.open(str(ref.path)) as container:
            stream = container.streams.audio[0]
            for frame in _tolerant_decode(container, stream, ref.path):
                for out in resampler.resample(frame):
                    piece = out.to_ndarray().reshape(-1).astype(np.float32, copy=False)
                    decoded += len(piece)
                    yield piece
            for out in resampler.resample(None):
                piece = out.to_ndarray().reshape(-1).astype(np.float32, copy=False)
                decoded += len(piece)
                yield piece
    except av.error.FFmpegError as error:
        raise VideoUnreadable(f"{ref.path}: audio decoding failed ({_short(error)})") from error
    _check_truncation(ref.path, "audio", _StreamExtent(stated=ref.audio_duration, demuxed=decoded / AUDIO_RATE))


MAX_DAMAGED_SHARE = 0.05
"""Audio packets that fail to decode are skipped (as FFmpeg does) up to this share of the stream."""


def _tolerant_decode(container: Any, stream: Any, path: Path) -> Iterator[Any]:
    """Decoded frames of one stream, skipping damaged packets; too many damaged ones is an error."""
    import av

    damaged = total = 0
    for packet in container.demux(stream):
        if packet.size == 0 and packet.pts is None:
            continue
        total += 1
        try:
            frames = packet.decode()
        except av.error.FFmpegError as error:
            damaged += 1
            if damaged > 10 and damaged > MAX_DAMAGED_SHARE * total:
                raise VideoUnreadable(f"{path}: audio is too damaged to decode ({_short(error)})") from error
            continue
        yield from frames
    with contextlib.suppress(av.error.FFmpegError):
        yield from stream.codec_context.decode(None)


def _quietest_cut(samples: np.ndarray, target: int, search: int) -> int:
    """Sample index in [target - search, target] at the centre of the quietest 0.25 s window."""
    window = AUDIO_RATE // 4
    start = max(0, target - search)
    region = samples[start:target]
    if len(region) < 2 * window:
        return target
    frames = region[: len(region) // window * window].reshape(-1, window)
    quietest = int(np.argmin(np.sqrt((frames**2).mean(axis=1))))
    return start + quietest * window + window // 2


def iter_audio(ref: VideoRef, chunk_seconds: float = 300.0, search_seconds: float = 20.0) -> Iterator[tuple[float, np.ndarray]]:
    """The audio as (offset seconds, 16 kHz mono float32) chunks of about `chunk_seconds`, each cut at the
    quietest moment of its last `search_seconds`, so a long video never sits in memory whole and words
    are rarely split between chunks."""
    if ref.audio_duration <= 0:
        return
    target, search = int(chunk_seconds * AUDIO_RATE), int(search_seconds * AUDIO_RATE)
    buffer: list[np.ndarray] = []
    buffered = 0
    offset = 0
    for piece in _decoded_audio(ref):
        buffer.append(piece)
        buffered += len(piece)
        if buffered < target + AUDIO_RATE:
            continue
        samples = np.concatenate(buffer)
        cut = _quietest_cut(samples, target, search)
        yield offset / AUDIO_RATE, samples[:cut]
        offset += cut
        buffer, buffered = [samples[cut:]], len(samples) - cut
    if buffered:
        yield offset / AUDIO_RATE, np.concatenate(buffer)


def load_audio(ref: VideoRef) -> np.ndarray:
    """The whole audio track as 16 kHz mono float32 in [-1, 1]; empty when the video has no audio."""
    pieces = list(_decoded_audio(ref)) if ref.audio_duration > 0 else []
    return np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.float32)


def find_videos(video_dir: Path, recursive: bool = False) -> list[Path]:
    """Video files under `video_dir` by extension, sorted; hidden files are skipped."""
    if not video_dir.exists():
        raise InvalidRequest(f"{video_dir}: no such directory")
    if not video_dir.is_dir():
        raise InvalidRequest(f"{video_dir}: is not a directory")
    pattern = video_dir.rglob("*") if recursive else video_dir.iterdir()
    return sorted(
        p for p in pattern if p.is_file() and p.suffix.lower() in VIDEO_SUFFIXES and not p.name.startswith(".")
    )
