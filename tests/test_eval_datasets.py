"""QA dataset loaders read each published format as it is published, and auto-detection tells them apart."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from core.errors import InvalidRequest
from evaluation.datasets import (
    detect_format,
    load_activitynet,
    load_dataset,
    load_egoschema,
    load_msrvtt,
    load_native,
    load_nextqa,
    load_videomme,
    write_native,
)
from evaluation.video_files import VideoIndex, resolve_video

NEXTQA_HEADER = [
    "video",
    "frame_count",
    "width",
    "height",
    "question",
    "answer",
    "qid",
    "type",
    "a0",
    "a1",
    "a2",
    "a3",
    "a4",
]
VIDEOMME_VIDEO = {
    "video_id": "001",
    "duration": "short",
    "domain": "Knowledge",
    "sub_category": "Humanity & History",
    "url": "https://www.youtube.com/watch?v=fFjv93ACGo8",
    "videoID": "fFjv93ACGo8",
}
"""The video fields every Video-MME row of one video repeats."""
VIDEOMME_ROWS = [
    VIDEOMME_VIDEO | {
        "question_id": "001-1",
        "task_type": "Counting Problem",
        "question": "When demonstrating the Germany modern Christmas tree is initially decorated with apples, candles and berries, which kind of the decoration has the largest number?",
        "options": ["A. Apples.", "B. Candles.", "C. Berries.", "D. The three kinds are of the same number."],
        "answer": "C",
    },
    VIDEOMME_VIDEO | {
        "question_id": "001-2",
        "task_type": "Information Synopsis",
        "question": "What is the genre of this video?",
        "options": [
            "A. It is a news report.",
            "B. It is a documentary.",
            "C. It is a music video.",
            "D. It is a cartoon.",
        ],
        "answer": "B",
    },
]


def write_json(path: Path, data: object) -> Path:
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


@pytest.fixture
def native_file(tmp_path: Path) -> Path:
    rows = [
        {"video": "clips/a.mp4", "question": "What colour is the car?", "answer": "red", "type": "color", "qid": "q1"},
        {"video": "b", "question": "Which animal runs?", "options": ["cat", "dog", "horse"], "answer": 2},
        {
            "video": "b",
            "question": "What is held?",
            "options": ["A cup", "a pen"],
            "answer": "a cup",
            "accept": [],
            "split": "val",
        },
    ]
    path = tmp_path / "qa.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n\n", encoding="utf-8")
    return path


@pytest.fixture
def nextqa_file(tmp_path: Path) -> Path:
    path = tmp_path / "val.csv"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(NEXTQA_HEADER)
        writer.writerow(
            [
                "4010069381",
                "369",
                "640",
                "480",
                "how do the two man play the instrument",
                "0",
                "6",
                "CH",
                "roll the handle",
                "tap their feet",
                "strum the string",
                "hit with sticks",
                "pat with hand",
            ]
        )
        writer.writerow(
            [
                "4010069381",
                "369",
                "640",
                "480",
                "why did the boy stand up",
                "3",
                "7",
                "CW",
                "to dance",
                "to leave",
                "to eat",
                "to see better",
                "to sing",
            ]
        )
        writer.writerow(
            [
                "3370366914",
                "2400",
                "640",
                "360",
                "what does the lady do after she falls",
                "4",
                "6",
                "TN",
                "cries",
                "runs",
                "sleeps",
                "laughs",
                "stands up",
            ]
        )
    return path


@pytest.fixture
def msrvtt_file(tmp_path: Path) -> Path:
    rows = [
        {"answer": "man", "id": 158581, "question": "who is talking about a program?", "video_id": 7010},
        {"answer": "cook", "id": 158582, "question": "what is a woman doing?", "video_id": 7011},
        {"answer": "stage", "id": 158583, "question": "where are people dancing?", "video_id": 7011},
    ]
    return write_json(tmp_path / "test_qa.json", rows)


@pytest.fixture
def egoschema_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "egoschema"
    folder.mkdir()
    questions = [
        {
            "q_uid": "0074f737-11cb-497d-8d07-77c3a8127391",
            "google_drive_id": "1abc",
            "question": "What is the overarching theme of c's actions?",
            "option 0": "cleaning",
            "option 1": "cooking a meal",
            "option 2": "repairing a bike",
            "option 3": "gardening",
            "option 4": "painting",
        },
        {
            "q_uid": "00b9a0de-c59e-49cb-a127-6081e2fb8c8e",
            "google_drive_id": "1abd",
            "question": "What tool does c use most?",
            "option 0": "a knife",
            "option 1": "a hammer",
            "option 2": "a brush",
            "option 3": "a spoon",
            "option 4": "a saw",
        },
        {
            "q_uid": "unanswered-1",
            "google_drive_id": "1abe",
            "question": "Why does c stop?",
            "option 0": "tired",
            "option 1": "done",
            "option 2": "called",
            "option 3": "hungry",
            "option 4": "bored",
        },
    ]
    write_json(folder / "questions.json", questions)
    write_json(
        folder / "subset_answers.json",
        {"0074f737-11cb-497d-8d07-77c3a8127391": 1, "00b9a0de-c59e-49cb-a127-6081e2fb8c8e": 4},
    )
    return folder


@pytest.fixture
def activitynet_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "activitynet"
    folder.mkdir()
    write_json(
        folder / "test_q.json",
        [
            {
                "video_name": "sMUL_ANF3o0",
                "question_id": "v_sMUL_ANF3o0_1",
                "question": "is the person in the video indoors",
            },
            {"video_name": "v_Zk8JQSJMJ0c", "question_id": "v_Zk8JQSJMJ0c_4", "question": "what color is the ball"},
            {"video_name": "Q0TKH6yZZxY", "question_id": "v_Q0TKH6yZZxY_2", "question": "how many people are there"},
            {"video_name": "noanswer", "question_id": "v_noanswer_0", "question": "what happens"},
        ],
    )
    write_json(
        folder / "test_a.json",
        [
            {"answer": "yes", "type": 3, "question_id": "v_sMUL_ANF3o0_1"},
            {"answer": "white", "type": 4, "question_id": "v_Zk8JQSJMJ0c_4"},
            {"answer": "2", "type": 11, "question_id": "v_Q0TKH6yZZxY_2"},
        ],
    )
    return folder


def test_native_jsonl(native_file: Path) -> None:
    dataset = load_native(native_file)
    first, second, third = dataset.items
    assert (first.qid, first.video, first.question, first.answer, first.type) == (
        "q1",
        "clips/a.mp4",
        "What colour is the car?",
        "red",
        "color",
    )
    assert first.options is None and first.answer_index is None
    assert second.qid == "2" and second.options == ["cat", "dog", "horse"]
    assert (second.answer, second.answer_index) == ("horse", 2)
    assert (third.answer, third.answer_index, third.extra) == ("A cup", 0, {"split": "val"})
    assert dataset.format == "native"


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('{"video": "a", "question": "q?"}', "'answer'"),
        ('{"video": "a", "question": "q?", "options": ["x", "y"], "answer": 5}', "outside the 2 options"),
        ('{"video": "a", "question": "q?", "options": ["x", "y"], "answer": "z"}', "none of the options"),
        ('{"video": "a", "question": "", "answer": "x"}', "'question'"),
        ('{"video": "a", "question": "q?", "answer": "x"', "not valid JSON"),
        ('["video"]', "expected a JSON object"),
    ],
)
def test_native_bad_line_names_file_and_line(tmp_path: Path, line: str, message: str) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"video": "a", "question": "fine?", "answer": "yes"}\n' + line + "\n")
    with pytest.raises(InvalidRequest) as caught:
        load_native(path)
    assert f"{path}:2:" in str(caught.value) and message in str(caught.value)


def test_native_duplicate_qid_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "dup.jsonl"
    path.write_text('{"qid": "x", "video": "a", "question": "q?", "answer": "a"}\n' * 2)
    with pytest.raises(InvalidRequest, match=r"dup.jsonl:2: question id 'x' appears twice"):
        load_native(path)


def test_native_round_trip(native_file: Path, tmp_path: Path) -> None:
    items = load_native(native_file).items
    out = tmp_path / "again" / "copy.jsonl"
    assert write_native(items, out) == 3
    assert load_native(out).items == items


def test_nextqa_csv(nextqa_file: Path) -> None:
    items = load_nextqa(nextqa_file).items
    assert [item.qid for item in items] == ["4010069381_6", "4010069381_7", "3370366914_6"]
    first = items[0]
    assert first.video == "4010069381" and first.question == "how do the two man play the instrument"
    assert first.options == [
        "roll the handle",
        "tap their feet",
        "strum the string",
        "hit with sticks",
        "pat with hand",
    ]
    assert (first.answer_index, first.answer, first.type) == (0, "roll the handle", "CH")
    assert first.extra == {"frame_count": "369", "width": "640", "height": "480"}
    assert (items[2].answer, items[2].type) == ("stands up", "TN")


def test_nextqa_bad_answer_names_line(tmp_path: Path) -> None:
    path = tmp_path / "val.csv"
    path.write_text(",".join(NEXTQA_HEADER) + "\n1,2,3,4,why,9,0,CW,a,b,c,d,e\n")
    with pytest.raises(InvalidRequest, match=r"val.csv:2: answer index 9"):
        load_nextqa(path)


def test_msrvtt_json(msrvtt_file: Path) -> None:
    items = load_msrvtt(msrvtt_file).items
    assert [(i.qid, i.video, i.answer, i.type) for i in items] == [
        ("158581", "video7010", "man", "who"),
        ("158582", "video7011", "cook", "what"),
        ("158583", "video7011", "stage", "where"),
    ]
    assert all(item.options is None for item in items)


def test_egoschema_skips_unanswered(egoschema_dir: Path) -> None:
    for path in (egoschema_dir, egoschema_dir / "questions.json", egoschema_dir / "subset_answers.json"):
        dataset = load_egoschema(path)
        assert [item.qid for item in dataset.items] == [
            "0074f737-11cb-497d-8d07-77c3a8127391",
            "00b9a0de-c59e-49cb-a127-6081e2fb8c8e",
        ]
        assert dataset.skipped == 1 and "1 skipped (no answer in subset_answers.json)" in dataset.describe()
    first, second = load_egoschema(egoschema_dir).items
    assert first.video == first.qid and first.options[1] == "cooking a meal"
    assert (first.answer_index, first.answer) == (1, "cooking a meal")
    assert (second.answer_index, second.answer) == (4, "a saw")
    assert first.extra == {"google_drive_id": "1abc"}


def test_egoschema_without_answers_says_so(tmp_path: Path, egoschema_dir: Path) -> None:
    lone = tmp_path / "lone" / "questions.json"
    lone.parent.mkdir()
    lone.write_bytes((egoschema_dir / "questions.json").read_bytes())
    with pytest.raises(InvalidRequest, match="no subset_answers.json beside it"):
        load_egoschema(lone)


def test_videomme_json(tmp_path: Path) -> None:
    items = load_videomme(write_json(tmp_path / "videomme.json", VIDEOMME_ROWS)).items
    first, second = items
    assert (first.qid, first.video, first.type) == ("001-1", "fFjv93ACGo8", "Counting Problem")
    assert first.options == ["Apples.", "Candles.", "Berries.", "The three kinds are of the same number."]
    assert (first.answer_index, first.answer) == (2, "Berries.")
    assert (second.answer_index, second.answer) == (1, "It is a documentary.")
    assert first.extra["duration"] == "short" and first.extra["domain"] == "Knowledge"


def test_videomme_parquet(tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    path = tmp_path / "test-00000-of-00001.parquet"
    pq.write_table(pa.Table.from_pylist(VIDEOMME_ROWS), path)
    assert detect_format(path) == "videomme"
    items = load_dataset(path).items
    assert [i.qid for i in items] == ["001-1", "001-2"]
    assert items[0].options[3] == "The three kinds are of the same number." and items[0].answer_index == 2


def test_activitynet_pair(activitynet_dir: Path) -> None:
    for path in (activitynet_dir, activitynet_dir / "test_q.json", activitynet_dir / "test_a.json"):
        dataset = load_activitynet(path)
        assert [(i.qid, i.video, i.answer, i.type) for i in dataset.items] == [
            ("v_sMUL_ANF3o0_1", "v_sMUL_ANF3o0", "yes", "yes/no"),
            ("v_Zk8JQSJMJ0c_4", "v_Zk8JQSJMJ0c", "white", "color"),
            ("v_Q0TKH6yZZxY_2", "v_Q0TKH6yZZxY", "2", "11"),
        ]
        assert dataset.skipped == 1


def test_auto_detection(
    native_file: Path, nextqa_file: Path, msrvtt_file: Path, egoschema_dir: Path, activitynet_dir: Path, tmp_path: Path
) -> None:
    videomme = write_json(tmp_path / "videomme.json", VIDEOMME_ROWS)
    native_json = write_json(tmp_path / "native.json", [{"video": "a.mp4", "question": "q?", "answer": "x"}])
    expected = {
        native_file: ("native", "vidsage QA JSONL"),
        native_json: ("native", "vidsage QA JSONL"),
        nextqa_file: ("nextqa", "NExT-QA multiple-choice CSV"),
        msrvtt_file: ("msrvtt", "MSRVTT-QA JSON"),
        egoschema_dir: ("egoschema", "EgoSchema questions + subset answers"),
        egoschema_dir / "questions.json": ("egoschema", "EgoSchema questions + subset answers"),
        egoschema_dir / "subset_answers.json": ("egoschema", "EgoSchema questions + subset answers"),
        videomme: ("videomme", "Video-MME json"),
        activitynet_dir: ("activitynet", "ActivityNet-QA questions + answers"),
        activitynet_dir / "test_q.json": ("activitynet", "ActivityNet-QA questions + answers"),
    }
    for path, (fmt, title) in expected.items():
        dataset = load_dataset(path)
        assert (dataset.format, dataset.title) == (fmt, title), path
        assert dataset.describe().startswith(f"{title} ({fmt}): {len(dataset)} questions from ")


def test_explicit_format_and_errors(msrvtt_file: Path, tmp_path: Path) -> None:
    assert load_dataset(msrvtt_file, "MSRVTT-QA").format == "msrvtt"
    with pytest.raises(InvalidRequest, match="unknown dataset format 'kinetics'; use auto or one of native, nextqa"):
        load_dataset(msrvtt_file, "kinetics")
    with pytest.raises(InvalidRequest, match="no such dataset"):
        load_dataset(tmp_path / "nope.json")
    odd = write_json(tmp_path / "odd.json", [{"clip": 1, "text": "hello"}])
    with pytest.raises(InvalidRequest, match="cannot tell the dataset format from the keys clip, text; pass --format"):
        load_dataset(odd)
    (tmp_path / "other.csv").write_text("a,b\n1,2\n")
    with pytest.raises(InvalidRequest, match="without NExT-QA's columns"):
        load_dataset(tmp_path / "other.csv")


def test_resolve_video(tmp_path: Path) -> None:
    root = tmp_path / "videos"
    for name in (
        "clips/a.mp4",
        "nextqa/1164/4010069381.mp4",
        "video7010.mp4",
        "v_abc.mkv",
        "fFjv93ACGo8.webm",
        "fFjv93ACGo8.mp4",
        "notes.txt",
    ):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(b"x")
    index = VideoIndex(root)
    assert index.find("clips/a.mp4") == root / "clips/a.mp4"
    assert index.find("4010069381") == root / "nextqa/1164/4010069381.mp4"
    assert index.find("7010") == root / "video7010.mp4"
    assert index.find("video7010") == root / "video7010.mp4"
    assert index.find("abc") == root / "v_abc.mkv"
    assert index.find("fFjv93ACGo8") == root / "fFjv93ACGo8.mp4"
    assert index.find("a.avi") == root / "clips/a.mp4"
    assert index.find("notes") is None and index.find("missing") is None
    items = load_dataset(write_json(tmp_path / "qa.json", [{"video": "7010", "question": "q?", "answer": "x"}])).items
    assert resolve_video(items[0], root) == root / "video7010.mp4"
    assert resolve_video(items[0], tmp_path / "elsewhere") is None


def test_video_index_walks_the_root_once(tmp_path: Path) -> None:
    (tmp_path / "one.mp4").write_bytes(b"x")
    index = VideoIndex(tmp_path)
    assert index.find("one") == tmp_path / "one.mp4"
    (tmp_path / "two.mp4").write_bytes(b"x")
    assert index.find("two") is None
    assert VideoIndex(tmp_path).find("two") == tmp_path / "two.mp4"
