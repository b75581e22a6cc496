"""What a video's memory lacks, in the user's words, read from its manifest: no audio, speech not transcribed,
roles that were off. Answers and tools quote these so a gap is never mistaken for an absence."""

from __future__ import annotations

from typing import Any

from memory.manifest import Manifest
from models.adapters.asr import language_name


def untranscribed_note(summary: dict[str, Any]) -> str:
    """'speech in German, not transcribed (...)': why heard speech is missing from the transcript.

    The language is named when the model detected it; an English-only model cannot, so it says "a language
    other than English". The model is named without its source ("faster-whisper tiny.en").
    """
    code = summary.get("language")
    language = language_name(code) if code else "a language other than English"
    model = str(summary.get("model", "the speech model")).split(" (")[0]
    reads = "reads English only" if summary.get("english_only") else "cannot read it"
    confidence = summary.get("confidence") or {}
    if not code and not confidence.get("words") and confidence.get("speech_seconds"):
        heard = f"{float(confidence['speech_seconds']):.0f} s of voice with no word recognised"
        return f"speech in {language}, not transcribed ({heard}: the speech model, {model}, {reads})"
    return f"speech in {language}, not transcribed (the speech model, {model}, {reads})"


def manifest_notes(manifest: Manifest) -> list[str]:
    """User-facing notes derived from stage summaries (no speech, roles disabled)."""
    notes: list[str] = []
    transcript = manifest.stages.get("transcript")
    if transcript is not None:
        summary = transcript.summary
        if not summary.get("has_audio", True):
            notes.append("the video has no audio track: there is no speech to search")
        elif summary.get("disabled"):
            notes.append("no speech model: the audio was not transcribed")
        elif summary.get("untranscribed"):
            notes.append(untranscribed_note(summary))
        elif summary.get("spans", 0) == 0:
            notes.append("no speech was recognised in the audio")
    segments = manifest.stages.get("segments")
    if segments is not None and segments.summary.get("disabled"):
        notes.append("no CLIP model: visual search is disabled for this video")
    tracks = manifest.stages.get("tracks")
    if tracks is not None and tracks.summary.get("disabled"):
        notes.append("no detector: people were not tracked")
    ocr = manifest.stages.get("ocr")
    if ocr is not None and ocr.summary.get("disabled"):
        notes.append("no on-screen text reader: text in the picture was not read")
    captions = manifest.stages.get("captions")
    if captions is not None and not captions.summary.get("captioner") and not captions.summary.get("vlm"):
        notes.append("no captioner or VLM: segments were not described")
    return notes
