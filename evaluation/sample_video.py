"""A short synthetic video with known content: scikit-image photos with printed titles and espeak-ng
narration at known times, so tests and the offline demo can check answers against ground truth. The default
video also shows three other kinds of on-screen text for the OCR stage: a title card over the opening, a
name caption under the astronaut and a street-style sign in the coffee photo (`screen_texts` says when).

Run `python -m evaluation.sample_video OUT.mp4 [--no-audio]` to write one and print its description.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from evaluation.speech_synthesis import AUDIO_RATE, ESPEAK_VOICE, require_espeak, speak

DEFAULT_NARRATION: tuple[tuple[float, str], ...] = (
    (1.0, "Welcome to the harbor tour."),
    (7.0, "The budget for the new bridge is four million dollars."),
    (14.0, "An astronaut will visit the science museum on Friday."),
    (21.0, "Coffee is served in the garden after the tour."),
)
"""Four distinct topics, spaced so no line overlaps the next. faster-whisper tiny.en transcribes each
verbatim (except "$4 million"); "Our astronaut" in espeak's en-us voice came out as "Our rest"."""
TAIL_S = 7.0
"""Video length after the last line's start when no duration is given (the default gives 28 s)."""

SCENE_LEAD_S = 0.5
"""A scene starts this long before its narration line, so the picture is up when the words come."""

MIN_GAP_S = 0.25
"""Least silence between the end of one spoken line and the start of the next."""

_DEFAULT_SCENES: tuple[tuple[str, str, bool], ...] = (
    ("rocket", "HARBOR TOUR", False),
    ("camera", "BRIDGE BUDGET", True),
    ("astronaut", "SCIENCE MUSEUM", True),
    ("coffee", "GARDEN CAFE", False),
)
"""(skimage.data image, printed title, shows a person) per default line. Only photos bundled with
scikit-image (no download) and none a detector mistakes for a person (not `chelsea`, the cat)."""

_DEFAULT_OVERLAYS: tuple[tuple[str, str, int], ...] = (
    ("title_card", "VIDSAGE SAMPLE REEL", 0),
    ("caption", "DR. ADA STONE, CURATOR", 2),
    ("sign", "PATIO SEATING", 3),
)
"""(kind, text, scene index) of the default video's texts besides the scene titles. No word is one the narration,
the titles or the generated questions use (not "tour", "harbor", "museum"...), so searches for those find what
they found before. The caption goes under the astronaut (a person); the sign stands in the coffee photo."""
TITLE_CARD_S = 2.0
"""How long the title card is up, from the first frame, its last `TITLE_CARD_FADE_S` fading out."""
TITLE_CARD_FADE_S = 0.5
"""The title card fades out rather than vanishing in one frame, so its end is no shot boundary."""
SIGN_CENTRE = (0.7, 0.74)
"""Where a sign stands in the frame (fractions of width and height): right of centre, low, clear of the title."""

_BACKGROUND = (16, 16, 16)
_MAX_ZOOM = 1.12
VIDEO_CODECS = ("libx264", "mpeg4")
AUDIO_CODECS = ("aac", "libmp3lame")
_AUDIO_CHUNK = 1024


@dataclass(frozen=True)
class NarrationLine:
    """One spoken sentence: its text and when it sounds, in seconds (t1 = t0 + spoken length)."""

    text: str
    t0: float
    t1: float


@dataclass(frozen=True)
class Scene:
    """One still photo on screen from t0 to t1, with its printed title and whether a person shows."""

    image: str
    t0: float
    t1: float
    title: str
    shows_person: bool


@dataclass(frozen=True)
class ShownText:
    """One text printed on screen from t0 to t1, and its kind: `title` (a scene's printed title, top left),
    `title_card` (the video's title, large, in a band across the middle), `caption` (a name on a dark band in
    the lower third) or `sign` (a panel standing in the photo, zoomed with it)."""

    text: str
    t0: float
    t1: float
    kind: str


