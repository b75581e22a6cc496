"""Ten videos in one library: search across all of them or filtered to some; `library` ls/rm/stats."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import cli_env, run_cli

from core.errors import InvalidRequest
from core.settings import Settings
from evaluation.sample_video import make_sample_video
from evaluation.speech_synthesis import espeak_available
from memory.ingest.pipeline import ingest_video
from memory.library import Library
from models.cache import ModelCache

SENTENCES = (
    "The ferry to the island leaves the harbour at nine.",
    "The new bridge over the river opens in May.",
    "Our bakery sells fresh bread every morning.",
    "The museum shows paintings of old sailing ships.",
    "Heavy rain is expected across the valley tonight.",
    "The football team won the final by two goals.",
    "The old bridge was closed for repairs last winter.",
    "Children planted apple trees in the school garden.",
    "The orchestra plays a concert in the park on Sunday.",
    "A new train line will connect the two cities.",
)


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, list[Path]]:
    if not espeak_available():
        pytest.skip("espeak-ng is not installed")
    root = tmp_path_factory.mktemp("library")
    settings = Settings(data_dir=root / "data", profile="offline", detector_fps=1.0)
    models = ModelCache.for_settings(settings)
    paths = []
    for index, sentence in enumerate(SENTENCES):
        video = make_sample_video(root / f"news{index}.mp4", narration=[(0.3, sentence)], size=(192, 108),
                                  seed=index, duration=4.0)  # fmt: skip
        ingest_video(video.path, settings, models=models)
        paths.append(video.path)
    return settings, paths


def test_a_query_filtered_to_one_video_returns_only_that_video(library: tuple[Settings, list[Path]]) -> None:
    settings, paths = library
    memory = Library(settings)
    assert len(memory.video_ids()) == 10
    wanted = memory.resolve(str(paths[6]))
    hits = memory.search("Which bridge was closed?", videos=[str(paths[6])])
    assert hits and {h.video_id for h in hits} == {wanted}
    assert "old bridge was closed" in hits[0].text.lower()
    other = memory.search("Which bridge was closed?", videos=[str(paths[2])])
    assert all(h.video_id == memory.resolve(str(paths[2])) for h in other)


def test_an_unfiltered_query_ranks_across_all_videos(library: tuple[Settings, list[Path]]) -> None:
    settings, paths = library
    memory = Library(settings)
    hits = memory.search("a bridge", top_k=5)
    ids = [h.video_id for h in hits]
    bridges = {memory.resolve(str(paths[1])), memory.resolve(str(paths[6]))}
    assert set(ids[:2]) == bridges, [h.text for h in hits]
    railway = memory.search("Which cities will the railway link?", top_k=3)
    assert railway[0].video_id == memory.resolve(str(paths[9])) and railway[0].kind == "transcript"
    assert 0.0 <= railway[0].t0 < 1.5
    late = memory.search("a bridge", t_range=(10.0, 20.0))
    assert late == [], "nothing is said after 4 s in any video"


def test_library_cli_lists_counts_and_removes_one_video_cleanly(
    library: tuple[Settings, list[Path]], tmp_path: Path
) -> None:
    import shutil

    settings, paths = library
    copy = settings.model_copy(update={"data_dir": tmp_path / "data"})
    shutil.copytree(settings.data_dir, copy.data_dir)
    env = cli_env(copy)
    listed = run_cli("library", "ls", "--json", env=env)
    assert listed.returncode == 0, listed.stderr
    rows = json.loads(listed.stdout)
    assert len(rows) == 10 and {Path(r["path"]).name for r in rows} == {p.name for p in paths}
    removed = run_cli("library", "rm", str(paths[6]), "--json", env=env)
    assert removed.returncode == 0, removed.stderr
    gone = json.loads(removed.stdout)["removed"][0]
    memory = Library(copy)
    assert gone not in memory.video_ids() and len(memory.video_ids()) == 9
    hits = memory.search("Which bridge was closed?", top_k=10)
    assert hits and gone not in {h.video_id for h in hits}
    assert not (copy.data_dir / "videos" / gone).exists()
    again = run_cli("library", "rm", gone, env=env)
    assert again.returncode == 2 and "no such video" in again.stderr and "Traceback" not in again.stderr
    stats = json.loads(run_cli("library", "stats", "--json", env=env).stdout)
    assert stats["videos"] == 9 and stats["speech_spans"] >= 9
    found = run_cli("search", "What did the children plant at school?", "--json", env=env)
    assert found.returncode == 0, found.stderr
    assert json.loads(found.stdout)["results"][0]["video_id"] == memory.resolve(str(paths[7]))
    assert json.loads(found.stdout)["results"][0]["file"] == str(paths[7].resolve())


def test_library_ls_never_cuts_a_long_file_name(capsys: pytest.CaptureFixture[str]) -> None:
    from ui.console import print_library

    name = "a_rather_long_recording_of_the_city_council_meeting_about_the_new_bridge_budget_2026.mp4"
    print_library([{"video_id": "0123456789abcdef", "state": "ready", "path": f"/videos/{name}", "duration": 62.0,
                    "segments": 16, "speech_spans": 12, "actors": 3, "scenes": 4}])  # fmt: skip
    assert name in capsys.readouterr().out


def test_unknown_videos_and_empty_queries_are_clear_errors(library: tuple[Settings, list[Path]]) -> None:
    settings, _ = library
    memory = Library(settings)
    with pytest.raises(InvalidRequest, match="no such video"):
        memory.search("bridge", videos=["nothing-like-this"])
    with pytest.raises(InvalidRequest, match="empty"):
        memory.search("   ")
