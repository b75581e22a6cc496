"""Speech recognition with faster-whisper: VAD-filtered, word timestamps, language detection, chunked.

Audio arrives as (offset, samples) chunks cut at quiet moments (models.adapters.video.iter_audio), so a long
video is transcribed piece by piece; times are shifted back to the video's clock. An English-only model
cannot detect a language: whether it heard English is judged from its own confidence (`reads_as_english`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np

from core.errors import ModelUnavailable
from core.settings import Settings
from core.types import TranscriptSpan, Word
from models.adapters.video import AUDIO_RATE
from models.registry import ModelSpec

ProgressFn = Callable[[float], None]


@dataclass(frozen=True)
class SpeechConfidence:
    """The recogniser's own numbers on the speech it heard: the evidence for judging whether it could read it."""

    speech_seconds: float = 0.0
    """Audio the VAD kept as speech."""
    words: int = 0
    word_probability: float = 0.0
    """Mean probability of the recognised words."""
    no_speech_probability: float = 0.0
    """Mean over the words of their decoding window's no-speech probability (to an English-only model,
    speech in another language looks partly like no speech)."""

    def __add__(self, other: SpeechConfidence) -> SpeechConfidence:
        words = self.words + other.words
        if not words:
            return SpeechConfidence(self.speech_seconds + other.speech_seconds)
        return SpeechConfidence(
            self.speech_seconds + other.speech_seconds,
            words,
            (self.word_probability * self.words + other.word_probability * other.words) / words,
            (self.no_speech_probability * self.words + other.no_speech_probability * other.words) / words,
        )

    def to_dict(self) -> dict[str, float | int]:
        return {
            "speech_seconds": round(self.speech_seconds, 1),
            "words": self.words,
            "word_probability": round(self.word_probability, 3),
            "no_speech_probability": round(self.no_speech_probability, 3),
        }


JUDGE_MIN_SPEECH_S = 5.0
"""Less speech (after VAD) than this is not judged and is kept as transcribed: on one short sentence (1.3-3.7 s)
tiny.en's numbers for English (word probability 0.48-0.86, no-speech 0.17-0.28) and for German, Spanish
or French (0.26-0.56, 0.18-0.55) overlap."""
ENGLISH_WORD_PROBABILITY = 0.65
"""Below this mean word probability (and above ENGLISH_NO_SPEECH) tiny.en did not hear English.
Measured on espeak-ng narrations of two to four sentences (5.2-15.8 s of speech, 7-52 words): English
0.72-0.91 (13 videos), except sentences made of foreign names (0.42-0.60, 3 videos); German, Spanish,
French, Italian, Dutch, Polish, Portuguese, Swedish 0.15-0.57 (21 videos; whisper's sampled fallback
decoding varies between runs). Margin 0.08 above the highest."""
ENGLISH_NO_SPEECH = 0.28
"""Above this mean no-speech probability (and below ENGLISH_WORD_PROBABILITY) tiny.en did not hear English.
On the same narrations: English 0.07-0.24, the other languages 0.32-0.53 (deterministic per audio);
margins 0.04 either side. The name-heavy English sentences (0.10-0.23) stay readable by this test."""


def reads_as_english(confidence: SpeechConfidence) -> bool:
    """Whether an English-only recogniser heard English, judged from its own confidence.

    Both signals must say "not English" (low word probability and high no-speech probability), so English
    that tiny.en merely finds hard (foreign names, acronyms) is kept; too little speech is not judged. Voice
    the VAD heard for JUDGE_MIN_SPEECH_S or more with no word recognised at all (French narration: 12.6 s, 0
    words) is not English either.
    """
    if confidence.speech_seconds < JUDGE_MIN_SPEECH_S:
        return True
    if not confidence.words:
        return False  # seconds of voice and not one word recognised: not English to this model
    return not (
        confidence.word_probability < ENGLISH_WORD_PROBABILITY and confidence.no_speech_probability > ENGLISH_NO_SPEECH
    )


@dataclass(frozen=True)
class TranscriptResult:
    """Spans of one video plus the language heard (as detected, or as given)."""

    spans: list[TranscriptSpan]
    language: str | None
    language_probability: float
    chunks: int = 0
    untranscribed: bool = False
    """Speech was heard in a language the model does not read: `spans` is then empty and `language` None
    (unknown to an English-only model), because its English-sounding guesses are not what was said."""
    withheld_spans: int = 0
    """How many recognised spans were dropped as unreadable."""
    confidence: SpeechConfidence = SpeechConfidence()


CUDA_LIBRARY_ERROR = re.compile(r"lib(?:cublas|cudnn|cudart|nvrtc)|CUDA (?:driver|runtime|error)|cuBLAS|cuDNN",
                                re.IGNORECASE)  # fmt: skip
"""What ctranslate2 raises on the first encode when the GPU's CUDA libraries are not the ones it was built for
(on a CUDA 13 machine: "Library libcublas.so.12 is not found or cannot be loaded")."""


