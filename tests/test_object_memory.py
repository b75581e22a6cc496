"""Everyday objects as memory and answers: the objects stage finds the COCO classes on a video of scikit-image photos
at the times they are shown, keeps them through a resumed ingest, maps a user's words to classes ("a mug" is a cup),
and answers when / how often / how many at once / does X appear (a "no" names what the detector did see).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from agent.session import Session
from core.settings import Settings
from core.types import ObjectSightings
from evaluation.sample_video import SampleVideo, make_sample_video
from memory.ingest.pipeline import ingest_video
from memory.objects import ObjectVocabulary, appearances, at_once
from memory.video_memory import VideoMemory
from models.cache import ModelCache
from models.registry import objects_folder

PHOTOS = [("coffee", "", False), ("astronaut", "", True), ("chelsea", "", False), ("camera", "", True)]
CUES = [(1.0, "one"), (7.0, "two"), (13.0, "three"), (19.0, "four")]


def _sightings(label: str, counts: list[int], scores: list[float], step: float = 0.5) -> ObjectSightings:
    times = tuple(round(i * step, 3) for i in range(len(counts)))
    return ObjectSightings(times, {label: tuple(counts)}, {label: tuple(scores)}, ("person", label))


def test_showings_merge_across_short_misses_split_at_cuts_and_drop_lone_flicker() -> None:
    counts = [1, 1, 0, 1, 1, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0]
    scores = [0.6, 0.6, 0, 0.5, 0.6, 0, 0, 0, 0, 0.7, 0.6, 0, 0, 0, 0, 0.38, 0]
    sightings = _sightings("cup", counts, scores)
    shown = appearances(sightings, "cup")
    assert [(a.t0, a.t1, a.most) for a in shown] == [(0.0, 2.0, 1), (4.5, 5.0, 2)]  # 7.5 s: one frame at 0.38
    assert at_once(sightings, "cup") == (2, 4.5)
    cut = appearances(sightings, "cup", cuts=[1.0])  # a cut between frames 0.5 and 1.5 separates the showings
    assert [(a.t0, a.t1) for a in cut] == [(0.0, 0.5), (1.5, 2.0), (4.5, 5.0)]
    assert appearances(sightings, "cup", cuts=[1.6]) == cut  # a cut found just after a frame falls before it
    assert appearances(sightings, "cup", cuts=[3.0]) == shown  # a cut while the cup is away changes nothing
    unsure = appearances(_sightings("cat", [1, 1, 1], [0.4, 0.45, 0.42]), "cat")
    assert len(unsure) == 1 and not unsure[0].sure


@pytest.fixture(scope="module")
def vocabulary() -> ObjectVocabulary:
    classes = ["person", "cup", "cat", "dog", "bird", "clock", "cell phone", "dining table", "stop sign", "tv"]
    embedder = ModelCache.for_settings(Settings()).text_embedder()
    if embedder is None:
        pytest.skip("no text embedder in this profile")
    return ObjectVocabulary(classes, embedder)


@pytest.mark.parametrize(
    ("words", "classes"),
    [
        ("is there a mug", ["cup"]),
        ("when is the kitty shown", ["cat"]),
        ("how many cups", ["cup"]),
        ("a cell phone on the table", ["cell phone", "dining table"]),
        ("any animals", ["bird", "cat", "dog"]),
        ("does a watch appear", []),  # near clock (0.58), not close enough to be one
        ("what does the sign say", []),  # on-screen text, not a stop sign
        ("when does the man appear", []),  # people are the actor graph's
        ("what is said about the rocket", []),
    ],
)
def test_a_users_words_name_the_classes_they_mean(vocabulary: ObjectVocabulary, words: str, classes: list[str]) -> None:
    assert vocabulary.match(words.split()) == classes


@pytest.fixture(scope="module")
def photos(tmp_path_factory: pytest.TempPathFactory) -> tuple[SampleVideo, Settings]:
    if not (objects_folder() / "centernet-coco.tflite").is_file():
        pytest.skip(f"no converted COCO detector in {objects_folder()}: `make setup` builds it")
    folder = tmp_path_factory.mktemp("objects")
    video = make_sample_video(folder / "photos.mp4", with_audio=False, narration=CUES, photos=PHOTOS, duration=25.0)
    settings = Settings(data_dir=folder / "memory")
    ingest_video(video.path, settings)
    return video, settings


def test_objects_are_found_on_the_photos_at_the_times_they_are_shown(photos: tuple[SampleVideo, Settings]) -> None:
    video, settings = photos
    memory = VideoMemory.for_path(settings, video.path)
    sightings = memory.object_sightings()
    assert sightings is not None and len(sightings.times) >= 2 * 25 - 2  # 2 frames a second
    scene = {s.image: s for s in video.scenes}
    cups = appearances(sightings, "cup", memory.shot_cuts())
    assert len(cups) == 1 and abs(cups[0].t0 - scene["coffee"].t0) <= 1.0 and abs(cups[0].t1 - scene["coffee"].t1) <= 1.0
    people = appearances(sightings, "person", memory.shot_cuts())  # the cameraman; the small letterboxed astronaut
    camera = scene["camera"]  # is missed and Chelsea the cat called a person: a weak detector, measured as it is
    assert any(abs(a.t0 - camera.t0) <= 1.0 and abs(a.t1 - camera.t1) <= 1.0 for a in people), people
    tracks = Counter(t.label for t in memory.object_tracks() if len(t.times) >= 2)
    assert tracks["cup"] == 1, tracks  # one cup, one track, with its best crop's time inside the coffee scene
    cup = next(t for t in memory.object_tracks() if t.label == "cup" and len(t.times) >= 2)
    assert scene["coffee"].t0 - 0.5 <= cup.times[cup.best] <= scene["coffee"].t1
    graph_objects = [n for n in memory.actor_graph().graph.nodes(data=True) if n[1].get("kind") == "object"]
    assert [d["label"] for _, d in graph_objects].count("cup") == 1  # the actor graph holds the same cup


def test_questions_about_objects_are_answered_from_the_object_memory(photos: tuple[SampleVideo, Settings]) -> None:
    video, settings = photos
    coffee = next(s for s in video.scenes if s.image == "coffee")
    with Session(video.path, settings=settings, persist=False) as session:
        when = session.ask("When is a mug shown?")
        often = session.ask("How many times is a cup shown?", thread_id="often")
        scenes = session.ask("How many separate scenes show a cup of coffee?", thread_id="scenes")
        absent = session.ask("Is there a clock in the video?", thread_id="absent")
        present = session.ask("Does a cup appear?", thread_id="present")
    assert "find_objects" in [c["name"] for c in when.tool_calls]
    cited = [e for e in when.evidence if e.kind == "object"]
    assert cited and cited[0].text.startswith(("cup", "probably a cup")), when.text
    assert abs(cited[0].t0 - coffee.t0) <= 1.0, when.text
    assert "cup shown 1 separate time" in often.text, often.text
    assert "cup shown 1 separate time" in scenes.text, scenes.text  # the cup's showings, not every scene
    assert absent.abstained and "no clock was detected" in absent.text and "cup" in absent.text, absent.text
    assert "no proof of absence" in absent.text and not absent.text.startswith("No"), absent.text
    assert present.text.startswith(("Yes.", "Probably yes.")), present.text


def test_a_video_ingested_without_the_detector_says_objects_are_unknown(
    photos: tuple[SampleVideo, Settings], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    video, _ = photos
    monkeypatch.setenv("VIDSAGE_WEIGHTS_DIR", str(tmp_path / "no-weights"))
    settings = Settings(data_dir=tmp_path / "memory")
    ingest_video(video.path, settings)
    with Session(video.path, settings=settings, persist=False) as session:
        answer = session.ask("Is there a cup in the video?")
    assert answer.abstained and "I can't tell" in answer.text and not answer.text.startswith("No"), answer.text


def test_a_coco_person_detector_serves_objects_in_the_same_pass(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With the real profile's ultralytics COCO model as the person detector, its own tracks of other classes are
    the objects (no second detector runs); the offline pose model sees only people, so the COCO TFLite runs."""
    from core.types import Track
    from perception.object_tracking import objects_from_tracks

    monkeypatch.setenv("YOLO_OFFLINE", "1")
    (tmp_path / "weights").mkdir()
    (tmp_path / "weights" / "yolo11s.pt").touch()  # present: the real detector is chosen (it is not loaded here)
    assert ModelCache.for_settings(Settings(profile="real", data_dir=tmp_path)).plan.detector_sees_objects()
    assert not ModelCache.for_settings(Settings(profile="offline", data_dir=tmp_path)).plan.detector_sees_objects()
    box = (10.0, 10.0, 50.0, 50.0)
    person = Track(1, "person", (0.0, 0.5, 1.0), (box,) * 3, (0.9, 0.9, 0.9))
    cups = [Track(2, "cup", (0.5, 1.0), (box,) * 2, (0.6, 0.7)), Track(3, "cup", (1.0, 1.5), (box,) * 2, (0.4, 0.5))]
    objects, sightings = objects_from_tracks([person, *cups], [0.0, 0.5, 1.0, 1.5, 2.0], ["person", "cup"])
    assert [t.track_id for t in objects] == [2, 3]
    assert sightings.counts == {"cup": (0, 1, 2, 1, 0)} and sightings.scores["cup"] == (0.0, 0.6, 0.7, 0.5, 0.0)
    assert at_once(sightings, "cup") == (2, 1.0)
    assert [(a.t0, a.t1) for a in appearances(sightings, "cup")] == [(0.5, 1.5)]
