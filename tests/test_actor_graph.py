"""The actor graph: a generated meeting ingested with the real offline pose model (yolo11n-pose) gives two
actors whose co-presence, first meeting and close interaction match the known times within a second;
queries, persistence, damage, the seed-format export and the picture; presence interpolation, the
interaction threshold and speaker confidence on synthetic tracks."""

from __future__ import annotations

import json
import math
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import networkx as nx
import pytest
from conftest import IngestedMeetingVideo

from core.errors import InvalidRequest, MemoryCorrupt
from core.settings import Settings
from core.types import Actor, Track, TranscriptSpan, VideoRef
from evaluation.meeting_scenario import MeetingScenario
from memory.actor_graph.build import INTERACTION_DISTANCE, INTERACTION_MIN_S, build_actor_graph, build_graph
from memory.actor_graph.persist import GRAPH_VERSION, load_graph, save_graph
from memory.actor_graph.presence import presence_intervals
from memory.actor_graph.query import ActorGraph, Companion
from memory.actor_graph.speakers import MAX_SPEAKER_CONFIDENCE
from memory.graph_export import seed_graph_json
from memory.video_memory import VideoMemory
from ui.graph_picture import draw_actor_graph

TOLERANCE_S = 1.0
"""Co-presence, first meeting and interaction times must be this close to the generated truth."""


@dataclass(frozen=True)
class IngestedMeeting:
    scenario: MeetingScenario
    settings: Settings
    memory: VideoMemory
    graph: ActorGraph


@pytest.fixture(scope="module")
def meeting(meeting_memory: IngestedMeetingVideo) -> IngestedMeeting:
    """The meeting video's memory (ingested once per session by conftest), with its actor graph."""
    memory = VideoMemory.for_path(meeting_memory.settings, meeting_memory.scenario.path)
    assert memory.summary("graph"), "ingest builds the actor graph"
    return IngestedMeeting(meeting_memory.scenario, meeting_memory.settings, memory, memory.actor_graph())


def _graph_file(memory: VideoMemory) -> Path:
    return memory.directory / f"graph-{memory.run_id('graph')}.json"


# --- the generated meeting, end to end -------------------------------------------------------


def test_two_people_meet_at_the_true_time_for_the_true_duration(meeting: IngestedMeeting) -> None:
    truth, graph = meeting.scenario, meeting.graph
    assert graph.actor_ids == [1, 2]
    a, b = graph.actors()
    assert a.label == b.label == "person" and a.kind == b.kind == "actor"
    (a_seen,) = graph.appearances(1)
    (b_seen,) = graph.appearances(2)
    assert a_seen.t0 == 0.0 and abs(a_seen.t1 - truth.duration) <= TOLERANCE_S
    assert abs(b_seen.t0 - truth.t_meet) <= TOLERANCE_S and abs(b_seen.t1 - truth.t_leave) <= TOLERANCE_S
    assert abs(b.screen_time - truth.together_s) <= TOLERANCE_S

    together = graph.together(1, 2)
    assert len(together.intervals) == 1
    assert abs(together.seconds - truth.together_s) <= TOLERANCE_S, together
    assert graph.together(2, 1).seconds == together.seconds
    first = graph.first_meeting(1, 2)
    assert first is not None and abs(first - truth.t_meet) <= TOLERANCE_S
    assert first == together.intervals[0].t0 == graph.first_meeting(2, 1)
    assert graph.companions(1) == [Companion(2, together.seconds)]
    other, seconds = graph.companions(2)[0]
    assert (other, seconds) == (1, together.seconds)
    # distances: normalised by the frame diagonal; B walks up to A, so the minimum is below the mean
    assert together.min_distance is not None and together.mean_distance is not None
    assert 0.0 < together.min_distance < together.mean_distance < 1.0
    print(
        f"meeting: first {first:.2f} s (truth {truth.t_meet}), together {together.seconds:.2f} s "
        f"(truth {truth.together_s})"
    )


