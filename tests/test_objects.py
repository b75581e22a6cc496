"""Everyday objects (COCO classes) with the converted CenterNet TFLite: on scikit-image photos it finds what is
there (a cup on the coffee photo, the astronaut, the cameraman, the motorcycle) with boxes where the objects are,
and the expectations are the model's real behaviour (it calls Chelsea the cat a dog); on three frames of
OpenCV's vtest.avi it finds most of the hand-labelled walkers. The model is built by `make setup`
(scripts/convert_coco_detector.py); without it these tests skip. A missing or altered model is one clear error.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import skimage.data

from core.errors import ModelUnavailable
from core.settings import Settings
from models.adapters.objects import META_NAME, TFLITE_NAME, ObjectBox, ObjectDetector, load_objects
from models.registry import ModelSpec, objects_folder

VTEST = next(
    (path for pattern in ("opencv*/samples/data/vtest.avi", "doc/opencv*/examples/data/vtest.avi")
     for path in Path("/usr/share").glob(pattern)),
    None,
)  # fmt: skip
HAND_LABELLED_WALKERS = {
    # frame index -> people boxes (x0, y0, x1, y1) labelled by eye on the 768x576 frame
    100: [(349, 200, 383, 275), (374, 179, 411, 256), (423, 179, 451, 258), (494, 148, 519, 220),
          (516, 151, 540, 221), (591, 153, 617, 233), (222, 61, 237, 95)],
    700: [(185, 166, 213, 238), (281, 210, 308, 294), (365, 171, 397, 255), (404, 153, 426, 206),
          (476, 136, 495, 200), (519, 166, 544, 235), (681, 218, 729, 306), (102, 286, 143, 395)],
}  # fmt: skip


def iou(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def rgb(name: str) -> np.ndarray:
    image = skimage.data.stereo_motorcycle()[0] if name == "motorcycle" else getattr(skimage.data, name)()
    return np.ascontiguousarray(np.stack([image] * 3, axis=-1) if image.ndim == 2 else image[..., :3])


@pytest.fixture(scope="module")
def detector() -> ObjectDetector:
    folder = objects_folder()
    if not (folder / TFLITE_NAME).is_file():
        pytest.skip(f"no converted COCO detector in {folder}: `make setup` (make coco-detector) builds it")
    pytest.importorskip("ai_edge_litert", reason="ai-edge-litert runs the objects detector (a dependency)")
    return load_objects(ModelSpec("objects", "offline", str(folder), "CenterNet COCO"), Settings())


@pytest.fixture(scope="module")
def photos(detector: ObjectDetector) -> dict[str, list[ObjectBox]]:
    names = ["coffee", "astronaut", "camera", "motorcycle", "chelsea", "rocket"]
    return dict(zip(names, detector.detect([rgb(name) for name in names])))


def best(found: list[ObjectBox], label: str) -> ObjectBox:
    boxes = [box for box in found if box.label == label]
    assert boxes, f"no {label} among {[(b.label, round(b.confidence, 2)) for b in found]}"
    return max(boxes, key=lambda box: box.confidence)


def test_the_detector_knows_the_80_coco_classes(detector: ObjectDetector) -> None:
    assert len(detector.classes) == 80
    assert detector.classes[:3] == ("person", "bicycle", "car") and detector.classes[41] == "cup"
    assert detector.classes[-1] == "toothbrush"


@pytest.mark.parametrize(
    ("photo", "label", "where"),
    [
        ("coffee", "cup", (172, 18, 408, 308)),
        ("astronaut", "person", (20, 15, 362, 512)),
        ("camera", "person", (0, 63, 332, 512)),
        ("motorcycle", "motorcycle", (92, 17, 685, 449)),
    ],
)
def test_finds_the_object_where_it_is(photos: dict[str, list[ObjectBox]], photo: str, label: str,
                                      where: tuple[int, int, int, int]) -> None:
    found = best(photos[photo], label)
    assert iou(found.box, where) >= 0.6, (found, where)
    assert 0.35 <= found.confidence <= 1.0


def test_boxes_lie_inside_their_frames(photos: dict[str, list[ObjectBox]]) -> None:
    for name, found in photos.items():
        height, width = rgb(name).shape[:2]
        for box in found:
            x0, y0, x1, y1 = box.box
            assert 0 <= x0 < x1 <= width and 0 <= y0 < y1 <= height, (name, box)


def test_the_cat_is_found_but_called_a_dog(photos: dict[str, list[ObjectBox]]) -> None:
    """Measured, not wished for: this model's best guess for Chelsea is `dog` (0.48; `cat` scores 0.20)."""
    (found,) = [box for box in photos["chelsea"] if box.label in ("cat", "dog")]
    assert iou(found.box, (0, 0, 395, 300)) >= 0.8


def test_no_person_or_vehicle_on_the_rocket_photo(photos: dict[str, list[ObjectBox]]) -> None:
    labels = {box.label for box in photos["rocket"]}
    assert not labels & {"person", "car", "truck", "bus", "airplane", "train"}, labels


def test_one_cup_not_a_stack_of_duplicates(photos: dict[str, list[ObjectBox]]) -> None:
    assert [box.label for box in photos["coffee"]].count("cup") == 1


def test_a_batch_finds_what_single_frames_find(detector: ObjectDetector) -> None:
    frames = [rgb("coffee"), rgb("astronaut")]
    assert detector.detect(frames) == [detector.detect([frame])[0] for frame in frames]
    assert detector.detect([]) == []


@pytest.mark.skipif(VTEST is None, reason="OpenCV's vtest.avi (Debian opencv-doc) is not installed")
def test_finds_most_walkers_on_vtest(detector: ObjectDetector) -> None:
    import cv2

    capture = cv2.VideoCapture(str(VTEST))
    frames = []
    for index in HAND_LABELLED_WALKERS:
        capture.set(cv2.CAP_PROP_POS_FRAMES, index)
        ok, frame = capture.read()
        assert ok
        frames.append(np.ascontiguousarray(frame[..., ::-1]))
    for (index, walkers), found in zip(HAND_LABELLED_WALKERS.items(), detector.detect(frames)):
        people = [box.box for box in found if box.label == "person"]
        hits = sum(any(iou(walker, box) >= 0.5 for box in people) for walker in walkers)
        # measured: 6 of 7 (the one behind the sign is missed) and 8 of 8
        assert hits >= len(walkers) - 1, (index, hits, len(walkers))


def test_rejects_frames_that_are_not_rgb_uint8(detector: ObjectDetector) -> None:
    with pytest.raises(ValueError, match="frame 0"):
        detector.detect([np.zeros((32, 32), np.uint8)])


def test_a_missing_model_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ModelUnavailable, match=str(tmp_path)):
        load_objects(ModelSpec("objects", "offline", str(tmp_path), "CenterNet COCO"), Settings())


def test_an_altered_model_is_one_clear_error(tmp_path: Path) -> None:
    (tmp_path / TFLITE_NAME).write_bytes(b"not the converted model")
    meta = {"class_names": ["person"], "input": {"size": [512, 512]}, "tflite_sha256": "0" * 64}
    (tmp_path / META_NAME).write_text(json.dumps(meta))
    with pytest.raises(ModelUnavailable, match="does not match the sha256"):
        load_objects(ModelSpec("objects", "offline", str(tmp_path), "CenterNet COCO"), Settings())