@dataclass
class SpeechRecognizer:
    """A loaded faster-whisper model; `transcribe` turns audio chunks into timed spans."""

    model: object
    pipeline: object | None
    spec: ModelSpec
    language: str | None
    device: str = "cpu"
    load_on_cpu: Callable[[], object] | None = None
    """Loads the same model on the CPU: where the GPU cannot run it, transcription moves there once."""

    @property
    def english_only(self) -> bool:
        return bool(getattr(self.model, "model", None) is not None and not self.model.model.is_multilingual)  # type: ignore[attr-defined]

    def _chunk(
        self, offset: float, audio: np.ndarray, language: str | None
    ) -> tuple[list[TranscriptSpan], object, SpeechConfidence]:
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
        confidence = SpeechConfidence(float(getattr(info, "duration_after_vad", 0.0) or 0.0))
        for segment in segments:
            raw = [w for w in (segment.words or ()) if w.word.strip()]
            if raw:
                spans.extend(_sentences(raw, offset))
                no_speech = float(getattr(segment, "no_speech_prob", 0.0) or 0.0)
                probability = sum(float(w.probability) for w in raw) / len(raw)
                confidence = confidence + SpeechConfidence(0.0, len(raw), probability, no_speech)
            elif segment.text.strip():
                t0, t1 = round(offset + float(segment.start), 3), round(offset + float(segment.end), 3)
                spans.append(TranscriptSpan(t0=t0, t1=t1, text=segment.text.strip()))
        return spans, info, confidence

    def _chunk_anywhere(
        self, offset: float, audio: np.ndarray, language: str | None, notice: Callable[[str], None] | None
    ) -> tuple[list[TranscriptSpan], object, SpeechConfidence]:
        """`_chunk`, moved to the CPU (once, said in one line) when the GPU's CUDA libraries cannot run the model."""
        try:
            return self._chunk(offset, audio, language)
        except RuntimeError as error:
            if self.device != "cuda" or self.load_on_cpu is None or not CUDA_LIBRARY_ERROR.search(str(error)):
                raise
            reason = str(error).strip().splitlines()[0][:160]
            self.model, self.pipeline, self.device = self.load_on_cpu(), None, "cpu"
            if notice is not None:
                notice(f"speech model: the GPU cannot run it ({reason}); transcribing on the CPU instead")
            return self._chunk(offset, audio, language)

    def transcribe(
        self, chunks: Iterable[tuple[float, np.ndarray]], progress: ProgressFn | None = None,
        notice: Callable[[str], None] | None = None,
    ) -> TranscriptResult:
        """Transcribe (offset seconds, 16 kHz mono float32) chunks; `progress` gets seconds of audio done.

        The language is detected on the first chunk with speech (unless configured) and then kept,
        so one video is not transcribed in two languages. An English-only model cannot detect a language:
        whether it heard English is judged from its confidence over the whole video (`reads_as_english`),
        and speech it cannot read comes back `untranscribed`, without spans. `notice` hears a move to the CPU.
        """
        language = self.language
        probability = 1.0 if language else 0.0
        spans: list[TranscriptSpan] = []
        confidence = SpeechConfidence()
        count = 0
        for offset, audio in chunks:
            count += 1
            if audio.size >= AUDIO_RATE // 10:
                found, info, heard = self._chunk_anywhere(offset, audio, language, notice)
                spans.extend(found)
                confidence = confidence + heard
                if language is None and found:
                    language = getattr(info, "language", None)
                    probability = float(getattr(info, "language_probability", 0.0) or 0.0)
            if progress is not None:
                progress(offset + len(audio) / AUDIO_RATE)
        if self.english_only:
            if not reads_as_english(confidence):
                return TranscriptResult([], None, 0.0, count, True, len(spans), confidence)
            language, probability = "en", 1.0
        return TranscriptResult(
            spans, language if spans else None, round(probability, 3) if spans else 0.0, count, confidence=confidence
        )


LANGUAGE_NAMES = {
    "en": "English", "de": "German", "es": "Spanish", "fr": "French", "it": "Italian", "nl": "Dutch",
    "pl": "Polish", "pt": "Portuguese", "sv": "Swedish", "ru": "Russian", "uk": "Ukrainian", "tr": "Turkish",
    "ar": "Arabic", "hi": "Hindi", "zh": "Chinese", "ja": "Japanese", "ko": "Korean",
}  # fmt: skip
"""English names of common Whisper language codes, for notes people read."""


def language_name(code: str) -> str:
    """'German' for 'de'; a code without a name here is shown as "language 'xx'"."""
    return LANGUAGE_NAMES.get(code, f"language '{code}'")


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
    local_only = spec.source in ("offline", "tiny")

    def load(on: str) -> object:
        try:
            return WhisperModel(
                spec.location,
                device=on,
                compute_type="float16" if on == "cuda" else "int8",
                cpu_threads=0,
                download_root=str(settings.data_dir / "weights" / "whisper") if not local_only else None,
                local_files_only=local_only,
            )
        except Exception as error:  # faster-whisper raises plain RuntimeError/OSError/ValueError here
            raise ModelUnavailable(f"speech model {spec.location}: cannot be loaded ({error})") from error

    model = load(device)
    pipeline = BatchedInferencePipeline(model=model) if device == "cuda" else None
    return SpeechRecognizer(model=model, pipeline=pipeline, spec=spec, language=settings.asr_language,
                            device=device, load_on_cpu=lambda: load("cpu"))  # fmt: skip
