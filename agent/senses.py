"""What the loaded models can perceive in the videos at hand, and the one sentence that says what they
cannot: "I can't look at the pictures with the models loaded: ...". Read from the memories' manifests (what
each stage ran with) and the model plan (whether a VLM can look at frames now).
"""

from __future__ import annotations

from collections.abc import Sequence

from agent.context import AgentContext
from agent.needs import Need
from memory.notes import manifest_notes
from memory.video_memory import VideoMemory


def _stage(memory: VideoMemory, name: str) -> dict:
    record = memory.manifest.stages.get(name)
    return dict(record.summary) if record is not None else {}


def _speech_gap(memory: VideoMemory) -> str:
    """Why this video's speech cannot be read ('' when it can, or when there is no audio to read)."""
    summary = _stage(memory, "transcript")
    if not summary.get("has_audio", True):
        return ""  # no audio track: that nothing is said is known, not a blind spot
    if summary.get("disabled"):
        return "I can't hear what is said with the models loaded: no speech model transcribed the audio"
    unread = [n for n in manifest_notes(memory.manifest) if "not transcribed" in n]
    if unread:
        return f"I can't understand what is said: {unread[0]}"
    return ""


def _pictures_gap(memory: VideoMemory, context: AgentContext) -> str:
    if context.has_vlm or not _stage(memory, "segments").get("disabled", True):
        return ""
    if any(c.caption or c.dense for c in memory.captions()):
        return ""
    return (
        "I can't look at the pictures with the models loaded: no CLIP model, captioner or VLM "
        f"(profile {context.settings.profile})"
    )


def _text_gap(memory: VideoMemory, context: AgentContext) -> str:
    ocr = memory.manifest.stages.get("ocr")
    if context.has_vlm or (ocr is not None and not ocr.summary.get("disabled")):
        return ""
    return f"I can't read text on screen with the models loaded: no OCR model or VLM (profile {context.settings.profile})"


def _objects_gap(memory: VideoMemory) -> str:
    if memory.object_sightings() is None:
        return "I can't recognise everyday objects with the models loaded: no object detector ran on this video"
    return ""


def _people_gap(memory: VideoMemory) -> str:
    if _stage(memory, "tracks").get("disabled"):
        return "I can't see people with the models loaded: no person detector ran on this video"
    return ""


def blind_spots(context: AgentContext, memories: Sequence[VideoMemory] | None = None) -> dict[Need, str]:
    """Each sense no loaded model provides for these videos (all of the context's by default), with the
    sentence that says so; a sense one of the videos has counts as present."""
    videos = list(memories) if memories is not None else context.memories
    gaps: dict[Need, str] = {}
    checks = {
        "speech": _speech_gap,
        "people": _people_gap,
        "objects": _objects_gap,
        "pictures": lambda m: _pictures_gap(m, context),
        "text": lambda m: _text_gap(m, context),
    }
    for sense, check in checks.items():
        reasons = [check(m) for m in videos]
        if reasons and all(reasons):
            gaps[sense] = reasons[0]  # type: ignore[index]
    return gaps
