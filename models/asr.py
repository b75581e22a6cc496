"""Speech recognition with faster-whisper: VAD-filtered, word timestamps, 16 kHz mono input."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from models.errors import ModelUnavailable
from models.registry import ModelSpec
from models.settings import Settings
from models.types import TranscriptSpan, Word
from models.video import AUDIO_RATE

ProgressFn = Callable[[float], None]


@dataclass
class SpeechRecognizer:
    """A loaded faster-whisper model; `transcribe` turns audio into timed spans."""

    model: object
    pipeline: object | None
    spec: ModelSpec
    language: str | None

    def transcribe(self, audio: np.ndarray, progress: ProgressFn | None = None) -> list[TranscriptSpan]:
        """Transcribe 16 kHz mono float32 audio; `progress` receives seconds of audio done."""
        if audio.size < AUDIO_RATE // 10:
            return []
        engine = self.pipeline if self.pipeline is not None else self.model
        options: dict[str, object] = {
            "word_timestamps": True,
            "vad_filter": True,
            "beam_size": 5,
            "condition_on_previous_text": False,
        }
        if self.language and not _english_only(self.spec):
            options["language"] = self.language
        if self.pipeline is not None:
            options["batch_size"] = 16
        segments, _info = engine.transcribe(audio, **options)  # type: ignore[attr-defined]
        spans: list[TranscriptSpan] = []
        for segment in segments:
            words = tuple(
                Word(t0=float(w.start), t1=float(w.end), text=w.word.strip(), probability=float(w.probability))
                for w in (segment.words or ())
                if w.word.strip()
            )
            text = segment.text.strip()
            if not text:
                continue
            t0 = words[0].t0 if words else float(segment.start)
            t1 = words[-1].t1 if words else float(segment.end)
            spans.append(TranscriptSpan(t0=round(t0, 3), t1=round(t1, 3), text=text, words=words))
            if progress is not None:
                progress(float(segment.end))
        return spans


def _english_only(spec: ModelSpec) -> bool:
    return spec.location.rstrip("/").endswith(".en") or "tiny.en" in spec.description


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
