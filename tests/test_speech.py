"""Speech in chunks: cuts fall in silence, and the spoken words come back within 0.5 s of when spoken."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import IngestedSample

from evaluation.sample_video import SampleVideo
from memory.text_search import normalise_tokens
from memory.video_memory import VideoMemory
from models.adapters.video import AUDIO_RATE, iter_audio, load_audio, probe


@pytest.fixture(scope="module")
def chunked(sample: SampleVideo) -> list[tuple[float, np.ndarray]]:
    return list(iter_audio(probe(sample.path), chunk_seconds=8.0, search_seconds=4.0))


def test_chunks_rebuild_the_track_and_cut_in_silence(sample: SampleVideo, chunked: list[tuple[float, np.ndarray]]) -> None:
    whole = load_audio(probe(sample.path))
    assert np.array_equal(np.concatenate([c for _, c in chunked]), whole)
    assert len(chunked) >= 3
    for offset, _ in chunked[1:]:
        assert not any(line.t0 < offset < line.t1 - 0.4 for line in sample.narration), f"cut at {offset:.2f} s in speech"
    offsets = [o for o, _ in chunked]
    assert offsets == sorted(offsets) and offsets[0] == 0.0
    assert all(abs(o2 - (o1 + len(c) / AUDIO_RATE)) < 1e-6 for (o1, c), (o2, _) in zip(chunked, chunked[1:]))


def test_chunked_transcription_keeps_the_video_clock(
    offline_memory: IngestedSample, chunked: list[tuple[float, np.ndarray]]
) -> None:
    asr = offline_memory.models.asr()
    result = asr.transcribe(chunked)
    assert result.language == "en" and result.chunks == len(chunked)
    text = " ".join(span.text for span in result.spans).lower()
    for word in ("welcome", "budget", "astronaut", "coffee"):
        assert word in text
    first_words = {span.words[0].t0 for span in result.spans if span.words}
    for line in offline_memory.video.narration:
        assert any(abs(t - line.t0) <= 0.5 for t in first_words), (line, sorted(first_words))


@pytest.mark.parametrize("line_index", [0, 1, 2, 3])
def test_each_line_starts_within_half_a_second(offline_memory: IngestedSample, line_index: int) -> None:
    """The first word of every narrated line, as stored by ingest, is within 0.5 s of when it is spoken."""
    line = offline_memory.video.narration[line_index]
    first = normalise_tokens(line.text)[0]
    memory = VideoMemory.for_path(offline_memory.settings, offline_memory.video.path)
    starts = [w.t0 for s in memory.transcript() for w in s.words if first in normalise_tokens(w.text)]
    assert any(abs(t - line.t0) <= 0.5 for t in starts), (first, starts, line.t0)
    assert memory.summary("transcript")["language"] == "en"


def test_long_recogniser_segments_become_sentence_spans() -> None:
    """Whisper may return three sentences as one segment; each becomes its own span with its own start."""
    from collections import namedtuple

    from models.adapters.asr import _sentences

    W = namedtuple("W", "word start end probability")
    raw = [W(" Welcome", 0.6, 1.2, 0.9), W(" aboard.", 1.2, 1.8, 0.9), W(" The", 7.1, 7.3, 0.9),
           W(" budget", 7.3, 7.8, 0.9), W(" grew", 9.5, 9.9, 0.9), W(" again", 9.9, 10.3, 0.9)]
    spans = _sentences(raw, offset=100.0)
    assert [s.text for s in spans] == ["Welcome aboard.", "The budget", "grew again"]
    assert [s.t0 for s in spans] == [100.6, 107.1, 109.5]


class _GpuWithoutCuda12:
    """A model on a CUDA 13 machine as ctranslate2 (built for CUDA 12) behaves there: the first encode fails."""

    model = None

    def transcribe(self, *args: object, **kwargs: object) -> None:
        raise RuntimeError("Library libcublas.so.12 is not found or cannot be loaded")


def test_speech_moves_to_the_cpu_when_the_gpu_cannot_run_it(
    offline_memory: IngestedSample, chunked: list[tuple[float, np.ndarray]]
) -> None:
    import dataclasses

    cpu = offline_memory.models.asr()
    gpu = dataclasses.replace(cpu, model=_GpuWithoutCuda12(), pipeline=None, device="cuda", load_on_cpu=lambda: cpu.model)
    notices: list[str] = []
    result = gpu.transcribe(chunked, notice=notices.append)
    assert [s.text for s in result.spans] == [s.text for s in cpu.transcribe(chunked).spans]
    assert len(notices) == 1 and "libcublas.so.12" in notices[0] and "on the CPU" in notices[0], notices
    assert gpu.device == "cpu"


def test_other_speech_model_errors_are_not_hidden(chunked: list[tuple[float, np.ndarray]]) -> None:
    from models.adapters.asr import SpeechRecognizer
    from models.registry import ModelSpec

    broken = SpeechRecognizer(_GpuWithoutCuda12(), None, ModelSpec("asr", "offline", "x", "x"), None, device="cpu",
                              load_on_cpu=lambda: None)  # fmt: skip
    with pytest.raises(RuntimeError, match="libcublas"):
        broken.transcribe(chunked)