@dataclass(frozen=True)
class SampleVideo:
    """What was written: the file, its timing and size, and the ground truth it contains."""

    path: Path
    duration: float
    fps: float
    width: int
    height: int
    narration: tuple[NarrationLine, ...]
    scenes: tuple[Scene, ...]
    video_codec: str = "libx264"
    audio_codec: str | None = "aac"
    screen_texts: tuple[ShownText, ...] = ()
    """Every text printed on screen, the scene titles included, by when it appears: OCR's ground truth."""

    @property
    def has_audio(self) -> bool:
        """Whether the file has an audio track at all."""
        return self.audio_codec is not None

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable description (paths as strings, lists not tuples), as written beside the video."""
        data = asdict(self)
        data["path"] = str(self.path)
        data["narration"] = [asdict(line) for line in self.narration]
        data["scenes"] = [asdict(scene) for scene in self.scenes]
        data["screen_texts"] = [asdict(text) for text in self.screen_texts]
        data["has_audio"] = self.has_audio
        data["audio_rate"] = AUDIO_RATE if self.has_audio else None
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SampleVideo:
        """Rebuild a description from `to_dict()` output (derived keys are ignored). A description written
        before `screen_texts` was recorded gets its scenes' titles: those videos printed nothing else."""
        scenes = tuple(Scene(**scene) for scene in data["scenes"])
        if "screen_texts" in data:
            texts = tuple(ShownText(**text) for text in data["screen_texts"])
        else:
            texts = plan_screen_texts(scenes, overlays=False)
        return cls(
            path=Path(data["path"]),
            duration=float(data["duration"]),
            fps=float(data["fps"]),
            width=int(data["width"]),
            height=int(data["height"]),
            narration=tuple(NarrationLine(**line) for line in data["narration"]),
            scenes=scenes,
            video_codec=data["video_codec"],
            audio_codec=data["audio_codec"],
            screen_texts=texts,
        )


def description_path(video_path: Path | str) -> Path:
    """Where the JSON description of a sample video lives: `<video path>.json`."""
    return Path(f"{video_path}.json")


def make_sample_video(
    path: Path | str,
    *,
    with_audio: bool = True,
    fps: float = 10.0,
    size: tuple[int, int] = (640, 360),
    seed: int = 0,
    narration: Sequence[tuple[float, str]] | None = None,
    duration: float | None = None,
    photos: Sequence[tuple[str, str, bool]] | None = None,
    voice: str = ESPEAK_VOICE,
    overlays: bool | None = None,
) -> SampleVideo:
    """Write the sample video (and `<path>.json`) and return its description.

    `narration` is (start seconds, sentence) pairs, default `DEFAULT_NARRATION`; `duration` defaults
    to the last start + 7 s. Without audio the file has no audio track and `narration` is empty.
    `photos` is (skimage.data image, printed title, shows a person) per narration cue, cycled; by default
    the four default scenes. An empty title prints nothing. `voice` is the espeak-ng voice ("de", "es", ...),
    for narration in another language. `overlays` adds the title card, the name caption and the sign
    (`_DEFAULT_OVERLAYS`); by default only the default video (neither `narration` nor `photos` given) has them.
    The same arguments give the same frames, audio and description.
    """
    path = Path(path)
    width, height = _check_size(size)
    if fps <= 0:
        raise ValueError(f"fps must be positive, got {fps}")
    cues = _sorted_cues(DEFAULT_NARRATION if narration is None else narration)
    duration = float(duration) if duration is not None else (cues[-1][0] if cues else 0.0) + TAIL_S
    n_frames = max(1, round(duration * fps))
    duration = n_frames / fps
    scenes = plan_scenes(cues, duration, default_titles=narration is None, photos=photos)
    for scene in scenes:
        letterbox(scene.image, (width, height))  # an unknown photo fails here, before any file is written
    if overlays is None:
        overlays = narration is None and photos is None
    texts = plan_screen_texts(scenes, overlays=overlays)

    lines: tuple[NarrationLine, ...] = ()
    track: np.ndarray | None = None
    if with_audio:
        lines, clips = _speak_all(cues, voice)
        _check_timeline(lines, duration)
        track = mix_track(lines, clips, duration)

    video_codec = pick_codec(VIDEO_CODECS, "video")
    audio_codec = pick_codec(AUDIO_CODECS, "audio") if with_audio else None
    frames = (render_frame(scenes, i / fps, (width, height), seed, texts) for i in range(n_frames))
    write_video(path, frames, fps, (width, height), video_codec, audio_codec, track)

    video = SampleVideo(
        path=path,
        duration=duration,
        fps=float(fps),
        width=width,
        height=height,
        narration=lines,
        scenes=scenes,
        video_codec=video_codec,
        audio_codec=audio_codec,
        screen_texts=texts,
    )
    description_path(path).write_text(json.dumps(video.to_dict(), indent=2) + "\n")
    return video


