"""The agent's tools, called as a model calls them: evidence at the right times, a readable rendering, readable errors.

The narrated sample (offline profile: real tiny.en speech, yolo11n-pose people) checks what the tools
find against what the video is known to contain; a short photo video ingested with the tiny profile
(random captioner and VLM) checks the flow of descriptions and visual questions: stored captions,
on-demand model calls, caching, frames sent.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pytest
from conftest import IngestedSample
from langchain_core.messages import ToolMessage
from langchain_core.tools import BaseTool

import prompts
from core.settings import Settings
from core.types import format_timestamp
from evaluation.photo_scenes import make_photo_video
from memory.ingest.pipeline import ingest_video
from memory.video_memory import VideoMemory
from models.cache import ModelCache
from tools import build_tools
from tools.describe import DESCRIPTIONS
from tools.frames import decode_frames
from tools.timecodes import parse_range, parse_time

WELCOME, BUDGET, MUSEUM, COFFEE = range(4)
TOLERANCE = 1.0


def call(tool: BaseTool, **args: Any) -> ToolMessage:
    """Invoke a tool the way a chat model's tool call does."""
    message = tool.invoke({"type": "tool_call", "name": tool.name, "args": args, "id": "1"})
    assert isinstance(message, ToolMessage)
    return message


@pytest.fixture(scope="module")
def sample_memory(offline_memory: IngestedSample) -> VideoMemory:
    return VideoMemory.for_path(offline_memory.settings, offline_memory.video.path)


@pytest.fixture(scope="module")
def offline_tools(offline_memory: IngestedSample, sample_memory: VideoMemory) -> dict[str, BaseTool]:
    return {tool.name: tool for tool in build_tools(sample_memory, offline_memory.models)}


@pytest.fixture(scope="module")
def tiny_photos(tmp_path_factory: pytest.TempPathFactory) -> tuple[VideoMemory, ModelCache]:
    """8 s of photos (two segments, a shot cut at 4 s) ingested with the tiny profile: captions and a dense caption."""
    directory = tmp_path_factory.mktemp("tiny-tools")
    video = make_photo_video(directory / "photos.mp4", seconds_each=2.0)
    settings = Settings(profile="tiny", device="cpu", data_dir=directory / "data", detector_fps=1.0)
    models = ModelCache.for_settings(settings)
    ingest_video(video.path, settings, models=models)
    return VideoMemory.for_path(settings, video.path), models


def _person_scenes(offline_memory: IngestedSample) -> list[tuple[float, float]]:
    return [(s.t0, s.t1) for s in offline_memory.video.scenes if s.shows_person]


# --- the tool set ---------------------------------------------------------------------------------


def test_read_transcript_gives_a_stretch_of_speech_in_order(offline_tools: dict[str, BaseTool],
                                                            offline_memory: IngestedSample) -> None:  # fmt: skip
    narration = offline_memory.video.narration
    every = call(offline_tools["read_transcript"]).artifact
    assert [round(e.t0) for e in every] == [round(line.t0) for line in narration] or len(every) == len(narration)
    assert all(abs(e.t0 - line.t0) <= TOLERANCE for e, line in zip(every, narration))
    middle = call(offline_tools["read_transcript"], t_range=["0:10", "0:20"])
    assert [e.text for e in middle.artifact] == [every[MUSEUM].text]
    assert call(offline_tools["read_transcript"], max_lines=2).artifact == every[:2]
    silent = call(offline_tools["read_transcript"], t_range=[26, 28])
    assert silent.artifact == [] and "has no speech between 26 s and 28 s" in str(silent.content)
    late = call(offline_tools["read_transcript"], t_range=[40, 50])
    assert late.status == "error" and "past the end" in str(late.content)


