"""Which stages depend on which, and each stage's settings key: a stage re-runs exactly when its key changes."""

from __future__ import annotations

from pathlib import Path

from core.settings import Settings
from memory.manifest import STAGES
from models.adapters.frame_features import FRAME_FEATURES_VERSION
from models.registry import ModelPlan
from perception.shot_cuts import SHOT_CUTS_VERSION

DEPENDS: dict[str, tuple[str, ...]] = {
    "transcript_index": ("transcript",),
    "actors": ("tracks", "frames"),
    "triggers": ("frames", "actors", "transcript", "segments"),
    "ocr": ("frames", "triggers"),
    "captions": ("segments", "triggers"),
    "graph": ("actors", "transcript", "objects"),
    "clusters": ("segments", "frames", "transcript", "captions"),
}
"""Stage -> the stages whose output it reads."""
STAGE_VERSION = 1
TRANSCRIPT_VERSION = 3
"""2: speech an English-only model cannot read is withheld and noted, not stored as English guesses; 3: so is
voice in which it recognised no word at all."""



def stage_keys(settings: Settings, plan: ModelPlan) -> dict[str, str]:
    """The settings key of each stage: it changes exactly when that stage's output would."""
    transcript = settings.stage_hash(
        "asr_language", "asr_chunk_seconds", extra={"model": plan.key("asr"), "v": TRANSCRIPT_VERSION}
    )
    keys = {
        "transcript": transcript,
        "transcript_index": settings.stage_hash(
            extra={"transcript": transcript, "model": plan.key("text_embedder"), "v": STAGE_VERSION}
        ),
        "segments": settings.stage_hash(
            "segment_seconds",
            "clip_fps",
            extra={"model": plan.key("clip"), "encoder": _file_stamp(settings.retrieval_config), "v": 2},  # 2: TempMe
        ),
        "tracks": settings.stage_hash(
            "detector_fps",
            "detector_imgsz",
            "detector_confidence",
            "min_track_frames",
            extra={"model": plan.key("detector"), "clip": plan.key("clip"), "v": 2},  # 2: 240-dim descriptor
        ),
        "frames": settings.stage_hash("trigger_fps", extra={"v": STAGE_VERSION, "features": FRAME_FEATURES_VERSION}),
    }
    objects_from = f"tracks:{keys['tracks']}" if plan.detector_sees_objects() else plan.weights_key("objects")
    keys["objects"] = settings.stage_hash("objects_fps", extra={"model": objects_from,
                                                               "embedder": plan.key("text_embedder"), "v": 1})
    keys["actors"] = settings.stage_hash(
        "reid_threshold",
        "min_track_frames",
        extra={"tracks": keys["tracks"], "frames": keys["frames"], "cuts": SHOT_CUTS_VERSION, "v": 2},
    )  # the actors stage stores the shot cuts; triggers, OCR and the graph follow it
    head_stamp = _file_stamp(settings.trigger_head)
    keys["triggers"] = settings.stage_hash(
        "trigger_threshold",
        "trigger_budget",
        extra={"head": head_stamp, "v": 1, **{stage: keys[stage] for stage in DEPENDS["triggers"]}},
    )
    from memory.ingest.screen_text import OCR_VERSION

    keys["ocr"] = settings.stage_hash(
        "ocr_fps",
        extra={"model": plan.key("ocr"), "embedder": plan.key("text_embedder"), "v": OCR_VERSION,
               **{stage: keys[stage] for stage in DEPENDS["ocr"]}},
    )  # fmt: skip
    keys["captions"] = settings.stage_hash(
        "vlm_frames_per_caption",
        "vlm_caption_tokens",
        "vlm_image_side",
        extra={
            "captioner": plan.key("captioner"),
            "vlm": plan.key("vlm"),
            "embedder": plan.key("text_embedder"),
            "prompts": prompt_stamp("vlm_caption", "video_summary"),
            "v": 1,
            **{stage: keys[stage] for stage in DEPENDS["captions"]},
        },
    )
    from memory.actor_graph.persist import GRAPH_VERSION
    from memory.ingest.clustering import CLUSTERING_VERSION

    keys["graph"] = settings.stage_hash(
        extra={"v": GRAPH_VERSION, "actor_rows": 1, **{stage: keys[stage] for stage in DEPENDS["graph"]}}
    )
    keys["clusters"] = settings.stage_hash(
        "scene_clusters",
        extra={
            "v": CLUSTERING_VERSION,
            "cuts": SHOT_CUTS_VERSION,  # scene pieces end at the shot boundaries
            **{stage: keys[stage] for stage in DEPENDS["clusters"]},
        },
    )
    return keys


def prompt_stamp(*names: str) -> str:
    """Identity of prompt templates for stage keys: a changed prompt re-runs the stage that sends it."""
    import hashlib

    import prompts

    return hashlib.sha256("\0".join(prompts.load(name) for name in names).encode()).hexdigest()[:12]


def _file_stamp(path: Path | None) -> str:
    """Identity of an optional settings file for stage keys: its path and modification time."""
    return f"{path}:{path.stat().st_mtime_ns}" if path is not None and path.is_file() else str(path)


def with_dependents(pending: list[str]) -> list[str]:
    """Add every stage that reads a pending stage's output (new inputs need a new run), in stage order."""
    chosen = set(pending)
    changed = True
    while changed:
        changed = False
        for stage, inputs in DEPENDS.items():
            if stage not in chosen and chosen & set(inputs):
                chosen.add(stage)
                changed = True
    return [stage for stage in STAGES if stage in chosen]
