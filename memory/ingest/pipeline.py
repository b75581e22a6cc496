"""The ingest pipeline: a video file -> memory, once, resumable, cached per stage.

Stages and what each writes (files are named by run id; the manifest names the current run):
  transcript        speech spans with word timestamps          transcript-<run>.json
  transcript_index  text embeddings of the spans               Chroma `transcript-*` rows
  segments          fixed-length segments, CLIP vectors        segments-<run>.json, Chroma `segments-*` rows
  tracks            detector + ByteTrack tracks, appearance    tracks-<run>.json
  frames            colour histograms + thumbnails per frame   frames-<run>.npz
  objects           COCO objects tracked, per-frame counts     objects-<run>.json, Chroma `objects-*` rows
  actors            tracks split at shot cuts, re-identified   actors-<run>.json (+ the split tracks)
  triggers          moments worth expensive analysis           triggers-<run>.json
  ocr               text on screen, merged while it stays      ocr-<run>.json, Chroma `screen_text-*` rows
  captions          clip captions (all segments), VLM dense    captions-<run>.json, Chroma `captions-*` rows
                    captions (triggered segments only), summary
  graph             the actor graph (temporal, spatial,        graph-<run>.json (networkx node-link),
                    speech and interaction edges), appearances Chroma `actors-*` rows
  clusters          segments clustered across the timeline     clusters-<run>.json
Frames for `segments`, `tracks`, `frames` and `objects` are decoded once, at the union of their sampling grids.
A stage that re-runs makes every stage that depends on it re-run too.
"""

from __future__ import annotations

import functools
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from core.process_env import prepare_process
from core.progress import ProgressReporter, SilentProgress
from core.settings import Settings
from core.types import VideoRef
from memory.hashes import file_hash, remember
from memory.ingest.checkpoints import checkpoint
from memory.ingest.indexing import index_actors, index_captions, index_segments, index_texts
from memory.ingest.integrity import damaged_stages, file_checksums, sweep_leftovers
from memory.ingest.report import IngestReport
from memory.ingest.stage_keys import stage_keys, with_dependents
from memory.ingest.visual_progress import VisualProgress, clear_progress, load_progress, progress_key, save_progress
from memory.layout import DataLayout, private_data_dir, write_json_atomic
from memory.locks import video_lock
from memory.manifest import STAGES, Manifest
from memory.notes import manifest_notes, untranscribed_note
from memory.segments import segment_bounds, segment_keyframes
from memory.store import VectorStore
from models.adapters.video import check_path, frame_indices, iter_audio, iter_frames, probe, sample_times
from models.cache import ModelCache

if TYPE_CHECKING:
    from memory.ingest.segment_encoding import EncodedSegments