def test_tool_set_offers_what_memory_can_answer(offline_tools: dict[str, BaseTool],
                                                tiny_photos: tuple[VideoMemory, ModelCache]) -> None:  # fmt: skip
    assert set(offline_tools) == {
        "search_transcript", "read_transcript", "query_actors", "list_scenes", "describe_segment", "look_at_frames",
        "get_triggers", "search_screen_text", "read_screen_text", "find_objects", "list_objects",
    }, "no CLIP vectors and no captions offline: nothing for search_segments"  # fmt: skip
    memory, models = tiny_photos
    assert "search_segments" in {tool.name for tool in build_tools(memory, models)}
    for tool in offline_tools.values():
        assert tool.response_format == "content_and_artifact" and tool.description
    schema = offline_tools["query_actors"].args_schema.model_json_schema()  # type: ignore[union-attr]
    assert schema["properties"]["ask"]["enum"] == [
        "who", "when", "with_whom", "first_meeting", "trajectory", "said", "speakers"
    ]  # fmt: skip
    assert {"actor", "other", "at", "t_range", "label", "t0", "t1"} <= set(schema["properties"])


def test_times_are_seconds_or_clock_strings() -> None:
    assert parse_time(75) == 75.0 and parse_time("75.5") == 75.5 and parse_time("12s") == 12.0
    assert parse_time("1:15") == 75.0 and parse_time("[00:30]") == 30.0 and parse_time("1:02:03.5") == 3723.5
    assert parse_range("0:10-0:20") == (10.0, 20.0) == parse_range([10, "00:20"]) == parse_range({"t0": 10, "t1": 20})
    for bad in ("-3", "soon", "1:75", True, None):
        with pytest.raises(ValueError):
            parse_time(bad)
    with pytest.raises(ValueError, match="ends before it starts"):
        parse_range("0:20-0:10")


# --- speech ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "line"),
    [
        ("harbor tour welcome", WELCOME),
        ("bridge budget", BUDGET),
        ("astronaut museum", MUSEUM),
        ("coffee in the garden", COFFEE),
    ],
)
def test_search_transcript_finds_each_line_at_its_time(
    offline_tools: dict[str, BaseTool], offline_memory: IngestedSample, query: str, line: int
) -> None:
    truth = offline_memory.video.narration[line]
    message = call(offline_tools["search_transcript"], query=query, top_k=2)
    best = message.artifact[0]
    assert best.kind == "transcript" and best.source == "search_transcript"
    assert abs(best.t0 - truth.t0) <= TOLERANCE and abs(best.t1 - truth.t1) <= TOLERANCE
    first_line = message.content.splitlines()[0]
    assert first_line.startswith(f'[{format_timestamp(best.t0)}-{format_timestamp(best.t1)}] said: "')
    assert best.text in first_line


def test_search_transcript_filters_by_time_range_in_any_notation(
    offline_tools: dict[str, BaseTool], offline_memory: IngestedSample
) -> None:
    both = call(offline_tools["search_transcript"], query="tour").artifact
    assert len(both) == 2, "'tour' is said at the start and at the end"
    ranges: list[Any] = [[15, 28], "0:15-0:28", {"t0": "00:15", "t1": 28.0}]
    results = [call(offline_tools["search_transcript"], query="tour", t_range=r).artifact for r in ranges]
    assert results[0] == results[1] == results[2]
    assert len(results[0]) == 1 and abs(results[0][0].t0 - offline_memory.video.narration[COFFEE].t0) <= TOLERANCE


def test_absent_speech_is_nothing_found(offline_tools: dict[str, BaseTool]) -> None:
    message = call(offline_tools["search_transcript"], query="penguins on the ice")
    assert message.content == "nothing found" and message.artifact == []
    assert message.status == "success"


# --- people ----------------------------------------------------------------------------------------


def test_the_old_who_call_still_lists_both_people(
    offline_tools: dict[str, BaseTool], offline_memory: IngestedSample
) -> None:
    people = call(offline_tools["query_actors"], label="person").artifact
    assert [e.kind for e in people] == ["actor", "actor"]
    for evidence, (t0, t1) in zip(people, _person_scenes(offline_memory)):
        assert abs(evidence.t0 - t0) <= TOLERANCE and abs(evidence.t1 - t1) <= TOLERANCE
    late = call(offline_tools["query_actors"], label="person", t0=15, t1=30)
    assert len(late.artifact) == 1 and "actor 2" in late.content, "t0/t1 still mean 'who in this range'"


