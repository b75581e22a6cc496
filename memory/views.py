"""JSON views of one video's memory for `main.py inspect` (transcript, screen text, triggers, actors, captions)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from memory.video_memory import VideoMemory


def transcript_view(memory: VideoMemory) -> dict[str, Any]:
    """`{"transcript": [{t0, t1, text, words: [{word, start, end}], segments}], language, ...}`.

    `segments` lists the indices of the memory segments each span overlaps (the alignment the
    agent uses to jump from speech to pictures).
    """
    segments = memory.segments()
    summary = memory.summary("transcript")
    spans = []
    for span in memory.transcript():
        spans.append(
            {
                "t0": span.t0,
                "t1": span.t1,
                "text": span.text,
                "words": [
                    {"word": w.text, "start": w.t0, "end": w.t1, "probability": w.probability} for w in span.words
                ],
                "segments": [s.index for s in segments if s.t0 < span.t1 and span.t0 < s.t1],
            }
        )
    return {
        "video_path": str(memory.ref.path),
        "language": summary.get("language"),
        "language_probability": summary.get("language_probability"),
        "has_audio": memory.ref.has_audio,
        "transcript": spans,
    }


def screen_text_view(memory: VideoMemory) -> dict[str, Any]:
    """`{"screen_text": [{t0, t1, text, box, confidence}], read, reader, frames_read, ...}` by first appearance.

    `read` is False when no text reader ran on this video (none was available at ingest): then the list is
    empty because the picture was not read, not because it shows no text."""
    record = memory.manifest.stages.get("ocr")
    summary = memory.summary("ocr")
    read = record is not None and not summary.get("disabled", False)
    return {
        "video_path": str(memory.ref.path),
        "read": read,
        "reader": summary.get("model") if read else None,
        "frames_read": summary.get("frames_read", 0),
        "frames_skipped": summary.get("frames_skipped", 0),
        "screen_text": [
            {"t0": item.t0, "t1": item.t1, "text": item.text, "box": list(item.box), "confidence": item.confidence}
            for item in memory.screen_text()
        ],
    }


def objects_view(memory: VideoMemory) -> dict[str, Any]:
    """`{"objects": [{label, t0, t1, frames, most, confidence}], "tracks": [...], detector, frames, classes}`.

    `detected` is False when no object detector ran on this video: the empty list then means unknown, not none."""
    from memory.objects import appearances, classes_seen

    sightings = memory.object_sightings()
    summary = memory.summary("objects")
    if sightings is None:
        return {"video_path": str(memory.ref.path), "detected": False, "detector": None, "objects": [], "tracks": []}
    cuts = memory.shot_cuts()
    shown = [a for label in classes_seen(sightings, cuts) for a in appearances(sightings, label, cuts)]
    return {
        "video_path": str(memory.ref.path),
        "detected": True,
        "detector": summary.get("model"),
        "frames": len(sightings.times),
        "classes": len(sightings.classes),
        "objects": [{"label": a.label, "t0": a.t0, "t1": a.t1, "frames": a.frames, "most": a.most,
                     "confidence": a.confidence} for a in sorted(shown, key=lambda a: (a.t0, a.label))],  # fmt: skip
        "tracks": [{"track_id": t.track_id, "label": t.label, "t0": t.t0, "t1": t.t1, "frames": len(t.times),
                    "confidence": t.peak_confidence, "best_time": t.times[t.best], "best_box": list(t.boxes[t.best])}
                   for t in memory.object_tracks()],  # fmt: skip
    }


def triggers_view(memory: VideoMemory) -> dict[str, Any]:
    """The seed's trigger JSON: video_path, num_frames_analyzed, num_triggers_detected, triggers, video_summary."""
    from perception.triggers import trigger_report

    summary = memory.summary("triggers")
    frames = int(summary.get("frames_analyzed", 0))
    view = trigger_report(memory.ref.path, frames, memory.triggers(), memory.video_summary())
    view["triggered_segments"] = summary.get("triggered_segments", 0)
    view["num_segments"] = summary.get("segments", len(memory.segments()))
    return view


def actors_view(memory: VideoMemory) -> dict[str, Any]:
    """`{"actors": [{id, tracks: [{id, t0, t1, boxes}], intervals, behaviours, keyframe}]}` plus counts."""
    tracks = {t.track_id: t for t in memory.tracks()}
    actors = []
    for actor in memory.actors():
        members = [tracks[i] for i in actor.track_ids if i in tracks]
        actors.append(
            {
                "id": actor.actor_id,
                "label": actor.label,
                "tracks": [
                    {"id": t.track_id, "t0": t.t0, "t1": t.t1, "boxes": [[round(v, 1) for v in b] for b in t.boxes]}
                    for t in members
                ],
                "intervals": [list(i) for i in actor.intervals],
                "screen_time": round(actor.screen_time, 3),
                "behaviours": [b.to_dict() for b in actor.behaviours],
                "keyframe": actor.keyframe,
            }
        )
    return {
        "video_path": str(memory.ref.path),
        "num_raw_tracks": len(memory.raw_tracks()),
        "num_tracks": len(tracks),
        "num_actors": len(actors),
        "shot_cuts": memory.shot_cuts(),
        "actors": actors,
    }


def captions_view(memory: VideoMemory) -> dict[str, Any]:
    """`{"segments": [{index, t0, t1, caption, dense, frames}], video_summary, captioner, vlm}`.

    `caption` is the clip captioner's; `dense` is the VLM's and exists only for triggered segments,
    whose keyframe times are in `frames`.
    """
    summary = memory.summary("captions")
    return {
        "video_path": str(memory.ref.path),
        "captioner": summary.get("captioner"),
        "vlm": summary.get("vlm"),
        "vlm_requests": summary.get("vlm_requests", 0),
        "vlm_images": summary.get("vlm_images", 0),
        "video_summary": memory.video_summary(),
        "segments": [c.to_dict() for c in memory.captions()],
    }


def scenes_view(memory: VideoMemory) -> dict[str, Any]:
    """The memory hierarchy: video -> scene clusters (label, showings) -> segments -> keyframes, and every shot
    boundary."""
    result = memory.clusters()
    segments = memory.segments()
    return {
        "video_path": str(memory.ref.path),
        "duration": memory.ref.duration,
        "method": result.method,
        "descriptor": result.descriptor,
        "chosen_by": result.chosen_by,
        "silhouette": result.silhouette,
        "shot_boundaries": result.boundaries,
        "scenes": [
            {
                **cluster.to_dict(),
                "recurs": cluster.recurs,
                "segments": [
                    {"index": i, "t0": segments[i].t0, "t1": segments[i].t1, "keyframe": segments[i].keyframe}
                    for i in cluster.segments
                ],
            }
            for cluster in result.clusters
        ],
    }


def graph_view(memory: VideoMemory) -> dict[str, Any]:
    """The actor graph in the VideoSpatioTemporal seed's JSON format (entities, relationships, events)."""
    from memory.graph_export import seed_graph_json

    return seed_graph_json(memory)


VIEWS: dict[str, Callable[[VideoMemory], dict[str, Any]]] = {
    "transcript": transcript_view,
    "screen_text": screen_text_view,
    "objects": objects_view,
    "triggers": triggers_view,
    "actors": actors_view,
    "captions": captions_view,
    "scenes": scenes_view,
    "graph": graph_view,
}
"""View name -> builder, as offered by `main.py inspect --what`."""
