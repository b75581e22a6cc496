"""Speech recognition with faster-whisper: VAD-filtered, word timestamps, language detection, chunked.

Audio arrives as (offset, samples) chunks cut at quiet moments (models.video.iter_audio), so a long
video is transcribed piece by piece; times are shifted back to the video's clock.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np

from models.errors import ModelUnavailable
from models.registry import ModelSpec
from models.settings import Settings
from models.types import TranscriptSpan, Word
from models.video import AUDIO_RATE

ProgressFn = Callable[[float], None]


@dataclass(frozen=True)
class TranscriptResult:
    """Spans of one video plus the language heard (as detected, or as given)."""

    spans: list[TranscriptSpan]
    language: str | None
    language_probability: float
    chunks: int = 0


@dataclass
class SpeechRecognizer:
    """A loaded faster-whisper model; `transcribe` turns audio chunks into timed spans."""

    model: object
    pipeline: object | None
    spec: ModelSpec
    language: str | None

    @property
    def english_only(self) -> bool:
        return bool(getattr(self.model, "model", None) is not None and not self.model.model.is_multilingual)  # type: ignore[attr-defined]

    def _chunk(self, offset: float, audio: np.ndarray, language: str | None) -> tuple[list[TranscriptSpan], object]:
        engine = self.pipeline if self.pipeline is not None else self.model
        options: dict[str, object] = {
            "word_timestamps": True,
            "vad_filter": True,
            "beam_size": 5,
            "condition_on_previous_text": False,
        }
        if language and not self.english_only:
            options["language"] = language
        if self.pipeline is not None:
            options["batch_size"] = 16
        segments, info = engine.transcribe(audio, **options)  # type: ignore[attr-defined]
        spans: list[TranscriptSpan] = []
        for segment in segments:
            raw = [w for w in (segment.words or ()) if w.word.strip()]
            if raw:
                spans.extend(_sentences(raw, offset))
            elif segment.text.strip():
                t0, t1 = round(offset + float(segment.start), 3), round(offset + float(segment.end), 3)
                spans.append(TranscriptSpan(t0=t0, t1=t1, text=segment.text.strip()))
        return spans, info

    def transcribe(
        self, chunks: Iterable[tuple[float, np.ndarray]], progress: ProgressFn | None = None
    ) -> TranscriptResult:
        """Transcribe (offset seconds, 16 kHz mono float32) chunks; `progress` gets seconds of audio done.

        The language is detected on the first chunk with speech (unless configured) and then kept,
        so one video is not transcribed in two languages.
        """
        language = self.language
        probability = 1.0 if language else 0.0
        spans: list[TranscriptSpan] = []
        count = 0
        for offset, audio in chunks:
            count += 1
            if audio.size >= AUDIO_RATE // 10:
                found, info = self._chunk(offset, audio, language)
                spans.extend(found)
                if language is None and found:
                    language = getattr(info, "language", None)
                    probability = float(getattr(info, "language_probability", 0.0) or 0.0)
            if progress is not None:
                progress(offset + len(audio) / AUDIO_RATE)
        if self.english_only:
            language, probability = "en", 1.0
        return TranscriptResult(spans, language if spans else None, round(probability, 3) if spans else 0.0, count)


SENTENCE_END = (".", "?", "!", "。", "？", "！")
PAUSE_SPLIT_S = 1.0
"""A silence this long between two words starts a new span even without punctuation."""


def _sentences(raw_words: list, offset: float) -> list[TranscriptSpan]:  # type: ignore[type-arg]
    """Split a recogniser segment into sentence spans by word timestamps.

    Whisper often returns several sentences (seconds apart) as one segment; a span per sentence
    lets an answer cite the moment a thing is said rather than the start of a paragraph.
    """
    spans: list[TranscriptSpan] = []
    current: list = []  # type: ignore[type-arg]
    for index, word in enumerate(raw_words):
        current.append(word)
        following = raw_words[index + 1] if index + 1 < len(raw_words) else None
        ends_sentence = word.word.strip().endswith(SENTENCE_END)
        paused = following is not None and float(following.start) - float(word.end) >= PAUSE_SPLIT_S
        if following is None or ends_sentence or paused:
            words = tuple(
                Word(
                    t0=round(offset + float(w.start), 3),
                    t1=round(offset + float(w.end), 3),
                    text=w.word.strip(),
                    probability=round(float(w.probability), 4),
                )
                for w in current
            )
            text = "".join(w.word for w in current).strip()
            spans.append(TranscriptSpan(t0=words[0].t0, t1=words[-1].t1, text=text, words=words))
            current = []
    return spans


def load_asr(spec: ModelSpec, settings: Settings) -> SpeechRecognizer:
    """Load faster-whisper from a local directory or a hub id/size (downloads only for `real`)."""
    from faster_whisper import BatchedInferencePipeline, WhisperModel

    from models.device import pick_device

    device = pick_device(settings)
    compute_type = "float16" if device == "cuda" else "int8"
    local_only = spec.source in ("offline", "tiny")
    try:
        model = WhisperModel(
            spec.location,
            device=device,
            compute_type=compute_type,
            cpu_threads=0,
            download_root=str(settings.data_dir / "weights" / "whisper") if not local_only else None,
            local_files_only=local_only,
        )
    except Exception as error:  # faster-whisper raises plain RuntimeError/OSError/ValueError here
        raise ModelUnavailable(f"speech model {spec.location}: cannot be loaded ({error})") from error
    pipeline = BatchedInferencePipeline(model=model) if device == "cuda" else None
    return SpeechRecognizer(model=model, pipeline=pipeline, spec=spec, language=settings.asr_language)