# --- timeline ---------------------------------------------------------------------------------


def _check_size(size: tuple[int, int]) -> tuple[int, int]:
    """yuv420p needs even, positive sides."""
    width, height = int(size[0]), int(size[1])
    if width <= 0 or height <= 0 or width % 2 or height % 2:
        raise ValueError(f"size must be positive even (width, height), got {size}")
    return width, height


def _sorted_cues(narration: Sequence[tuple[float, str]]) -> list[tuple[float, str]]:
    """Narration cues in time order, each with a non-negative start and non-empty text."""
    cues = sorted((float(t0), str(text).strip()) for t0, text in narration)
    for t0, text in cues:
        if t0 < 0 or not text:
            raise ValueError(f"narration cue needs a start >= 0 and text, got ({t0}, {text!r})")
    return cues


def plan_scenes(
    cues: Sequence[tuple[float, str]],
    duration: float,
    *,
    default_titles: bool,
    photos: Sequence[tuple[str, str, bool]] | None = None,
) -> tuple[Scene, ...]:
    """One scene per narration cue, switching `SCENE_LEAD_S` before each cue; photos cycle.

    Given `photos`, each scene takes its photo, title and person flag from them as written."""
    starts = [0.0] + [t0 - SCENE_LEAD_S for t0, _ in cues[1:]]
    ends = starts[1:] + [duration]
    scenes = []
    for index, (t0, t1) in enumerate(zip(starts, ends)):
        if t1 <= t0:
            raise ValueError(f"narration cues too close or past the end: scene {index} would span {t0:.2f}-{t1:.2f} s")
        if photos:
            image, title, person = photos[index % len(photos)]
        else:
            image, title, person = _DEFAULT_SCENES[index % len(_DEFAULT_SCENES)]
            if not default_titles:
                title = f"SCENE {index + 1}"
        scenes.append(Scene(image=image, t0=t0, t1=t1, title=title, shows_person=person))
    return tuple(scenes)


def plan_screen_texts(scenes: Sequence[Scene], *, overlays: bool) -> tuple[ShownText, ...]:
    """Each scene's title while the scene is up and, with `overlays`, the default title card, caption and sign
    (those whose scene exists), by start time.

    The title card is a band over the first scene's first `TITLE_CARD_S` seconds, not a frame of its own: a
    card before the first photo would be a shot of its own, and so a fifth scene in every scene list and count
    (scene 1 must start at 0 s and narration at 1 s, so a separate card could last at most 0.5 s). Up from the
    first frame (the OCR stage always reads it) and for a whole 1 fps sweep step, it is read however the
    sweep falls; its fade-out and the band's size (under a third of the frame) keep its end from looking like
    a cut or a dissolve. Caption and sign stay for their whole scene, appearing and going with its cuts."""
    texts = [ShownText(scene.title, scene.t0, scene.t1, "title") for scene in scenes if scene.title]
    if overlays:
        for kind, text, index in _DEFAULT_OVERLAYS:
            if index >= len(scenes):
                continue
            scene = scenes[index]
            t1 = min(scene.t1, scene.t0 + TITLE_CARD_S) if kind == "title_card" else scene.t1
            texts.append(ShownText(text, scene.t0, t1, kind))
    return tuple(sorted(texts, key=lambda text: text.t0))


