"""The ingest pipeline: a video file -> memory, once, resumable, cached per stage.

Stages and what each writes (files are named by run id; the manifest names the current run):
  transcript        speech spans with word timestamps          transcript-<run>.json
  transcript_index  text embeddings of the spans               Chroma `transcript-*` rows
  segments          fixed-length segments, CLIP vectors        segments-<run>.json, Chroma `segments-*` rows
  tracks            detector + ByteTrack tracks, appearance    tracks-<run>.json
  frames            colour histograms + thumbnails per frame   frames-<run>.npz
  actors            tracks split at shot cuts, re-identified   actors-<run>.json (+ the split tracks)
  triggers          moments worth expensive analysis           triggers-<run>.json
  captions          clip captions (all segments), VLM dense    captions-<run>.json, Chroma `captions-*` rows
                    captions (triggered segments only), summary
  graph             the actor graph (temporal, spatial,        graph-<run>.json (networkx node-link),
                    speech and interaction edges), appearances Chroma `actors-*` rows
  clusters          segments clustered across the timeline     clusters-<run>.json
Frames for `segments`, `tracks` and `frames` are decoded once, at the union of their sampling grids.
A stage that re-runs makes every stage that depends on it re-run too.
"""

from __future__ import annotations

import functools
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from memory.checkpoints import checkpoint
from memory.hashes import file_hash, remember
from memory.integrity import damaged_stages, file_checksums, sweep_leftovers
from memory.layout import DataLayout, private_data_dir, write_json_atomic
from memory.locks import video_lock
from memory.manifest import STAGES, Manifest
from memory.progress import ProgressReporter, SilentProgress
from memory.segments import segment_bounds, segment_keyframes
from memory.store import VectorStore, collection_name
from memory.visual_progress import VisualProgress, clear_progress, load_progress, progress_key, save_progress
from models.adapters.asr import language_name
from core.errors import MemoryCorrupt, ModelUnavailable
from models.loading.cache import ModelCache
from core.process_env import prepare_process
from models.loading.registry import ModelPlan
from core.settings import Settings
from core.types import VideoRef
from models.adapters.video import check_path, frame_indices, iter_audio, iter_frames, probe, sample_times

if TYPE_CHECKING:
    from memory.segment_encoding import EncodedSegments

VISUAL_STAGES: tuple[str, ...] = ("segments", "tracks", "frames")
DEPENDS: dict[str, tuple[str, ...]] = {
    "transcript_index": ("transcript",),
    "actors": ("tracks", "frames"),
    "triggers": ("frames", "actors", "transcript", "segments"),
    "captions": ("segments", "triggers"),
    "graph": ("actors", "transcript"),
    "clusters": ("segments", "frames", "transcript", "captions"),
}
"""Stage -> the stages whose output it reads."""
STAGE_VERSION = 1
TRANSCRIPT_VERSION = 2
"""2: speech an English-only model cannot read is withheld and noted, not stored as English guesses."""