def test_who_is_on_screen_at_a_moment(offline_tools: dict[str, BaseTool], offline_memory: IngestedSample) -> None:
    first, second = _person_scenes(offline_memory)
    at_ten = call(offline_tools["query_actors"], ask="who", at="0:10")
    assert [e.kind for e in at_ten.artifact] == ["actor"] and "(actor 1)" in at_ten.content
    assert abs(at_ten.artifact[0].t0 - first[0]) <= TOLERANCE and abs(at_ten.artifact[0].t1 - first[1]) <= TOLERANCE
    at_sixteen = call(offline_tools["query_actors"], ask="who", at=16)
    assert "(actor 2)" in at_sixteen.content and abs(at_sixteen.artifact[0].t0 - second[0]) <= TOLERANCE
    nobody = call(offline_tools["query_actors"], ask="who", at="0:25")
    assert [e.kind for e in nobody.artifact] == ["note"]
    assert "no person is on screen at [00:25]" in nobody.content and "actor 1" in nobody.content


def test_when_and_what_is_said_for_the_person_named_by_a_moment(
    offline_tools: dict[str, BaseTool], offline_memory: IngestedSample
) -> None:
    second = _person_scenes(offline_memory)[1]
    when = call(offline_tools["query_actors"], ask="when", at="00:16").artifact
    assert len(when) == 1 and abs(when[0].t0 - second[0]) <= TOLERANCE and abs(when[0].t1 - second[1]) <= TOLERANCE
    assert call(offline_tools["query_actors"], ask="when", actor=2).artifact == when
    for actor, line, word in ((1, BUDGET, "budget"), (2, MUSEUM, "museum")):
        said = call(offline_tools["query_actors"], ask="said", actor=actor)
        # the person is a photo: the line is said while they are on screen, by the narrator, not by them
        assert [e.kind for e in said.artifact] == ["transcript", "note"]
        assert "not the likely speaker" in said.artifact[1].text and "narrator" in said.content
        assert abs(said.artifact[0].t0 - offline_memory.video.narration[line].t0) <= TOLERANCE
        assert word in said.artifact[0].text.lower() and f"while actor {actor} is on screen" in said.content


def test_people_never_together_are_reported_so(offline_tools: dict[str, BaseTool]) -> None:
    alone = call(offline_tools["query_actors"], ask="with_whom", actor=1)
    assert [e.kind for e in alone.artifact] == ["note"] and "never on screen with" in alone.content
    meeting = call(offline_tools["query_actors"], ask="first_meeting", actor=1, other=2)
    assert [e.kind for e in meeting.artifact] == ["note"] and "never on screen together" in meeting.content


def test_trajectory_stays_within_the_appearance(
    offline_tools: dict[str, BaseTool], offline_memory: IngestedSample
) -> None:
    first = _person_scenes(offline_memory)[0]
    path = call(offline_tools["query_actors"], ask="trajectory", actor=1)
    assert len(path.artifact) == 1 and path.content.startswith("[00:0")
    assert first[0] - TOLERANCE <= path.artifact[0].t0 < path.artifact[0].t1 <= first[1] + TOLERANCE
    assert "actor 1" in path.content and "(x 0." in path.content


# --- errors ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "args", "expected"),
    [
        ("query_actors", {"ask": "when", "actor": 7}, "error: unknown actor 7; valid actor ids: 1, 2"),
        ("query_actors", {"ask": "trajectory"}, "needs `actor`"),
        ("query_actors", {"ask": "when", "at": "0:25"}, "no person is on screen at 00:25"),
        ("query_actors", {"ask": "who", "at": "1:30"}, "01:30 (90 s) is past the end of sample.mp4"),
        ("query_actors", {"ask": "teleport"}, "error: invalid arguments: ask:"),
        ("list_scenes", {"video": "nope.mp4"}, "error: unknown video 'nope.mp4'; the videos here are: sample.mp4"),
        ("search_transcript", {"query": "  "}, "error: invalid arguments: query:"),
        ("search_transcript", {"query": "tour", "t_range": "soon-later"}, "error: invalid arguments: t_range:"),
        ("describe_segment", {"t0": "0:08", "t1": 5}, "the span must end after it starts"),
        ("look_at_frames", {"times": list(range(9)), "question": "what?"}, "error: invalid arguments: times:"),
        ("get_triggers", {"t_range": [40, 50]}, "is past the end"),
    ],
)
def test_bad_calls_come_back_as_readable_errors(
    offline_tools: dict[str, BaseTool], name: str, args: dict[str, Any], expected: str
) -> None:
    message = call(offline_tools[name], **args)
    assert message.status == "error" and message.artifact is None
    assert expected in message.content and message.content.startswith("error: ")