def test_who_is_on_screen_when(meeting: IngestedMeeting) -> None:
    truth, graph = meeting.scenario, meeting.graph
    before = graph.on_screen(0.0, truth.t_meet - TOLERANCE_S)
    assert [p.actor_id for p in before] == [1]
    assert before[0].t0 == 0.0 and before[0].seconds == pytest.approx(truth.t_meet - TOLERANCE_S, abs=1e-6)
    during = graph.on_screen(truth.t_meet + TOLERANCE_S, truth.t_leave - TOLERANCE_S)
    assert [p.actor_id for p in during] == [1, 2]
    assert graph.actors_at(truth.t_meet + truth.together_s / 2) == [1, 2]
    assert graph.actors_at(truth.t_leave + 2.0) == [1]
    assert graph.actors_at(truth.duration + 5.0) == []
    with pytest.raises(InvalidRequest):
        graph.on_screen(5.0, 1.0)


def test_walking_up_is_a_close_interaction_and_a_trajectory(meeting: IngestedMeeting) -> None:
    truth, graph = meeting.scenario, meeting.graph
    found = graph.meeting(1, 2)
    assert found is not None and found.time == graph.first_meeting(1, 2)
    assert found.interaction_time is not None, "B stands beside A for ~3 s: an interaction"
    assert abs(found.interaction_time - truth.t_close) <= TOLERANCE_S
    together = graph.together(1, 2)
    assert abs(together.interaction_seconds - truth.close_s) <= TOLERANCE_S
    assert together.interaction[0].t0 >= together.intervals[0].t0 + 1.0  # not close when B first appears

    a_path, b_path = graph.trajectory(1), graph.trajectory(2)
    a_centre = (truth.a_box[0] + truth.a_box[2]) / 2 / truth.width
    assert all(abs(p.cx - a_centre) < 0.03 and 0.0 <= p.cy <= 1.0 for p in a_path)
    assert [p.t for p in b_path] == sorted(p.t for p in b_path)
    start = (truth.b_start_box[0] + truth.b_start_box[2]) / 2 / truth.width
    end = (truth.b_end_box[0] + truth.b_end_box[2]) / 2 / truth.width
    assert abs(b_path[0].cx - start) < 0.05 and abs(b_path[-1].cx - end) < 0.05
    print(
        f"interaction: from {found.interaction_time:.2f} s (truth {truth.t_close}), "
        f"{together.interaction_seconds:.2f} s close (truth {truth.close_s:.2f})"
    )


def test_unknown_actor_ids_are_one_line_errors_listing_the_valid_ones(meeting: IngestedMeeting) -> None:
    for call in (
        lambda g: g.appearances(7),
        lambda g: g.together(1, 7),
        lambda g: g.companions(0),
        lambda g: g.trajectory(9),
        lambda g: g.said_while_on_screen(3),
        lambda g: g.first_meeting(7, 1),
    ):
        with pytest.raises(InvalidRequest) as error:
            call(meeting.graph)
        message = str(error.value)
        assert "\n" not in message and "valid actor ids: 1, 2" in message, message
    with pytest.raises(InvalidRequest, match="no actors"):
        ActorGraph.empty().appearances(1)


def test_silent_video_has_no_speech_and_empty_graph_answers_nothing(meeting: IngestedMeeting) -> None:
    assert meeting.graph.speaker_of(5.0) == (None, 0.0)
    assert meeting.graph.said_while_on_screen(1) == []
    empty = ActorGraph.empty()
    assert empty.is_empty and empty.on_screen(0.0, 100.0) == [] and empty.actors_at(1.0) == []
    assert empty.speaker_of(1.0) == (None, 0.0)


# --- persistence ---------------------------------------------------------------------------------


def test_graph_round_trips_through_its_file(meeting: IngestedMeeting, tmp_path: Path) -> None:
    stored = meeting.graph.graph
    rebuilt = build_actor_graph(meeting.memory)
    assert nx.node_link_data(rebuilt, edges="edges") == nx.node_link_data(stored, edges="edges")
    path = tmp_path / "graph.json"
    save_graph(rebuilt, path)
    loaded = load_graph(path)
    assert isinstance(loaded, nx.MultiDiGraph)
    assert nx.node_link_data(loaded, edges="edges") == nx.node_link_data(rebuilt, edges="edges")
    assert json.loads(path.read_text())["graph"]["version"] == GRAPH_VERSION
    assert not list(tmp_path.glob(".graph.json.*")), "a temp file was left behind"