def _check_timeline(lines: Sequence[NarrationLine], duration: float) -> None:
    """Fail clearly when a spoken line would run into the next one or past the end."""
    for line, following in zip(lines, lines[1:]):
        if line.t1 + MIN_GAP_S > following.t0:
            raise ValueError(
                f"narration overlaps: {line.text!r} is spoken {line.t0:.2f}-{line.t1:.2f} s, "
                f"but {following.text!r} starts at {following.t0:.2f} s (need a {MIN_GAP_S} s gap)"
            )
    if lines and lines[-1].t1 > duration:
        raise ValueError(
            f"narration {lines[-1].text!r} ends at {lines[-1].t1:.2f} s, after the video ends ({duration:.2f} s)"
        )


# --- narration --------------------------------------------------------------------------------


def _speak_all(
    cues: Sequence[tuple[float, str]], voice: str = ESPEAK_VOICE
) -> tuple[tuple[NarrationLine, ...], list[np.ndarray]]:
    """Speak every cue; return the lines with their real end times and the 16 kHz clips."""
    require_espeak()
    lines, clips = [], []
    with tempfile.TemporaryDirectory(prefix="vidsage-espeak-") as workdir:
        for index, (t0, text) in enumerate(cues):
            clip = speak(text, Path(workdir) / f"line{index}.wav", voice)
            lines.append(NarrationLine(text=text, t0=t0, t1=round(t0 + len(clip) / AUDIO_RATE, 6)))
            clips.append(clip)
    return tuple(lines), clips


def mix_track(lines: Sequence[NarrationLine], clips: Sequence[np.ndarray], duration: float) -> np.ndarray:
    """Silent mono track of the video's length with each clip placed at its line's start."""
    track = np.zeros(round(duration * AUDIO_RATE), dtype=np.float32)
    for line, clip in zip(lines, clips):
        start = round(line.t0 * AUDIO_RATE)
        track[start : start + len(clip)] += clip[: len(track) - start]
    peak = float(np.abs(track).max(initial=0.0))
    return track * (0.7 / peak) if peak > 0 else track


# --- pictures ---------------------------------------------------------------------------------


BUNDLED_PHOTOS = frozenset({
    "astronaut", "brick", "camera", "cat", "cell", "chelsea", "checkerboard", "clock", "coffee", "coins",
    "colorwheel", "grass", "gravel", "horse", "hubble_deep_field", "immunohistochemistry", "logo",
    "microaneurysms", "moon", "page", "retina", "rocket", "stereo_motorcycle", "text",
})  # fmt: skip
"""The `skimage.data` images whose files ship in scikit-image's wheel: no download, the same pixels every time
(`lily` or `eagle` would be fetched from the internet; `binary_blobs` is random)."""


def load_photo(name: str) -> np.ndarray:
    """An RGB uint8 photo bundled with scikit-image (grayscale ones are stacked to RGB, binary ones scaled; of
    the stereo pair, the left view)."""
    import skimage.data

    if name not in BUNDLED_PHOTOS:
        raise ValueError(f"photo {name!r}: not one of scikit-image's bundled photos ({', '.join(sorted(BUNDLED_PHOTOS))})")
    loaded = getattr(skimage.data, name)()
    image = np.asarray(loaded[0] if isinstance(loaded, tuple) else loaded)
    if image.dtype == bool:  # a silhouette (`horse`): white on black, not 0/1 grey levels
        image = image.astype(np.uint8) * 255
    if image.ndim == 2:
        image = np.stack([image] * 3, axis=-1)
    return np.ascontiguousarray(image[..., :3]).astype(np.uint8)


_CANVAS_CACHE: dict[tuple[str, int, int], np.ndarray] = {}
_FONT_CACHE: dict[int, Any] = {}


def letterbox(name: str, size: tuple[int, int]) -> np.ndarray:
    """The photo scaled to fit the canvas whole, centred on a dark background (cached)."""
    key = (name, size[0], size[1])
    if key not in _CANVAS_CACHE:
        import cv2

        photo = load_photo(name)
        width, height = size
        scale = min(width / photo.shape[1], height / photo.shape[0])
        new_w, new_h = max(1, round(photo.shape[1] * scale)), max(1, round(photo.shape[0] * scale))
        resized = cv2.resize(photo, (new_w, new_h), interpolation=cv2.INTER_AREA)
        canvas = np.full((height, width, 3), _BACKGROUND, dtype=np.uint8)
        x, y = (width - new_w) // 2, (height - new_h) // 2
        canvas[y : y + new_h, x : x + new_w] = resized
        _CANVAS_CACHE[key] = canvas
    return _CANVAS_CACHE[key]


