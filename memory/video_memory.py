"""Read access to one ingested video: its description, transcript, segments and tracks.

Only stages recorded in the manifest are read, through the run id the manifest names.
"""

from __future__ import annotations

import dataclasses
import functools
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from core.errors import InvalidRequest, MemoryCorrupt
from core.settings import Settings
from core.types import Actor, ObjectSightings, ScreenText, Track, TranscriptSpan, Trigger, VideoRef
from memory.hashes import file_hash
from memory.layout import DataLayout, read_json
from memory.manifest import Manifest
from memory.segments import SegmentRecord
from models.adapters.video import check_path

if TYPE_CHECKING:
    from memory.actor_graph.query import ActorGraph
    from memory.records import ClusterResult, SegmentCaption
    from models.adapters.frame_features import FrameFeatures


class VideoMemory:
    """What memory holds about one video."""

    def __init__(self, settings: Settings, manifest: Manifest) -> None:
        self.settings = settings
        self.manifest = manifest
        self.layout = DataLayout(settings.data_dir)
        self.directory = self.layout.video_dir(manifest.video.video_id)

    @classmethod
    def for_path(cls, settings: Settings, path: Path | str) -> "VideoMemory":
        """Memory of an already ingested file; raises InvalidRequest when it was never ingested."""
        path = Path(path).expanduser()
        check_path(path)
        layout = DataLayout(settings.data_dir)
        manifest = Manifest.load(layout, file_hash(layout, path)[:16])
        if manifest is None:
            raise InvalidRequest(f"{path}: not in memory yet; run `main.py ingest {path}` first")
        return cls(settings, manifest)

    @property
    def ref(self) -> VideoRef:
        return self.manifest.video

    @property
    def video_id(self) -> str:
        return self.manifest.video.video_id

    def run_id(self, stage: str) -> str | None:
        record = self.manifest.stages.get(stage)
        return record.run_id if record else None

    def summary(self, stage: str) -> dict[str, Any]:
        record = self.manifest.stages.get(stage)
        return dict(record.summary) if record else {}

    def _stage_file(self, stage: str) -> Any:
        run_id = self.run_id(stage)
        if run_id is None:
            return []
        return read_json(self.directory / f"{stage.replace('_', '-')}-{run_id}.json")

    @functools.cached_property
    def _transcript(self) -> list[TranscriptSpan]:
        return [TranscriptSpan.from_dict(item) for item in self._stage_file("transcript")]

    @functools.cached_property
    def _screen_text(self) -> list[ScreenText]:
        return [ScreenText.from_dict(item) for item in self._stage_file("ocr")]

    @functools.cached_property
    def _object_file(self) -> dict[str, Any]:
        data = self._stage_file("objects")
        return data if isinstance(data, dict) else {"tracks": [], "sightings": None}

    @functools.cached_property
    def _object_tracks(self) -> list[Track]:
        return [Track.from_dict(item) for item in self._object_file["tracks"]]

    @functools.cached_property
    def _object_sightings(self) -> ObjectSightings | None:
        data = self._object_file.get("sightings")
        return ObjectSightings.from_dict(data) if data else None

    @functools.cached_property
    def _segments(self) -> list[SegmentRecord]:
        return [SegmentRecord(**item) for item in self._stage_file("segments")]

    @functools.cached_property
    def _raw_tracks(self) -> list[Track]:
        return [Track.from_dict(item) for item in self._stage_file("tracks")]

    @functools.cached_property
    def _actor_file(self) -> dict[str, Any]:
        data = self._stage_file("actors")
        return data if isinstance(data, dict) else {"cuts": [], "tracks": None, "actors": []}

    @functools.cached_property
    def _actors(self) -> list[Actor]:
        return [Actor.from_dict(item) for item in self._actor_file["actors"]]

    @functools.cached_property
    def _triggers(self) -> list[Trigger]:
        triggers = [Trigger.from_dict(item) for item in self._stage_file("triggers")]
        captions = self._captions
        if not captions:
            return triggers
        from memory.records import triggered_segments

        described: list[Trigger] = []
        placed = triggered_segments([(c.t0, c.t1) for c in captions], triggers)
        segment_of = {moment: index for index, moments in placed.items() for moment in moments}
        for trigger in triggers:
            caption = captions[segment_of[trigger.timestamp]] if trigger.timestamp in segment_of else None
            analysis = (caption.dense or caption.caption) if caption is not None else ""
            described.append(dataclasses.replace(trigger, analysis=analysis))
        return described

    @functools.cached_property
    def _caption_file(self) -> dict[str, Any]:
        data = self._stage_file("captions")
        return data if isinstance(data, dict) else {"segments": [], "video_summary": ""}

    @functools.cached_property
    def _captions(self) -> list["SegmentCaption"]:
        from memory.records import SegmentCaption

        return [SegmentCaption.from_dict(item) for item in self._caption_file["segments"]]

    def transcript(self) -> list[TranscriptSpan]:
        """Speech spans in time order (empty when there is no speech or no speech model)."""
        return self._transcript

    def screen_text(self) -> list[ScreenText]:
        """Text shown in the picture, by first appearance (empty when none was read or no reader ran)."""
        return self._screen_text

    def object_tracks(self) -> list[Track]:
        """Everyday objects (COCO classes) tracked through the video, by first appearance."""
        return self._object_tracks

    def object_sightings(self) -> ObjectSightings | None:
        """Per sampled frame, the count and best score of each class; None when no object detector ran."""
        return self._object_sightings

    def segments(self) -> list[SegmentRecord]:
        """Fixed-length segments in time order."""
        return self._segments

    def raw_tracks(self) -> list[Track]:
        """Tracks as the tracker produced them (one id may span a shot cut)."""
        return self._raw_tracks

    def tracks(self) -> list[Track]:
        """Tracks split at shot cuts (the actors' building blocks), or the raw tracks before that stage."""
        split = self._actor_file.get("tracks")
        return [Track.from_dict(item) for item in split] if split is not None else self._raw_tracks

    def actors(self) -> list[Actor]:
        """Individuals: tracks merged by re-identification, with on-screen intervals and behaviours."""
        return self._actors

    def shot_cuts(self) -> list[float]:
        """Times of the hard cuts found in the video."""
        return list(self._actor_file.get("cuts", []))

    def triggers(self) -> list[Trigger]:
        """The moments selected for expensive analysis, by time, each with its segment's description."""
        return self._triggers

    def captions(self) -> list["SegmentCaption"]:
        """Per-segment clip captions and (triggered segments only) VLM dense captions; empty before that stage."""
        return self._captions

    def video_summary(self) -> str:
        """The summary written from the captions (empty without a captioner or VLM)."""
        return str(self._caption_file.get("video_summary", ""))

    def clusters(self) -> "ClusterResult":
        """Scene clusters across the timeline (per-segment ids, clusters with labels); empty before that stage."""
        from memory.records import ClusterResult

        data = self._stage_file("clusters")
        if not isinstance(data, dict):
            return ClusterResult([], [])
        return ClusterResult.from_dict(data)

    def actor_graph(self) -> "ActorGraph":
        """The actor graph (who is where, with whom, saying what); empty before the `graph` stage."""
        from memory.actor_graph.persist import load_graph
        from memory.actor_graph.query import ActorGraph

        run_id = self.run_id("graph")
        if run_id is None:
            return ActorGraph.empty()
        return ActorGraph(load_graph(self.directory / f"graph-{run_id}.json"))

    def frame_features(self) -> "FrameFeatures":
        """Per-frame colour histograms and thumbnails (empty before the `frames` stage)."""
        from models.adapters.frame_features import FrameFeatures

        run_id = self.run_id("frames")
        if run_id is None:
            return FrameFeatures.empty()
        return FrameFeatures.load(self.directory / f"frames-{run_id}.npz")

    def frame_vectors(self) -> tuple[np.ndarray | None, np.ndarray | None]:
        """(times, CLIP frame embeddings) sampled for segments; (None, None) without CLIP."""
        run_id = self.run_id("segments")
        path = self.directory / f"segments-{run_id}-frames.npz"
        if run_id is None or not path.is_file():
            return None, None
        try:
            with np.load(path) as data:
                return data["times"], data["vectors"]
        except (OSError, ValueError, KeyError) as error:
            raise MemoryCorrupt(f"{path}: frame embeddings are damaged; re-ingest the video") from error