def test_damaged_graph_file_is_memory_corrupt_naming_the_file(meeting: IngestedMeeting, tmp_path: Path) -> None:
    source = _graph_file(meeting.memory)
    cases = {
        "truncated": source.read_text()[:200],
        "not a graph": json.dumps({"hello": "world"}),
        "foreign version": source.read_text().replace(f'"version": {GRAPH_VERSION}', '"version": 99'),
    }
    for name, text in cases.items():
        path = tmp_path / f"{name.replace(' ', '-')}.json"
        path.write_text(text)
        with pytest.raises(MemoryCorrupt) as error:
            load_graph(path)
        message = str(error.value)
        assert str(path) in message and "\n" not in message and "re-ingest" in message, (name, message)
    with pytest.raises(MemoryCorrupt, match="memory file is missing; re-ingest"):
        load_graph(tmp_path / "missing.json")

    # through the memory, as the agent reads it
    copy = tmp_path / "memory"
    shutil.copytree(meeting.settings.data_dir, copy)
    settings = meeting.settings.model_copy(update={"data_dir": copy})
    memory = VideoMemory.for_path(settings, meeting.scenario.path)
    _graph_file(memory).write_text("{not json")
    with pytest.raises(MemoryCorrupt, match="graph-"):
        memory.actor_graph()


# --- the seed's JSON format --------------------------------------------------------------------


def test_seed_json_export(meeting: IngestedMeeting) -> None:
    memory, truth = meeting.memory, meeting.scenario
    data = seed_graph_json(memory)
    json.dumps(data)  # JSON-native throughout
    assert data["video_id"] == memory.video_id and data["video_path"] == str(memory.ref.path)
    assert data["num_frames"] == memory.ref.num_frames == round(truth.duration * truth.fps)
    assert data["duration"] == pytest.approx(truth.duration, abs=0.05)
    entities = {e["entity_id"]: e for e in data["entities"]}
    assert sorted(entities) == [1, 2] and {e["entity_type"] for e in entities.values()} == {"person"}
    tracks = {t.track_id: t for t in memory.tracks()}
    for actor in memory.actors():
        entity = entities[actor.actor_id]
        samples = sorted((t, box) for i in actor.track_ids for t, box in zip(tracks[i].times, tracks[i].boxes))
        assert entity["frames"] == [round(t * truth.fps) for t, _ in samples]
        x1, y1, x2, y2 = samples[0][1]
        assert entity["bboxes"][0] == pytest.approx([x1, y1, x2 - x1, y2 - y1], abs=0.01)
        assert all(w > 0 and h > 0 for _, _, w, h in entity["bboxes"])
        assert len(entity["bboxes"]) == len(entity["actions"]) == len(entity["speech"]) == len(entity["frames"])
        assert not any(entity["speech"])  # the video is silent
    b_frames = entities[2]["frames"]
    assert abs(b_frames[0] / truth.fps - truth.t_meet) <= TOLERANCE_S and b_frames[-1] / truth.fps < truth.t_leave
    assert "walking" in entities[2]["actions"]

    kinds = {r["relationship_type"]: r for r in data["relationships"]}
    assert set(kinds) == {"co_present", "interacts"}
    assert (kinds["co_present"]["entity1_id"], kinds["co_present"]["entity2_id"]) == (1, 2)
    assert kinds["co_present"]["duration"] == meeting.graph.together(1, 2).seconds
    assert 0.0 < kinds["interacts"]["confidence"] <= kinds["co_present"]["confidence"] <= 1.0

    events = data["events"]
    assert [e["event_id"] for e in events] == list(range(len(events)))
    assert [e["time"] for e in events] == sorted(e["time"] for e in events)
    by_type = {e["event_type"]: e for e in events}
    assert set(by_type) == {"enters", "meeting", "leaves"}
    assert by_type["enters"]["entities_involved"] == [2] and by_type["meeting"]["entities_involved"] == [1, 2]
    assert abs(by_type["meeting"]["time"] - truth.t_meet) <= TOLERANCE_S
    assert abs(by_type["leaves"]["time"] - truth.t_leave) <= TOLERANCE_S
    assert all(e["frame_id"] == round(e["time"] * truth.fps) for e in events)
    assert "actor 1 and actor 2" in by_type["meeting"]["description"]