# --- scenes and key moments ------------------------------------------------------------------------


def test_list_scenes_tiles_the_video_with_labelled_scenes(
    offline_tools: dict[str, BaseTool], sample_memory: VideoMemory
) -> None:
    scenes = call(offline_tools["list_scenes"], video="sample.mp4").artifact
    assert scenes and all(e.kind == "scene" for e in scenes)
    assert scenes[0].t0 == 0.0 and abs(scenes[-1].t1 - sample_memory.ref.duration) <= TOLERANCE
    assert all(a.t1 == b.t0 for a, b in itertools.pairwise(scenes))
    speech = [span.text for span in sample_memory.transcript()]
    for evidence in scenes:
        label = evidence.text.split(": ", 1)[1].split(" (showing ")[0]  # one scene may span several shots
        assert any(label in text for text in speech), "scene labels come from what is said in them"
    assert scenes[0].text.startswith("scene 0: ") and "Welcome" in scenes[0].text


def test_get_triggers_marks_the_scene_changes(
    offline_tools: dict[str, BaseTool], offline_memory: IngestedSample, sample_memory: VideoMemory
) -> None:
    moments = call(offline_tools["get_triggers"]).artifact
    assert [e.t0 for e in moments] == [t.timestamp for t in sample_memory.triggers()] and moments
    boundaries = [s.t0 for s in offline_memory.video.scenes[1:]]
    assert all(min(abs(e.t0 - b) for b in boundaries) <= TOLERANCE for e in moments)
    assert all("key moment" in line for line in call(offline_tools["get_triggers"]).content.splitlines())
    quiet = call(offline_tools["get_triggers"], t_range=["0:00", "0:05"])
    assert [e.kind for e in quiet.artifact] == ["note"] and "no key moments between 00:00 and 00:05" in quiet.content


# --- descriptions and frames -----------------------------------------------------------------------


def test_without_captioner_or_vlm_the_visual_tools_say_so(offline_tools: dict[str, BaseTool]) -> None:
    described = call(offline_tools["describe_segment"], t0=5, t1="0:08")
    assert [e.kind for e in described.artifact] == ["note"] and (
        described.artifact[0].t0,
        described.artifact[0].t1,
    ) == (5, 8)
    assert "no captioner or vision-language model is available" in described.content
    looked = call(offline_tools["look_at_frames"], times=[3, "0:15"], question="What is on the sign?")
    assert [e.kind for e in looked.artifact] == ["note"] and "no vision-language model is available" in looked.content


def test_describe_segment_returns_the_stored_captions(tiny_photos: tuple[VideoMemory, ModelCache]) -> None:
    memory, models = tiny_photos
    tools = {tool.name: tool for tool in build_tools(memory, models)}
    captions = memory.captions()
    assert captions[1].dense and not captions[0].dense, "the shot cut at 4 s triggers segment 1 only"
    inside_second = call(tools["describe_segment"], t0=5, t1=6).artifact
    assert [(e.kind, e.t0, e.t1, e.text) for e in inside_second] == [("dense_caption", 4.0, 8.0, captions[1].dense)]
    inside_first = call(tools["describe_segment"], t0="0:01", t1="0:03").artifact
    assert [(e.kind, e.t0, e.t1, e.text) for e in inside_first] == [("caption", 0.0, 4.0, captions[0].caption)]
    both = call(tools["describe_segment"], t0=0, t1=8)
    assert len(both.artifact) == 2 and len(both.content.splitlines()) == 2