def _ken_burns(seed: int, scene_index: int) -> tuple[float, float, float, float]:
    """(zoom at start, zoom at end, pan x, pan y) for a scene, from the seed: gentle and bounded."""
    rng = np.random.default_rng([seed, scene_index])
    zoom_in = bool(rng.integers(2))
    far = float(rng.uniform(1.06, _MAX_ZOOM))
    pan_x, pan_y = (float(v) for v in rng.uniform(-1.0, 1.0, size=2))
    return (1.0, far, pan_x, pan_y) if zoom_in else (far, 1.0, pan_x, pan_y)


def render_frame(
    scenes: Sequence[Scene], t: float, size: tuple[int, int], seed: int, texts: Sequence[ShownText] = ()
) -> np.ndarray:
    """The RGB frame at time `t`: the current scene's photo (with any sign standing in it), slowly zoomed and
    panned, titled, with the caption and title card of `texts` that are up at `t` on top."""
    import cv2

    shown = [text for text in texts if text.t0 <= t < text.t1]
    index = scene_at(scenes, t)
    scene = scenes[index]
    progress = min(1.0, max(0.0, (t - scene.t0) / (scene.t1 - scene.t0)))
    eased = progress * progress * (3.0 - 2.0 * progress)
    zoom_start, zoom_end, pan_x, pan_y = _ken_burns(seed, index)
    signs = [text for text in shown if text.kind == "sign"]
    # With a sign the camera pushes in on it: it stays in place, only growing with the zoom. A sign sliding
    # across the frame reads as new text once its box has moved off where it was first read.
    if signs:
        pan_x, pan_y = 2.0 * SIGN_CENTRE[0] - 1.0, 2.0 * SIGN_CENTRE[1] - 1.0
    zoom = zoom_start + (zoom_end - zoom_start) * eased
    width, height = size
    cx, cy = width / 2.0, height / 2.0
    # Pan at most as far as the zoom leaves spare picture, so the photo never slides off its window.
    dx, dy = (zoom - 1.0) * cx * pan_x, (zoom - 1.0) * cy * pan_y
    matrix = np.array([[zoom, 0.0, (1.0 - zoom) * cx - dx], [0.0, zoom, (1.0 - zoom) * cy - dy]])
    canvas = letterbox(scene.image, size)
    if signs:
        canvas = canvas.copy()
        for sign in signs:
            draw_sign(canvas, sign.text)
    frame = cv2.warpAffine(canvas, matrix, (width, height), flags=cv2.INTER_LINEAR, borderValue=_BACKGROUND)
    draw_title(frame, scene.title)
    for text in shown:
        if text.kind == "caption":
            draw_caption(frame, text.text)
        elif text.kind == "title_card":
            draw_title_card(frame, text.text, opacity=min(1.0, (text.t1 - t) / TITLE_CARD_FADE_S))
    return frame


def scene_at(scenes: Sequence[Scene], t: float) -> int:
    """Index of the scene on screen at time `t` (the last one past the end)."""
    for index, scene in enumerate(scenes):
        if t < scene.t1:
            return index
    return len(scenes) - 1


def draw_title(frame: np.ndarray, title: str) -> None:
    """Print `title` in the top-left corner, white on a dark box, scaled to the frame height."""
    import cv2

    if not title:
        return
    font, scale = cv2.FONT_HERSHEY_SIMPLEX, frame.shape[0] / 400.0
    thickness = max(1, round(frame.shape[0] / 180))
    (text_w, text_h), baseline = cv2.getTextSize(title, font, scale, thickness)
    margin, pad = round(frame.shape[0] / 30), round(frame.shape[0] / 60)
    top_left = (margin - pad, margin - pad)
    bottom_right = (margin + text_w + pad, margin + text_h + baseline + pad)
    cv2.rectangle(frame, top_left, bottom_right, (0, 0, 0), thickness=-1)
    cv2.putText(frame, title, (margin, margin + text_h), font, scale, (255, 255, 255), thickness, cv2.LINE_AA)