def test_picture_is_written(meeting: IngestedMeeting, tmp_path: Path) -> None:
    path = draw_actor_graph(meeting.graph, tmp_path / "graph.png", "meeting")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 10_000
    empty = draw_actor_graph(ActorGraph.empty().graph, tmp_path / "empty.png")
    assert empty.is_file()


# --- rules on synthetic tracks -----------------------------------------------------------------


REF = VideoRef(Path("synthetic.mp4"), "0" * 64, 20.0, 10.0, 640, 360, 200, 20.0)
FRONTAL = tuple((0.0, 0.0, 0.9) for _ in range(17))
AWAY = tuple((0.0, 0.0, 0.9 if k > 4 else 0.1) for k in range(17))


def _track(
    track_id: int,
    times: tuple[float, ...],
    x: float = 100.0,
    *,
    height: float = 200.0,
    keypoints: tuple[tuple[float, float, float], ...] | None = FRONTAL,
    moving: bool = True,
) -> Track:
    """A person box of `height` pixels with its left edge at x, on the given sample times; `keypoints` gives
    each point's visibility, and a moving person's points shift within the box from sample to sample (a
    still picture's stay put)."""
    width, top = height / 3, 300.0 - height
    boxes = tuple((x, top, x + width, 300.0) for _ in times)
    points: tuple[tuple[tuple[float, float, float], ...], ...] = ()
    if keypoints is not None:
        points = tuple(
            tuple(
                (x + width * (0.5 + (0.2 * math.sin(i + k) if moving else 0.0)),
                 top + height * (k / 17 + (0.1 * math.cos(1.3 * i + k) if moving else 0.0)), visibility)
                for k, (_, _, visibility) in enumerate(keypoints)
            )
            for i in range(len(times))
        )  # fmt: skip
    return Track(track_id, "person", times, boxes, (0.9,) * len(times), points)


def _steps(t0: float, t1: float, step: float = 0.5) -> tuple[float, ...]:
    return tuple(round(t0 + i * step, 3) for i in range(round((t1 - t0) / step) + 1))


def _graph(tracks: Sequence[Track], spans: Sequence[TranscriptSpan] = (), period: float = 0.5) -> ActorGraph:
    """The graph of synthetic tracks, one actor per track, on a 640x360 20 s video."""
    actors = [Actor(t.track_id, "person", (t.track_id,), ((t.t0, t.t1),)) for t in tracks]
    return ActorGraph(build_graph(actors, tracks, list(spans), REF, period))


def test_presence_interpolates_samples_and_bridges_short_gaps() -> None:
    # samples every 0.5 s from 2.0 to 5.0 with 3.5 missing (a 1 s gap: continuous), then 7.0 to 8.0
    times = tuple(t for t in _steps(2.0, 5.0) if t != 3.5) + _steps(7.0, 8.0)
    track = _track(1, times)
    # a new track started one period before its first report (ByteTrack confirms on the 2nd detection);
    # each sample stands for half a period either side
    assert presence_intervals([track], 0.5, 20.0) == [(1.25, 5.25), (6.75, 8.25)]
    # seen on the first frame: no confirmation delay; seen on the last sample: lasts to the end
    assert presence_intervals([_track(2, _steps(0.0, 2.0))], 0.5, 20.0) == [(0.0, 2.25)]
    assert presence_intervals([_track(3, _steps(18.0, 19.5))], 0.5, 20.0) == [(17.25, 20.0)]
    # two tracks of one individual a sample apart are one appearance; a 3 s absence is two
    assert presence_intervals([_track(4, _steps(2.0, 4.0)), _track(5, _steps(4.5, 6.0))], 0.5, 20.0) == [(1.25, 6.25)]
    # presence never reaches across a shot cut: people either side of one were never together
    before, after = _track(6, _steps(0.0, 4.5)), _track(7, _steps(5.0, 9.0))
    assert presence_intervals([before], 0.5, 20.0, cuts=[4.8]) == [(0.0, 4.75)]
    assert presence_intervals([after], 0.5, 20.0, cuts=[4.8]) == [(4.8, 9.25)]
    actors = [Actor(t.track_id, "person", (t.track_id,), ((t.t0, t.t1),)) for t in (before, after)]
    assert ActorGraph(build_graph(actors, [before, after], [], REF, 0.5, cuts=[4.8])).together(6, 7).seconds == 0.0
    assert ActorGraph(build_graph(actors, [before, after], [], REF, 0.5)).together(6, 7).seconds > 0.0
    graph = _graph([track])
    (loop,) = [d for _, _, d in graph.graph.edges(data=True) if d["kind"] == "temporal"]
    assert (loop["left"], loop["returned"], loop["gap"]) == (5.25, 6.75, 1.5)
    assert graph.actor(1).screen_time == 5.5


