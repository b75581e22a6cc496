"""Everyday objects (COCO classes) with the converted CenterNet TFLite: on scikit-image photos it finds what is
there (a cup on the coffee photo, the astronaut, the cameraman, the motorcycle) with boxes where the objects are,
and the expectations are the model's real behaviour (it calls Chelsea the cat a dog); on the hand-labelled images of
benchmarks/object_detectors.py it hits 29 of the 36 boxes. The model is built by `make setup`
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


def test_hits_the_hand_labelled_objects_of_the_detector_benchmark(detector: ObjectDetector) -> None:
    """The runtime detector (its threshold and NMS) on the labelled set of benchmarks/object_detectors.py: measured
    29 of 36 objects at IoU >= 0.5 with 2 false classes (rocket: clock, the cat: dog); 3 vtest.avi frames, the
    messi photo come from Debian's opencv-doc."""
    from benchmarks.object_detectors import labelled_images

    images = labelled_images()
    if len(images) < 10:
        pytest.skip("OpenCV's vtest.avi and messi5.jpg (Debian opencv-doc, installed by `make setup`) are missing")
    hits = total = 0
    false: set[str] = set()
    for (name, (image, entry)), found in zip(images.items(), detector.detect([im for im, _ in images.values()])):
        used: set[int] = set()
        for obj in entry["objects"]:
            overlaps = [(iou(obj["box"], box.box), i) for i, box in enumerate(found)
                        if box.label in obj["classes"] and i not in used]  # fmt: skip
            best_iou, index = max(overlaps, default=(0.0, -1))
            hits, used = (hits + 1, used | {index}) if best_iou >= 0.5 else (hits, used)
        total += len(entry["objects"])
        present = {c for obj in entry["objects"] for c in obj["classes"]} | set(entry["ambiguous"])
        false |= {f"{name}:{box.label}" for box in found if box.label not in present}
    assert total == 36 and hits >= 29, (hits, total)
    assert false <= {"rocket:clock", "chelsea:dog"}, false


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