def test_describe_segment_runs_the_vlm_once_per_span(
    sample_memory: VideoMemory, tiny_photos: tuple[VideoMemory, ModelCache]
) -> None:
    photos, models = tiny_photos
    tools = {tool.name: tool for tool in build_tools([photos, sample_memory], models)}
    hits, misses = DESCRIPTIONS.hits, DESCRIPTIONS.misses
    first = call(tools["describe_segment"], video="sample.mp4", t0=5, t1=8)
    assert [(e.kind, e.t0, e.t1, e.source) for e in first.artifact] == [("dense_caption", 5.0, 8.0, "describe_segment")]
    assert first.artifact[0].text and first.content.startswith("[00:05-00:08] (sample.mp4) description: ")
    again = call(tools["describe_segment"], video=sample_memory.video_id, t0="0:05", t1="00:08")
    assert again.artifact == first.artifact
    assert (DESCRIPTIONS.hits - hits, DESCRIPTIONS.misses - misses) == (1, 1), (
        "the second call is served from the cache"
    )
    call(tools["describe_segment"], video="sample.mp4", t0=9, t1=12)
    assert DESCRIPTIONS.misses - misses == 2, "another span is described anew"


def test_look_at_frames_sends_the_chosen_frames_to_the_vlm(tiny_photos: tuple[VideoMemory, ModelCache]) -> None:
    memory, models = tiny_photos
    tools = {tool.name: tool for tool in build_tools(memory, models)}
    message = call(tools["look_at_frames"], times=["0:05", 1, 1.01], question="What colour is the sky?")
    assert message.content.startswith("looked at 2 frames (00:01, 00:05): [00:01-00:05] description: ")
    (answer,) = message.artifact
    assert (answer.kind, answer.t0, answer.t1, answer.source) == ("dense_caption", 1.0, 5.0, "look_at_frames")
    _, frames = decode_frames(memory, [1.0, 5.0])
    assert [f.shape for f in frames] == [(memory.ref.height, memory.ref.width, 3)] * 2
    prompt = prompts.render("look_at_frames", count=2, times="00:01, 00:05", question="What colour is the sky?")
    direct = models.vlm().complete(prompt, frames, max_tokens=192, temperature=0.0).strip()  # type: ignore[union-attr]
    assert answer.text == direct, "the tool asks the VLM exactly this question about exactly these frames"


def test_search_segments_finds_captions_without_clip(
    offline_memory: IngestedSample, tiny_photos: tuple[VideoMemory, ModelCache]
) -> None:
    memory, tiny_models = tiny_photos
    with_clip = {tool.name: tool for tool in build_tools(memory, tiny_models)}
    visual = call(with_clip["search_segments"], query="a rocket", t_range=[5, 8]).artifact
    assert [(e.kind, e.t0, e.t1) for e in visual] == [("segment", 4.0, 8.0)], "the tiny CLIP ranks segments"
    without_clip = {tool.name: tool for tool in build_tools(memory, offline_memory.models)}
    dense = memory.captions()[1].dense
    found = call(without_clip["search_segments"], query=dense, top_k=1).artifact
    assert [(e.kind, e.t0, e.t1, e.source) for e in found] == [("dense_caption", 4.0, 8.0, "search_segments")]
    assert call(without_clip["search_segments"], query="a rocket").content == "nothing found"


def test_renderings_name_the_video_when_there_are_several(
    offline_memory: IngestedSample, sample_memory: VideoMemory, tiny_photos: tuple[VideoMemory, ModelCache]
) -> None:
    photos, _ = tiny_photos
    tools = {tool.name: tool for tool in build_tools([sample_memory, photos], offline_memory.models)}
    said = call(tools["search_transcript"], query="bridge budget", top_k=1)
    assert said.content.startswith("[00:07-00:10] (sample.mp4) said: ")
    scenes = call(tools["list_scenes"], video=Path(photos.ref.path).name)
    assert all(e.video_id == photos.video_id for e in scenes.artifact) and "(photos.mp4)" in scenes.content
    assert call(tools["query_actors"], video=photos.video_id[:8]).artifact[0].kind == "note", "nobody in the photos"
