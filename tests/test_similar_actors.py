"""The same people in two videos are found again by appearance across the library (the `actors` rows)."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.errors import InvalidRequest
from core.settings import Settings
from evaluation.meeting_scenario import make_meeting_video
from evaluation.reid_scenario import make_two_people_video
from memory.ingest.pipeline import ingest_video
from memory.library import Library
from memory.video_memory import VideoMemory
from models.cache import ModelCache


def _actor_at(memory: VideoMemory, t: float) -> int:
    return next(a.actor_id for a in memory.actors() if any(x <= t <= y for x, y in a.intervals))


@pytest.fixture(scope="module")
def two_videos(tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, Path, Path, object, object]:
    root = tmp_path_factory.mktemp("people")
    settings = Settings(data_dir=root / "data", profile="offline", detector_fps=2.0)
    models = ModelCache.for_settings(settings)
    meeting = make_meeting_video(root / "meeting.mp4")
    pair = make_two_people_video(root / "pair.mp4")
    for path in (meeting.path, pair.path):
        ingest_video(path, settings, models=models)
    return settings, meeting.path, pair.path, meeting, pair


def test_each_person_is_found_again_in_the_other_video(two_videos: tuple) -> None:
    settings, meeting_path, pair_path, meeting, pair = two_videos
    library = Library(settings)
    meeting_memory = VideoMemory.for_path(settings, meeting_path)
    pair_memory = VideoMemory.for_path(settings, pair_path)
    astronaut = _actor_at(meeting_memory, 1.0)  # A is alone at the start
    cameraman = next(a.actor_id for a in meeting_memory.actors() if a.actor_id != astronaut)
    visits = {visit.person: visit for visit in pair.visits}
    pair_astronaut = _actor_at(pair_memory, (visits["astronaut"].t0 + visits["astronaut"].t1) / 2)
    pair_cameraman = _actor_at(pair_memory, (visits["cameraman"].t0 + visits["cameraman"].t1) / 2)
    found = library.similar_actors(str(meeting_path), astronaut)
    assert found and found[0].video_id == pair_memory.video_id
    assert f"actor {pair_astronaut})" in found[0].text, [h.text for h in found]
    found = library.similar_actors(str(meeting_path), cameraman)
    assert f"actor {pair_cameraman})" in found[0].text, [h.text for h in found]
    assert found[0].score >= found[-1].score
    with pytest.raises(InvalidRequest, match="no actor 99"):
        library.similar_actors(str(meeting_path), 99)