VISUAL_STAGES: tuple[str, ...] = ("segments", "tracks", "frames", "objects")
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
            result = asr.transcribe(chunks, lambda done: self.progress.update("speech", done), self.progress.notice)
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
            rows = [(s.t0, s.t1, s.text) for s in spans]
            summary = index_texts(self.store, embedder, self.ref, run_id, "transcript", rows)
            self.progress.finish("text index", f"{len(spans)} spans")
        self.commit("transcript_index", key, run_id, started, summary)

    def visual(self, keys: dict[str, str], stages: list[str], settings: Settings) -> None:
        """Decode frames once for `segments`, `tracks`, `frames` and/or `objects` and feed each its own grid."""
        from memory.ingest.objects_stage import BackgroundObjects
        from memory.ingest.segment_encoding import SegmentAccumulator
        from models.adapters.frame_features import FrameFeatures, compute_frame_features
        from models.retrieval.config import load_config
        from models.retrieval.segment_encoder import SegmentEncoder

        started = time.perf_counter()
        ref = self.ref
        clip = self.models.clip() if {"segments", "tracks"} & set(stages) else None
        detector = self.models.detector() if "tracks" in stages else None
        clip_times = sample_times(ref.duration, settings.clip_fps)
        from_tracks = self.models.plan.detector_sees_objects()  # then the COCO TFLite is not run: one pass serves both
        objects = None
        if "objects" in stages and not from_tracks and (found := self.models.objects()) is not None:
            objects = BackgroundObjects(found)
        grid = lambda fps, used: frame_indices(ref, sample_times(ref.duration, fps)) if used else np.zeros(0, np.int64)
        clip_index = grid(settings.clip_fps, clip is not None and "segments" in stages)
        detect_index, objects_index = grid(settings.detector_fps, detector is not None), grid(settings.objects_fps, objects is not None)
        feature_index = grid(settings.trigger_fps, "frames" in stages)
        wanted = np.union1d(np.union1d(np.union1d(clip_index, detect_index), feature_index), objects_index)
        tracking = detector.session(embed_crops=clip.encode_images if clip is not None else None) if detector else None
        segment_bounds_ = segment_bounds(ref.duration, settings.segment_seconds)
        accumulator = None
        if clip is not None and clip_index.size:
            encoder = SegmentEncoder.for_clip(clip, load_config(settings.retrieval_config))
            accumulator = SegmentAccumulator(encoder, segment_bounds_)
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
            if objects is not None and saved.objects is not None:
                objects.restore(saved.objects)
            self.progress.notice(
                f"{ref.path.name}: resuming the frames pass at {wanted[consumed] / ref.fps:.1f} s (after chunk {chunk})"
            )
        try:
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
                    if objects is not None and (mask := np.isin(indices, objects_index)).any():
                        objects.submit(times[mask], frames[mask])  # runs beside the next batch's decode and models
                    self.progress.update("frames", float(times[-1]))
                    consumed += len(times)
                    reached = int(times[-1] // settings.frames_chunk_seconds)
                    if reached > chunk and consumed < wanted.size:  # a chunk boundary passed: save what we have
                        chunk = reached
                        snapshot = VisualProgress(progress_id, consumed, chunk,
                                                  tracking.snapshot() if tracking is not None else None, features,
                                                  accumulator.state() if accumulator is not None else None,
                                                  objects.snapshot() if objects is not None else None)  # fmt: skip
                        save_progress(self.directory, snapshot)
                        checkpoint("frames", f"chunk-{chunk}")
                self.progress.finish("frames", f"{wanted.size} frames decoded once")
            person_tracks = tracking.finish() if tracking is not None else []
            if "objects" in stages:
                self._objects(keys["objects"], started, objects, person_tracks if from_tracks else None, settings)
        finally:
            if objects is not None:
                objects.close()
        if "segments" in stages:
            encoded = accumulator.finish() if accumulator is not None else None
            self._segments(keys["segments"], started, encoded, clip_times, segment_bounds_)
        if "tracks" in stages:
            self._tracks(keys["tracks"], started, person_tracks, detector)
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
            name = index_segments(self.store, clip, self.ref, run_id, records, pooled)
            summary.update(collection=name, model=clip.spec.description, frames=int(len(frame_times)))
        self.commit("segments", key, run_id, started, summary)

    def _tracks(self, key: str, started: float, tracks: list[Any], detector: Any) -> None:
        run_id = _run_id()
        write_json_atomic(self.directory / f"tracks-{run_id}.json", [t.to_dict() for t in tracks])
        summary: dict[str, Any] = {"tracks": len(tracks), "disabled": detector is None}
        if detector is not None:
            summary.update(model=detector.spec.description, labels=sorted({t.label for t in tracks}))
        self.commit("tracks", key, run_id, started, summary)

    def _frames(self, key: str, started: float, features: Any) -> None:
        run_id = _run_id()
        features.save(self.directory / f"frames-{run_id}.npz")
        self.commit("frames", key, run_id, started, {"frames": len(features)})

    def _objects(self, key: str, started: float, objects: Any, tracks: list[Any] | None, settings: Settings) -> None:
        """Commit the object tracks and per-frame sightings (see memory/ingest/objects_stage.py)."""
        from memory.ingest.objects_stage import stage_output
        from memory.video_memory import VideoMemory

        run_id, memory = _run_id(), VideoMemory(settings, self.manifest)
        data, summary = stage_output(objects, tracks, memory, self.models, self.store, run_id)
        write_json_atomic(self.directory / f"objects-{run_id}.json", data)
        self.commit("objects", key, run_id, started, summary)

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
        from perception.trigger_head import configured_head

        head = configured_head(settings, self.models)
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
        from memory.ingest.captioning import caption_video
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
        summary.update(index_captions(self.store, self.models, self.ref, run_id, result.segments))
        self.commit("captions", key, run_id, started, summary)

    def graph(self, key: str, settings: Settings) -> None:
        """Build the actor graph from actors, their boxes and the transcript, and persist it."""
        from memory.actor_graph.build import build_actor_graph
        from memory.actor_graph.persist import save_graph
        from memory.video_memory import VideoMemory

        started, run_id = time.perf_counter(), _run_id()
        self.progress.start("actor graph", None)
        memory = VideoMemory(settings, self.manifest)
        graph = build_actor_graph(memory)
        save_graph(graph, self.directory / f"graph-{run_id}.json")
        self.progress.finish("actor graph", f"{graph.number_of_nodes()} nodes, {graph.number_of_edges()} edges")
        summary = {"nodes": graph.number_of_nodes(), "edges": graph.number_of_edges()}
        summary.update(index_actors(self.store, self.models, self.ref, run_id, memory))
        self.commit("graph", key, run_id, started, summary)

    def ocr(self, key: str, settings: Settings) -> None:
        """Read the text shown in the picture and index it for search (see memory/ingest/screen_text.py)."""
        from memory.ingest.screen_text import read_screen_text
        from memory.video_memory import VideoMemory

        started, run_id = time.perf_counter(), _run_id()
        reader = self.models.ocr()
        items: list[Any] = []
        summary: dict[str, Any] = {"disabled": True}
        if reader is not None:
            self.progress.start("on-screen text", None, unit="frames")
            items, summary = read_screen_text(VideoMemory(settings, self.manifest), reader, settings.ocr_fps,
                                              settings.batch_size, lambda n: self.progress.update("on-screen text", n))
            if items and (embedder := self.models.text_embedder()) is not None:
                index = index_texts(self.store, embedder, self.ref, run_id, "screen_text", [(i.t0, i.t1, i.text) for i in items])
                summary.update(collection=index["collection"], rows=index["rows"], embedder=index["model"])
            self.progress.finish("on-screen text", f"{len(items)} texts in {summary['frames_read']} frames")
        write_json_atomic(self.directory / f"ocr-{run_id}.json", [i.to_dict() for i in items])
        self.commit("ocr", key, run_id, started, summary)

    def clusters(self, key: str, settings: Settings) -> None:
        """Cluster the segments across the whole timeline so recurring scenes share a cluster."""
        from memory.ingest.clustering import cluster_video
        from memory.video_memory import VideoMemory

        started, run_id = time.perf_counter(), _run_id()
        self.progress.start("scene clusters", None)
        result = cluster_video(VideoMemory(settings, self.manifest), settings.scene_clusters)
        write_json_atomic(self.directory / f"clusters-{run_id}.json", result.to_dict())
        self.progress.finish("scene clusters", f"{result.count} clusters of {len(result.labels)} segments")
        self.commit("clusters", key, run_id, started, result.summary())


def _run_id() -> str:
    return uuid.uuid4().hex[:12]


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
    models = models or ModelCache.for_settings(settings, progress.notice)
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
    manifest = Manifest.load_or_rebuild(layout, digest[:16], progress.notice)
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
    pending = with_dependents(pending)
    run = _Run(layout, manifest, models, progress, settings)
    steps: dict[str, Any] = {
        "transcript": lambda: run.transcript(keys["transcript"]),
        "transcript_index": lambda: run.transcript_index(keys["transcript_index"]),
        "actors": lambda: run.actors(keys["actors"], settings),
        "triggers": lambda: run.triggers(keys["triggers"], settings),
        "ocr": lambda: run.ocr(keys["ocr"], settings),
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