def test_close_sustained_proximity_is_an_interaction() -> None:
    period, height = 0.5, 200.0
    near, far = 0.8 * height, 1.2 * height  # left edges (and so centres) this far apart
    cases = [
        ("near for 4 s", near, _steps(4.0, 8.0), True),
        ("far for 4 s", far, _steps(4.0, 8.0), False),
        ("near for 1.5 s", near, _steps(4.0, 4.5), False),  # present 3.25-4.75 s
    ]
    assert near / height < INTERACTION_DISTANCE < far / height and 1.5 < INTERACTION_MIN_S < 4.0
    for name, offset, times, expected in cases:
        graph = _graph([_track(1, _steps(0.0, 10.0), 100.0), _track(2, times, 100.0 + offset)], period=period)
        together = graph.together(1, 2)
        assert together.seconds == pytest.approx(times[-1] - times[0] + 1.5 * period + 0.5 * period), name
        assert bool(together.interaction) is expected, (name, together)
        found = graph.meeting(1, 2)
        assert found is not None and (found.interaction_time is not None) is expected, name
        if expected:
            assert together.interaction_seconds == pytest.approx(together.seconds, abs=0.11)
            assert found.interaction_time == pytest.approx(found.time, abs=0.11)


def test_speaker_confidence_follows_who_is_visible() -> None:
    spans = [
        TranscriptSpan(1.0, 3.0, "only one person is here"),
        TranscriptSpan(6.0, 8.0, "now there are two of us"),
        TranscriptSpan(12.0, 14.0, "nobody can be seen"),
    ]
    one = _track(1, _steps(0.0, 10.0), 50.0)
    two = _track(2, _steps(5.0, 10.0), 400.0)
    graph = _graph([one, two], spans)

    speaker, confidence = graph.speaker_of(2.0)
    assert speaker == 1 and 0.8 <= confidence <= MAX_SPEAKER_CONFIDENCE
    shared = graph.speaker_of(7.0)
    assert shared.actor_id in (1, 2) and shared.confidence <= 0.5
    lines = {line.text: line for line in graph.said_while_on_screen(2)}
    assert set(lines) == {"now there are two of us"}
    assert lines["now there are two of us"].on_screen_fraction == 1.0
    assert (
        lines["now there are two of us"].confidence + graph.said_while_on_screen(1)[1].confidence
        <= MAX_SPEAKER_CONFIDENCE + 1e-6
    )
    assert graph.speaker_of(13.0) == (None, 0.0)
    assert graph.speaker_of(4.0) == (None, 0.0)  # nobody speaks
    notes = {d["text"]: d["note"] for _, d in graph.graph.nodes(data=True) if d["kind"] == "speech"}
    assert "off-screen" in notes["nobody can be seen"] and "mouth" in notes["only one person is here"]

    # a still picture of a person (a photo: the pose never moves in its box) is not credited with the words
    photo = _graph([_track(1, _steps(0.0, 10.0), 50.0, moving=False)], spans[:1])
    assert photo.speaker_of(2.0) == (None, 0.0)
    (line,) = photo.spoken_lines()
    assert line.speaker is None and "still pictures" in line.note
    (seen,) = photo.said_while_on_screen(1)
    assert seen.confidence == 0.0 and not seen.likely_speaker

    # a person facing away, small, next to one facing the camera, large: the frontal one is likelier
    facing = _track(1, _steps(0.0, 10.0), 50.0)
    away = _track(2, _steps(0.0, 10.0), 400.0, height=60.0, keypoints=AWAY)
    cued = _graph([facing, away], spans[:1])
    speaker, confidence = cued.speaker_of(2.0)
    (other,) = [line for line in cued.said_while_on_screen(2)]
    assert speaker == 1 and confidence > other.confidence and not other.likely_speaker