def draw_title_card(frame: np.ndarray, title: str, opacity: float = 1.0) -> None:
    """Print `title` large and centred, white on a dark band across the middle of the frame (28% of its
    height), blended in at `opacity` (0..1)."""
    import cv2

    opacity = max(0.0, min(1.0, opacity))
    height, width = frame.shape[:2]
    font, thickness = cv2.FONT_HERSHEY_DUPLEX, max(1, round(height / 120))
    (unit_w, unit_h), _ = cv2.getTextSize(title, font, 1.0, thickness)
    scale = min(height / 9.0 / unit_h, 0.85 * width / unit_w)
    (text_w, text_h), _ = cv2.getTextSize(title, font, scale, thickness)
    band_h = round(0.28 * height)
    top = (height - band_h) // 2
    card = frame.copy()
    cv2.rectangle(card, (0, top), (width - 1, top + band_h), (14, 20, 44), thickness=-1)
    origin = ((width - text_w) // 2, top + (band_h + text_h) // 2)
    cv2.putText(card, title, origin, font, scale, (255, 255, 255), thickness, cv2.LINE_AA)
    cv2.addWeighted(card, opacity, frame, 1.0 - opacity, 0.0, dst=frame)


def draw_caption(frame: np.ndarray, caption: str) -> None:
    """A news-style name caption: `caption` in white on a dark blue band from the left edge, in the lower third."""
    import cv2

    height = frame.shape[0]
    font, scale = cv2.FONT_HERSHEY_DUPLEX, height / 480.0
    thickness = max(1, round(height / 180))
    (text_w, text_h), baseline = cv2.getTextSize(caption, font, scale, thickness)
    left, pad = round(height / 18), round(height / 40)
    bottom = round(0.86 * height)
    top = bottom - text_h - baseline - 2 * pad
    cv2.rectangle(frame, (0, top), (left + text_w + 2 * pad, bottom), (12, 24, 70), thickness=-1)
    cv2.putText(frame, caption, (left + pad, bottom - pad - baseline), font, scale, (255, 255, 255), thickness,
                cv2.LINE_AA)  # fmt: skip


def draw_sign(canvas: np.ndarray, text: str) -> None:
    """A street-style sign: `text` in white serif capitals (DejaVu Serif Bold, not OpenCV's face, as a real
    sign's lettering differs from the overlays') on a green panel with a white rim, right of centre low in the
    picture (at `SIGN_CENTRE`)."""
    from PIL import Image, ImageDraw

    height, width = canvas.shape[:2]
    image = Image.fromarray(canvas)
    draw = ImageDraw.Draw(image)
    font = _sign_font(max(8, round(height / 18)))
    centre = (SIGN_CENTRE[0] * width, SIGN_CENTRE[1] * height)
    x0, y0, x1, y1 = draw.textbbox(centre, text, font=font, anchor="mm")
    pad, rim = max(3, round(height / 45)), max(1, round(height / 200))
    draw.rectangle((x0 - 2 * pad, y0 - pad - 2 * rim, x1 + 2 * pad, y1 + pad + 2 * rim), fill=(0, 104, 62))
    draw.rectangle((x0 - 2 * pad + 2 * rim, y0 - pad, x1 + 2 * pad - 2 * rim, y1 + pad), outline=(255, 255, 255),
                   width=rim)  # fmt: skip
    draw.text(centre, text, font=font, fill=(255, 255, 255), anchor="mm")
    canvas[...] = np.asarray(image)


def _sign_font(size: int) -> Any:
    """DejaVu Serif Bold (bundled with matplotlib) at `size` pixels (cached)."""
    if size not in _FONT_CACHE:
        from PIL import ImageFont

        from evaluation.text_cards import font_path

        _FONT_CACHE[size] = ImageFont.truetype(str(font_path("DejaVuSerif-Bold")), size)
    return _FONT_CACHE[size]


# --- muxing -----------------------------------------------------------------------------------


def pick_codec(candidates: Sequence[str], kind: str) -> str:
    """The first encoder in `candidates` this PyAV build has."""
    import av

    for name in candidates:
        try:
            av.codec.Codec(name, "w")
        except Exception:  # noqa: BLE001 - PyAV raises different types per version for unknown codecs
            continue
        return name
    raise RuntimeError(f"PyAV has none of the {kind} encoders {', '.join(candidates)}")


def _audio_chunks(track: np.ndarray, until: float, cursor: int) -> Iterator[tuple[int, np.ndarray]]:
    """(start sample, int16 chunk) pieces of `track` from `cursor` up to time `until`."""
    stop = min(len(track), round(until * AUDIO_RATE))
    for start in range(cursor, stop, _AUDIO_CHUNK):
        end = min(start + _AUDIO_CHUNK, stop)
        yield start, (np.clip(track[start:end], -1.0, 1.0) * 32767.0).astype(np.int16)


def write_video(
    path: Path,
    frames: Iterator[np.ndarray],
    fps: float,
    size: tuple[int, int],
    video_codec: str,
    audio_codec: str | None,
    track: np.ndarray | None,
) -> None:
    """Encode frames (and the audio track, interleaved by time) into `path`, atomically."""
    import av

    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.stem}.partial{path.suffix}")
    rate = Fraction(fps).limit_denominator(1001)
    try:
        with av.open(str(partial), mode="w") as container:
            video = _add_video_stream(container, video_codec, rate, size)
            audio = _add_audio_stream(container, audio_codec) if audio_codec and track is not None else None
            cursor = 0
            for index, rgb in enumerate(frames):
                frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
                frame.pts, frame.time_base = index, 1 / rate
                container.mux(video.encode(frame))
                if audio is not None and track is not None:
                    cursor = _mux_audio(container, audio, track, (index + 1) / fps, cursor)
            if audio is not None and track is not None:
                _mux_audio(container, audio, track, len(track) / AUDIO_RATE, cursor)
                container.mux(audio.encode(None))
            container.mux(video.encode(None))
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)