@dataclass
class IngestReport:
    """What one ingest did: the video, which stages ran or were reused, notes for the user, time taken."""

    video: VideoRef
    ran: list[str]
    reused: list[str]
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def cached(self) -> bool:
        return not self.ran

    def to_dict(self) -> dict[str, Any]:
        return {
            "video": self.video.to_dict(),
            "video_id": self.video.video_id,
            "ran": self.ran,
            "reused": self.reused,
            "cached": self.cached,
            "notes": self.notes,
            "seconds": round(self.seconds, 3),
        }


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
        "frames": settings.stage_hash("trigger_fps", extra={"v": STAGE_VERSION}),
    }
    keys["actors"] = settings.stage_hash(
        "reid_threshold", "min_track_frames", extra={"tracks": keys["tracks"], "frames": keys["frames"], "v": 2}
    )
    head_stamp = _file_stamp(settings.trigger_head)
    keys["triggers"] = settings.stage_hash(
        "trigger_threshold",
        "trigger_budget",
        extra={"head": head_stamp, "v": 1, **{stage: keys[stage] for stage in DEPENDS["triggers"]}},
    )
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
    from memory.actor_graph import GRAPH_VERSION
    from memory.clustering import CLUSTERING_VERSION

    keys["graph"] = settings.stage_hash(
        extra={"v": GRAPH_VERSION, "actor_rows": 1, **{stage: keys[stage] for stage in DEPENDS["graph"]}}
    )
    keys["clusters"] = settings.stage_hash(
        "scene_clusters",
        extra={
            "v": CLUSTERING_VERSION,
            "embedder": plan.key("text_embedder"),
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


def untranscribed_note(summary: dict[str, Any]) -> str:
    """'speech in German, not transcribed (...)': why heard speech is missing from the transcript.

    The language is named when the model detected it; an English-only model cannot, so it says "a language
    other than English". The model is named without its source ("faster-whisper tiny.en").
    """
    code = summary.get("language")
    language = language_name(code) if code else "a language other than English"
    model = str(summary.get("model", "the speech model")).split(" (")[0]
    reads = "reads English only" if summary.get("english_only") else "cannot read it"
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
    captions = manifest.stages.get("captions")
    if captions is not None and not captions.summary.get("captioner") and not captions.summary.get("vlm"):
        notes.append("no captioner or VLM: segments were not described")
    return notes


class _Run:
    """One ingest of one video: owns the manifest and writes each stage's output atomically."""

    def __init__(
        self, layout: DataLayout, manifest: Manifest, models: ModelCache, progress: ProgressReporter, settings: Settings
    ) -> None:
        self.layout = layout
        self.settings = settings
        """This ingest's settings: where memory goes (the models may have been loaded under other settings)."""
        self.manifest = manifest
        self.models = models
        self.progress = progress
        self.ref = manifest.video
        self.directory = layout.video_dir(self.ref.video_id)
        self._store: VectorStore | None = None

    @property
    def store(self) -> VectorStore:
        if self._store is None:
            self._store = VectorStore(self.settings)
        return self._store

    def commit(self, stage: str, key: str, run_id: str, started: float, summary: dict[str, Any]) -> None:
        """Make a stage visible: record it (with checksums of its files and rows) in the manifest, then sweep
        what the previous run left."""
        checkpoint(stage, "files-written")
        previous = self.manifest.stages.get(stage)
        collection = summary.get("collection")
        rows = self.store.fingerprint(collection, self.ref.video_id, run_id) if collection else None
        files = file_checksums(self.directory, stage, run_id)
        self.manifest.record(stage, key, run_id, time.perf_counter() - started, summary, files, rows)
        self.manifest.save(self.layout, before_replace=lambda: checkpoint(stage, "manifest-temp"))
        checkpoint(stage, "committed")
        for stale in self.directory.glob(f"{stage.replace('_', '-')}-*"):
            if run_id not in stale.name:
                stale.unlink(missing_ok=True)
        if collection:
            self.store.delete_stale(collection, self.ref.video_id, run_id)
        old_collection = previous.summary.get("collection") if previous else None
        if old_collection and old_collection != collection:
            self.store.delete_stale(old_collection, self.ref.video_id, None)

    def transcript(self, key: str) -> None:
        started, run_id = time.perf_counter(), _run_id()
        asr = self.models.asr()
        spans: list[Any] = []
        summary: dict[str, Any] = {"has_audio": self.ref.has_audio}
        if not self.ref.has_audio:
            self.progress.notice(f"{self.ref.path.name}: no audio track, so no speech to transcribe")
        elif asr is None:
            summary["disabled"] = True
        else:
            self.progress.start("speech", self.ref.audio_duration)
            chunks = iter_audio(self.ref, chunk_seconds=self.settings.asr_chunk_seconds)
            result = asr.transcribe(chunks, lambda done: self.progress.update("speech", done))
            spans = result.spans
            self.progress.finish("speech", f"{len(spans)} spans")
            summary.update(
                model=asr.spec.description,
                language=result.language,
                language_probability=result.language_probability,
                chunks=result.chunks,
                confidence=result.confidence.to_dict(),
            )
            if result.untranscribed:
                summary.update(untranscribed=True, withheld_spans=result.withheld_spans, english_only=asr.english_only)
                self.progress.notice(f"{self.ref.path.name}: {untranscribed_note(summary)}")
        summary["spans"] = len(spans)
        write_json_atomic(self.directory / f"transcript-{run_id}.json", [s.to_dict() for s in spans])
        self.commit("transcript", key, run_id, started, summary)

    def transcript_index(self, key: str) -> None:
        from memory.video_memory import VideoMemory

        started, run_id = time.perf_counter(), _run_id()
        spans = VideoMemory(self.settings, self.manifest).transcript()
        embedder = self.models.text_embedder() if spans else None
        summary: dict[str, Any] = {"rows": 0}
        if embedder is not None:
            self.progress.start("text index", len(spans), unit="spans")
            vectors = embedder.encode([s.text for s in spans])
            name = collection_name("transcript", embedder.spec.key)
            self.store.add(
                name,
                ids=[f"{self.ref.video_id}:{run_id}:{i}" for i in range(len(spans))],
                embeddings=vectors,
                documents=[s.text for s in spans],
                metadatas=[
                    {"video_id": self.ref.video_id, "run_id": run_id, "span": i, "t0": s.t0, "t1": s.t1}
                    for i, s in enumerate(spans)
                ],
            )
            self.progress.finish("text index", f"{len(spans)} spans")
            summary = {"rows": len(spans), "collection": name, "model": embedder.spec.description}
        self.commit("transcript_index", key, run_id, started, summary)

    def visual(self, keys: dict[str, str], stages: list[str], settings: Settings) -> None:
        """Decode frames once for `segments`, `tracks` and/or `frames` and feed each its own grid."""
        from memory.segment_encoding import SegmentAccumulator, segment_encoder
        from models.adapters.frame_features import FrameFeatures, compute_frame_features

        started = time.perf_counter()
        ref = self.ref
        clip = self.models.clip() if {"segments", "tracks"} & set(stages) else None
        detector = self.models.detector() if "tracks" in stages else None
        clip_times = sample_times(ref.duration, settings.clip_fps)
        empty = np.zeros(0, dtype=np.int64)
        clip_index = frame_indices(ref, clip_times) if clip is not None and "segments" in stages else empty
        detect_index = frame_indices(ref, sample_times(ref.duration, settings.detector_fps)) if detector else empty
        feature_index = (
            frame_indices(ref, sample_times(ref.duration, settings.trigger_fps)) if "frames" in stages else empty
        )
        wanted = np.union1d(np.union1d(clip_index, detect_index), feature_index)
        tracking = detector.session(embed_crops=clip.encode_images if clip is not None else None) if detector else None
        segment_bounds_ = segment_bounds(ref.duration, settings.segment_seconds)
        accumulator = SegmentAccumulator(segment_encoder(clip, settings), segment_bounds_) if clip_index.size else None
        features: list[FrameFeatures] = []
        progress_id = progress_key(stages, keys, ref.content_hash, settings.batch_size)
        consumed, chunk = 0, 0
        saved = load_progress(self.directory, progress_id)
        if saved is not None and saved.consumed < wanted.size:
            consumed, chunk, features = saved.consumed, saved.chunk, saved.features
            if tracking is not None and saved.tracking is not None:
                tracking.restore(saved.tracking)
            if accumulator is not None and saved.segments is not None:
                accumulator.restore(saved.segments)
            self.progress.notice(
                f"{ref.path.name}: resuming the frames pass at {wanted[consumed] / ref.fps:.1f} s (after chunk {chunk})"
            )
        if wanted.size:
            self.progress.start("frames", ref.duration)
            for times, frames in iter_frames(ref, wanted[consumed:] / ref.fps, batch_size=settings.batch_size):
                indices = frame_indices(ref, times)
                if accumulator is not None and (mask := np.isin(indices, clip_index)).any():
                    accumulator.add(times[mask], frames[mask])
                if tracking is not None and (mask := np.isin(indices, detect_index)).any():
                    tracking.update(times[mask], frames[mask])
                if feature_index.size and (mask := np.isin(indices, feature_index)).any():
                    features.append(compute_frame_features(times[mask], frames[mask]))
                self.progress.update("frames", float(times[-1]))
                consumed += len(times)
                reached = int(times[-1] // settings.frames_chunk_seconds)
                if reached > chunk and consumed < wanted.size:  # a chunk boundary passed: save what we have
                    chunk = reached
                    snapshot = VisualProgress(
                        progress_id,
                        consumed,
                        chunk,
                        tracking.snapshot() if tracking is not None else None,
                        features,
                        accumulator.state() if accumulator is not None else None,
                    )
                    save_progress(self.directory, snapshot)
                    checkpoint("frames", f"chunk-{chunk}")
            self.progress.finish("frames", f"{wanted.size} frames decoded once")
        if "segments" in stages:
            encoded = accumulator.finish() if accumulator is not None else None
            self._segments(keys["segments"], started, encoded, clip_times, segment_bounds_)
        if "tracks" in stages:
            self._tracks(keys["tracks"], started, tracking, detector)
        if "frames" in stages:
            self._frames(keys["frames"], started, FrameFeatures.concat(features) if features else FrameFeatures.empty())
        clear_progress(self.directory)

    def _segments(
        self,
        key: str,
        started: float,
        encoded: EncodedSegments | None,
        clip_times: np.ndarray,
        bounds: list[tuple[float, float]],
    ) -> None:
        from memory.segments import SegmentRecord

        run_id = _run_id()
        has_vectors = encoded is not None and len(encoded.frame_times) > 0
        vectors = encoded.frame_vectors if has_vectors else None  # type: ignore[union-attr]
        frame_times = encoded.frame_times if has_vectors else clip_times  # type: ignore[union-attr]
        pooled = encoded.segment_vectors if has_vectors else None  # type: ignore[union-attr]
        keyframes = segment_keyframes(bounds, frame_times, vectors, pooled)
        records = [SegmentRecord(i, t0, t1, round(k, 3)) for i, ((t0, t1), k) in enumerate(zip(bounds, keyframes))]
        write_json_atomic(self.directory / f"segments-{run_id}.json", [r.to_dict() for r in records])
        summary: dict[str, Any] = {"segments": len(records), "disabled": vectors is None}
        clip = self.models.clip()
        if vectors is not None and pooled is not None and clip is not None:
            np.savez_compressed(self.directory / f"segments-{run_id}-frames.npz", times=frame_times, vectors=vectors)
            name = collection_name("segments", clip.spec.key)
            self.store.add(
                name,
                ids=[f"{self.ref.video_id}:{run_id}:{r.index}" for r in records],
                embeddings=pooled,
                documents=["" for _ in records],
                metadatas=[
                    {
                        "video_id": self.ref.video_id,
                        "run_id": run_id,
                        "segment": r.index,
                        "t0": r.t0,
                        "t1": r.t1,
                        "keyframe": r.keyframe,
                    }
                    for r in records
                ],
            )
            summary.update(collection=name, model=clip.spec.description, frames=int(len(frame_times)))
        self.commit("segments", key, run_id, started, summary)

    def _tracks(self, key: str, started: float, tracking: Any, detector: Any) -> None:
        run_id = _run_id()
        tracks = tracking.finish() if tracking is not None else []
        write_json_atomic(self.directory / f"tracks-{run_id}.json", [t.to_dict() for t in tracks])
        summary: dict[str, Any] = {"tracks": len(tracks), "disabled": detector is None}
        if detector is not None:
            summary.update(model=detector.spec.description, labels=sorted({t.label for t in tracks}))
        self.commit("tracks", key, run_id, started, summary)

    def _frames(self, key: str, started: float, features: Any) -> None:
        run_id = _run_id()
        features.save(self.directory / f"frames-{run_id}.npz")
        self.commit("frames", key, run_id, started, {"frames": len(features)})

    def actors(self, key: str, settings: Settings) -> None:
        """Split tracks at shot cuts, merge them into actors by appearance, read behaviours from pose."""
        from memory.video_memory import VideoMemory
        from perception.actors import build_actors, looks_like_a_person, split_at_cuts
        from perception.triggers import detect_cuts

        started, run_id = time.perf_counter(), _run_id()
        memory = VideoMemory(settings, self.manifest)
        cuts = sorted(c.time for c in detect_cuts(memory.frame_features()))
        tracks = split_at_cuts(memory.raw_tracks(), cuts)
        actors = build_actors(
            tracks, similarity_threshold=settings.reid_threshold, min_track_frames=settings.min_track_frames
        )
        write_json_atomic(
            self.directory / f"actors-{run_id}.json",
            {"cuts": cuts, "tracks": [t.to_dict() for t in tracks], "actors": [a.to_dict() for a in actors]},
        )
        not_people = sum(1 for t in tracks if not looks_like_a_person(t))
        summary = {"tracks": len(tracks), "actors": len(actors), "cuts": len(cuts), "not_people": not_people}
        self.commit("actors", key, run_id, started, summary)

    def triggers(self, key: str, settings: Settings) -> None:
        """Fuse shot boundaries, novelty, actors entering/leaving and speech onsets into budgeted triggers."""
        from memory.video_memory import VideoMemory
        from perception.triggers import actor_intervals_of, detect_triggers

        started, run_id = time.perf_counter(), _run_id()
        memory = VideoMemory(settings, self.manifest)
        features = memory.frame_features()
        clip_times, clip_vectors = memory.frame_vectors()
        head = _trigger_head(settings, self.models)
        triggers = detect_triggers(
            features,
            clip_times=clip_times,
            clip_vectors=clip_vectors,
            actor_intervals=actor_intervals_of(memory.actors()),
            speech=memory.transcript(),
            segment_bounds=[(s.t0, s.t1) for s in memory.segments()],
            fps=self.ref.fps,
            threshold=settings.trigger_threshold,
            budget=settings.trigger_budget,
            head=head,
        )
        write_json_atomic(self.directory / f"triggers-{run_id}.json", [t.to_dict() for t in triggers])
        triggered = {s.index for s in memory.segments() for t in triggers if s.t0 <= t.timestamp < s.t1}
        summary = {
            "triggers": len(triggers),
            "frames_analyzed": len(features),
            "triggered_segments": len(triggered),
            "segments": len(memory.segments()),
            "head": str(settings.trigger_head) if head is not None else None,
        }
        self.commit("triggers", key, run_id, started, summary)

    def captions(self, key: str, settings: Settings) -> None:
        """Clip captions for every segment, VLM dense captions for triggered ones, and the video summary."""
        from memory.captioning import caption_video
        from memory.video_memory import VideoMemory

        started, run_id = time.perf_counter(), _run_id()
        memory = VideoMemory(settings, self.manifest)
        captioner, vlm = self.models.captioner(), self.models.vlm()
        result = caption_video(
            self.ref,
            [(s.t0, s.t1) for s in memory.segments()],
            memory.triggers(),
            captioner,
            vlm,
            frames_per_caption=min(settings.vlm_frames_per_caption, settings.vlm_images_per_prompt),
            caption_tokens=settings.vlm_caption_tokens,
            image_side=settings.vlm_image_side,
            batch_size=settings.batch_size,
            progress=self.progress,
        )
        write_json_atomic(
            self.directory / f"captions-{run_id}.json",
            {"segments": [s.to_dict() for s in result.segments], "video_summary": result.video_summary},
        )
        summary: dict[str, Any] = {
            "captioner": captioner.spec.description if captioner is not None else None,
            "vlm": vlm.description if vlm is not None else None,
            "random_weights": any(
                self.models.plan.spec(role) is not None and self.models.plan.spec(role).source == "tiny"  # type: ignore[union-attr]
                for role in ("captioner", "vlm")
            ),
            "captioned": sum(1 for s in result.segments if s.caption),
            "dense": sum(1 for s in result.segments if s.dense),
            "vlm_requests": result.vlm_requests,
            "vlm_images": result.vlm_images,
        }
        summary.update(self._index_captions(run_id, result.segments))
        self.commit("captions", key, run_id, started, summary)

    def _index_captions(self, run_id: str, segments: list[Any]) -> dict[str, Any]:
        """Text-embed the captions into Chroma (one row per caption kind) when a text embedder exists."""
        rows = [
            (s, kind, text) for s in segments for kind, text in (("caption", s.caption), ("dense", s.dense)) if text
        ]
        embedder = self.models.text_embedder() if rows else None
        if embedder is None:
            return {}
        name = collection_name("captions", embedder.spec.key)
        self.store.add(
            name,
            ids=[f"{self.ref.video_id}:{run_id}:{s.index}:{kind}" for s, kind, _ in rows],
            embeddings=embedder.encode([text for _, _, text in rows]),
            documents=[text for _, _, text in rows],
            metadatas=[
                {
                    "video_id": self.ref.video_id,
                    "run_id": run_id,
                    "segment": s.index,
                    "t0": s.t0,
                    "t1": s.t1,
                    "kind": kind,
                }
                for s, kind, _ in rows
            ],
        )
        return {"collection": name, "rows": len(rows)}

    def graph(self, key: str, settings: Settings) -> None:
        """Build the actor graph from actors, their boxes and the transcript, and persist it."""
        from memory.actor_graph import build_actor_graph, save_graph
        from memory.video_memory import VideoMemory

        started, run_id = time.perf_counter(), _run_id()
        self.progress.start("actor graph", None)
        memory = VideoMemory(settings, self.manifest)
        graph = build_actor_graph(memory)
        save_graph(graph, self.directory / f"graph-{run_id}.json")
        self.progress.finish("actor graph", f"{graph.number_of_nodes()} nodes, {graph.number_of_edges()} edges")
        summary = {"nodes": graph.number_of_nodes(), "edges": graph.number_of_edges()}
        summary.update(self._index_actors(run_id, memory))
        self.commit("graph", key, run_id, started, summary)

    def _index_actors(self, run_id: str, memory: Any) -> dict[str, Any]:
        """Put each actor's appearance (its tracks' descriptors, weighted by length) in Chroma, so the same
        person can be found in other videos; one collection per descriptor kind and size."""
        from memory.retrieval import describe_actor

        tracks = {t.track_id: t for t in memory.tracks()}
        rows = []
        for actor in memory.actors():
            members = [tracks[i] for i in actor.track_ids if i in tracks and tracks[i].appearance]
            if not members:
                continue
            weights = np.array([len(t.times) for t in members], dtype=np.float64)
            vector = (np.array([t.appearance for t in members], dtype=np.float64) * weights[:, None]).sum(axis=0)
            if np.linalg.norm(vector) > 0:
                rows.append((actor, vector / np.linalg.norm(vector)))
        if not rows:
            return {}
        dim = len(rows[0][1])
        name = collection_name("actors", f"{self.models.plan.key('clip')}:{dim}")
        self.store.add(
            name,
            ids=[f"{self.ref.video_id}:{run_id}:{actor.actor_id}" for actor, _ in rows],
            embeddings=np.stack([vector for _, vector in rows]),
            documents=[describe_actor(actor) for actor, _ in rows],
            metadatas=[
                {
                    "video_id": self.ref.video_id,
                    "run_id": run_id,
                    "actor_id": actor.actor_id,
                    "label": actor.label,
                    "t0": actor.t0,
                    "t1": actor.t1,
                    "screen_time": round(actor.screen_time, 3),
                    "keyframe": actor.keyframe if actor.keyframe is not None else actor.t0,
                }
                for actor, _ in rows
            ],
        )
        return {"collection": name, "actors_indexed": len(rows), "appearance_dim": dim}

    def clusters(self, key: str, settings: Settings) -> None:
        """Cluster the segments across the whole timeline so recurring scenes share a cluster."""
        from memory.clustering import cluster_video
        from memory.video_memory import VideoMemory

        started, run_id = time.perf_counter(), _run_id()
        self.progress.start("scene clusters", None)
        result = cluster_video(VideoMemory(settings, self.manifest), self.models, settings.scene_clusters)
        write_json_atomic(self.directory / f"clusters-{run_id}.json", result.to_dict())
        self.progress.finish("scene clusters", f"{result.count} clusters of {len(result.labels)} segments")
        self.commit("clusters", key, run_id, started, result.summary())


def _trigger_head(settings: Settings, models: ModelCache) -> Any:
    """The configured trained head, checked against the features this run can give it."""
    if settings.trigger_head is None:
        return None
    from perception.trigger_head import checkpoint_feature, feature_dim, load_trigger_head

    feature = checkpoint_feature(settings.trigger_head)
    clip = models.clip() if feature == "clip" else None
    if feature == "clip" and clip is None:
        raise ModelUnavailable(f"{settings.trigger_head}: this trigger head needs CLIP, which this profile lacks")
    return load_trigger_head(settings.trigger_head, feature_dim(feature, clip.dim if clip is not None else 0))


def _with_dependents(pending: list[str]) -> list[str]:
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


def _run_id() -> str:
    return uuid.uuid4().hex[:12]


def _load_manifest(layout: DataLayout, video_id: str, progress: ProgressReporter) -> Manifest | None:
    try:
        return Manifest.load(layout, video_id)
    except (MemoryCorrupt, KeyError, TypeError) as error:
        progress.notice(f"{error}: rebuilding this video's memory")
        return None


def ingest_video(
    path: Path | str,
    settings: Settings,
    *,
    models: ModelCache | None = None,
    progress: ProgressReporter | None = None,
) -> IngestReport:
    """Ingest one video into memory (a no-op when every stage is current and intact); bad input raises before
    any write. One process at a time writes a video: a second one waits, then finds the work done."""
    prepare_process(settings.data_dir)  # before any model loads: no telemetry, no files outside the data dir
    started = time.perf_counter()
    progress = progress or SilentProgress()
    path = Path(path).expanduser()
    check_path(path)
    layout = DataLayout(private_data_dir(settings.data_dir))  # created 0700 before the first write in it
    models = models or ModelCache(ModelPlan(settings, progress.notice))
    digest = file_hash(layout, path)
    # A file never ingested is probed before anything is written (its lock included): bad input touches nothing.
    ref = None if layout.manifest(digest[:16]).is_file() else probe(path, known_hash=digest)
    with video_lock(layout, digest[:16], progress.notice, what=str(path)):
        return _ingest_locked(path, digest, ref, settings, layout, models, progress, started)


def _ingest_locked(
    path: Path,
    digest: str,
    ref: VideoRef | None,
    settings: Settings,
    layout: DataLayout,
    models: ModelCache,
    progress: ProgressReporter,
    started: float,
) -> IngestReport:
    """The ingest proper, under the video's lock: sweep what killed runs left, check what the manifest claims,
    run every stage that is missing, out of date or damaged (and what depends on it)."""
    manifest = _load_manifest(layout, digest[:16], progress)
    directory = layout.video_dir(digest[:16])
    sweep_leftovers(directory, manifest)
    keys = stage_keys(settings, models.plan)
    damaged: dict[str, str] = {}
    if manifest is not None:
        damaged = damaged_stages(manifest, directory, functools.cache(lambda: VectorStore(settings)))
        for stage, problem in damaged.items():
            progress.notice(f"{path}: the {stage} stage in memory is damaged ({problem}); running it again")
    pending = [
        stage for stage in STAGES if manifest is None or not manifest.is_current(stage, keys[stage]) or stage in damaged
    ]
    if not set(VISUAL_STAGES) & set(pending):
        clear_progress(directory)  # a pass killed after its stages committed leaves its progress behind
    if manifest is not None and not pending:
        return IngestReport(manifest.video, [], list(STAGES), manifest_notes(manifest), time.perf_counter() - started)
    ref = ref or probe(path, known_hash=digest)
    if manifest is None:
        manifest = Manifest(video=ref)
    manifest.video = ref
    pending = _with_dependents(pending)
    run = _Run(layout, manifest, models, progress, settings)
    steps: dict[str, Any] = {
        "transcript": lambda: run.transcript(keys["transcript"]),
        "transcript_index": lambda: run.transcript_index(keys["transcript_index"]),
        "actors": lambda: run.actors(keys["actors"], settings),
        "triggers": lambda: run.triggers(keys["triggers"], settings),
        "captions": lambda: run.captions(keys["captions"], settings),
        "graph": lambda: run.graph(keys["graph"], settings),
        "clusters": lambda: run.clusters(keys["clusters"], settings),
    }
    visual = [stage for stage in VISUAL_STAGES if stage in pending]
    for stage in pending:
        if stage in VISUAL_STAGES:
            if stage == visual[0]:
                for name in visual:
                    checkpoint(name, "start")
                run.visual(keys, visual, settings)
            continue
        checkpoint(stage, "start")
        steps[stage]()
    remember(layout, path, digest)
    reused = [stage for stage in STAGES if stage not in pending]
    return IngestReport(ref, pending, reused, manifest_notes(manifest), time.perf_counter() - started)
