"""Dataset rows are data: a row naming a video outside the dataset's folder (or --video-root) is an error
row that is never opened, unless the user passes --allow-outside-paths."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import run_cli

from evaluation.datasets import QAItem, load_dataset
from evaluation.prediction import Prediction
from evaluation.runner import run_evaluation
from evaluation.video_files import VideoIndex, VideoOutsideRoot


@pytest.fixture()
def layout(tmp_path: Path) -> dict[str, Path]:
    """A dataset folder with one video inside, and a private video outside it (beside it and far away)."""
    dataset_dir = tmp_path / "dataset"
    (dataset_dir / "videos").mkdir(parents=True)
    inside = dataset_dir / "videos" / "inside.mp4"
    inside.write_bytes(b"inside")
    private = tmp_path / "private" / "diary.mp4"
    private.parent.mkdir()
    private.write_bytes(b"private")
    return {"dataset_dir": dataset_dir, "inside": inside, "private": private}


def write_rows(path: Path, videos: dict[str, str]) -> Path:
    """A native JSONL set: one open question per (qid, video)."""
    rows = [{"qid": qid, "video": video, "question": "What happens?", "answer": "x"} for qid, video in videos.items()]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def test_the_index_refuses_names_that_leave_its_folder(layout: dict[str, Path]) -> None:
    base = layout["dataset_dir"]
    index = VideoIndex(None, base=base)
    assert index.find("videos/inside.mp4") == base / "videos" / "inside.mp4"
    assert index.find("videos/../videos/inside.mp4") is not None, "'..' that stays inside is fine"
    assert index.find(str(layout["inside"])) == layout["inside"], "an absolute path inside is fine"
    for name in ("../private/diary.mp4", str(layout["private"]), "videos/../../private/diary.mp4"):
        with pytest.raises(VideoOutsideRoot, match="outside .*--allow-outside-paths"):
            index.find(name)
    rooted = VideoIndex(base / "videos")
    assert rooted.find("inside") == layout["inside"]
    with pytest.raises(VideoOutsideRoot):
        rooted.find("../../private/diary.mp4")
    assert VideoIndex(None, base=base, allow_outside=True).find("../private/diary.mp4") is not None


@pytest.mark.parametrize("workers", [1, 2])
def test_rows_outside_the_dataset_folder_are_error_rows_never_opened(
    layout: dict[str, Path], tmp_path: Path, workers: int
) -> None:
    dataset = load_dataset(write_rows(layout["dataset_dir"] / "qa.jsonl", {
        "in": "videos/inside.mp4",
        "up": "../private/diary.mp4",
        "abs": str(layout["private"]),
    }))  # fmt: skip
    opened: list[Path] = []

    def answer(video: Path, item: QAItem) -> Prediction:
        opened.append(video)
        return Prediction(text=video.read_text())

    result = run_evaluation(dataset, answer, tmp_path / "run", workers=workers)
    rows = {row["qid"]: row for row in result.rows}
    assert opened == [layout["dataset_dir"] / "videos" / "inside.mp4"]
    assert rows["in"]["status"] == "ok" and rows["in"]["prediction"] == "inside"
    for qid in ("up", "abs"):
        assert rows[qid]["status"] == "error" and rows[qid]["prediction"] is None and rows[qid]["video_path"] is None
        assert "outside" in rows[qid]["error"] and "--allow-outside-paths" in rows[qid]["error"]
    assert result.errors == 2

    allowed = run_evaluation(dataset, answer, tmp_path / "allowed", workers=workers, allow_outside_paths=True)
    predictions = {row["qid"]: row["prediction"] for row in allowed.rows}
    assert predictions == {"in": "inside", "up": "private", "abs": "private"}


def test_video_root_confines_rows_to_it(layout: dict[str, Path], tmp_path: Path) -> None:
    dataset = load_dataset(write_rows(tmp_path / "qa.jsonl", {"in": "inside", "out": "../../private/diary.mp4"}))
    result = run_evaluation(dataset, lambda video, item: Prediction(text=video.read_text()), tmp_path / "run",
                            video_root=layout["dataset_dir"] / "videos")  # fmt: skip
    statuses = {row["qid"]: (row["status"], row["prediction"]) for row in result.rows}
    assert statuses == {"in": ("ok", "inside"), "out": ("error", None)}


def test_cli_eval_refuses_a_row_outside_the_dataset_folder(layout: dict[str, Path], tmp_path: Path) -> None:
    qa = write_rows(layout["dataset_dir"] / "qa.jsonl", {"up": "../private/diary.mp4"})
    result = run_cli("eval", str(qa), "--out", str(tmp_path / "run"), "--quiet", "--data-dir", str(tmp_path / "data"),
                     "--profile", "offline", timeout=120)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "0 answered now" in result.stdout and "1 errors" in result.stdout
    row = json.loads((tmp_path / "run" / "results.jsonl").read_text())
    assert row["status"] == "error" and row["prediction"] is None and "--allow-outside-paths" in row["error"]
    assert "--allow-outside-paths" in run_cli("eval", "--help").stdout