def _add_video_stream(container: Any, codec: str, rate: Fraction, size: tuple[int, int]) -> Any:
    """yuv420p video stream; keyframes every 2 s so frame-accurate seeking stays cheap."""
    stream = container.add_stream(codec, rate=rate)
    stream.width, stream.height = size
    stream.pix_fmt = "yuv420p"
    stream.codec_context.gop_size = max(1, round(2 * float(rate)))
    if codec == "libx264":
        stream.options = {"preset": "veryfast", "crf": "20"}
    else:
        stream.bit_rate = 2_000_000
    return stream


def _add_audio_stream(container: Any, codec: str) -> Any:
    """Mono audio stream at `AUDIO_RATE`."""
    stream = container.add_stream(codec, rate=AUDIO_RATE)
    stream.codec_context.layout = "mono"
    stream.bit_rate = 64_000
    return stream


def _mux_audio(container: Any, stream: Any, track: np.ndarray, until: float, cursor: int) -> int:
    """Encode and mux the track from sample `cursor` up to time `until`; return the new cursor."""
    import av

    for start, chunk in _audio_chunks(track, until, cursor):
        frame = av.AudioFrame.from_ndarray(chunk[np.newaxis, :], format="s16", layout="mono")
        frame.sample_rate, frame.pts, frame.time_base = AUDIO_RATE, start, Fraction(1, AUDIO_RATE)
        container.mux(stream.encode(frame))
        cursor = start + len(chunk)
    return cursor


# --- command line -----------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m evaluation.sample_video OUT.mp4 [--no-audio]`: write it, print its description."""
    parser = argparse.ArgumentParser(description="Write a synthetic video with known content.")
    parser.add_argument("out", type=Path, help="output video path (.mp4)")
    parser.add_argument("--no-audio", action="store_true", help="no audio track (espeak-ng not needed)")
    parser.add_argument("--fps", type=float, default=10.0)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    video = make_sample_video(args.out, with_audio=not args.no_audio, fps=args.fps, seed=args.seed)
    print(json.dumps(video.to_dict(), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
