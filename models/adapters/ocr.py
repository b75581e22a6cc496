"""On-screen text reader: PP-OCR text detection and recognition (rapidocr-onnxruntime's ONNX models) over frames.

Detection runs per frame (frames differ in size); every line crop of the whole batch then goes through the
recogniser together, in batches of equal padded width, so a line reads the same whatever else is in the batch.
onnxruntime only: no torch. Angle classification is off (video text is upright).
"""

from __future__ import annotations

import functools
import itertools
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from core.errors import ModelUnavailable
from core.settings import Settings
from models.device import available_cores
from models.registry import ModelSpec

if TYPE_CHECKING:
    from rapidocr_onnxruntime.ch_ppocr_det import TextDetector
    from rapidocr_onnxruntime.ch_ppocr_rec import TextRecognizer

MIN_CONFIDENCE = 0.6
"""Lines the recogniser is less sure of are dropped. Measured on evaluation/text_cards.py frames: correct reads of
printed lines (8-64 px) score 0.91-0.99; on 78 text-free photo frames the detector's false alarms read as 1-4 junk
characters, 19 of 20 below 0.6 (max 0.70); JPEG/blur-degraded small text misreads usefully at 0.6-0.9."""
REC_BATCH = 32
"""Line crops per recogniser call."""
WIDTH_STEP = 2.0
"""Crops are padded to the next multiple of this aspect ratio (96 px at the recogniser's 48 px height) and
batched with crops of the same padded width: the recogniser's attention sees the padding, so padding to the
widest crop of a batch (as TextRecognizer does) would make a line's reading depend on its batch mates."""
MAX_SIDE = 2000
SPACE_EVIDENCE = 0.002
"""Least probability of the space class between two letters for a space the recogniser did not emit, where the
gap is also at least the line's median letter spacing: 0.003-0.44 at real word gaps (narrow Hershey titles at the
low end), at most 0.0002 between the letters of one word (measured on generated cards and the sample's titles)."""
"""Frames longer than this are shrunk for detection (as RapidOCR does); crops still come from the full frame."""
_RAPIDOCR_LOGGERS = ("RapidOCR", "OrtInferSession")
_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TextBox:
    """One line of text read on a frame: the text, its axis-aligned box and the recogniser's confidence."""

    text: str
    box: tuple[float, float, float, float]
    """x0, y0, x1, y1 in pixels of the frame given."""
    confidence: float
    """Recognition confidence, 0..1."""


class TextReader:
    """Reads the lines of text on RGB frames, batch-first; load with `load_ocr`."""

    def __init__(self, spec: ModelSpec, detector: TextDetector, recognizer: TextRecognizer,
                 min_confidence: float = MIN_CONFIDENCE) -> None:
        self.spec = spec
        self.min_confidence = min_confidence
        self._detector = detector
        self._recognizer = recognizer

    def read(self, frames: Sequence[np.ndarray]) -> list[list[TextBox]]:
        """The text lines of each RGB uint8 (H, W, 3) frame, in reading order (top to bottom, then left to right)."""
        quads: list[tuple[int, np.ndarray]] = []
        crops: list[np.ndarray] = []
        for index, frame in enumerate(frames):
            if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
                raise ValueError(f"frame {index}: expected RGB uint8 (H, W, 3), got {frame.dtype} {frame.shape}")
            bgr = np.ascontiguousarray(frame[..., ::-1])  # the PP-OCR models were trained on BGR (cv2) images
            for quad in self._detect(bgr):
                quads.append((index, quad))
                crops.append(_crop(bgr, quad))
        lines: list[list[TextBox]] = [[] for _ in frames]
        for (index, quad), (text, confidence) in zip(quads, self._recognise(crops)):
            if text and confidence >= self.min_confidence:
                x0, y0 = quad.min(axis=0)
                x1, y1 = quad.max(axis=0)
                lines[index].append(TextBox(text, (float(x0), float(y0), float(x1), float(y1)), confidence))
        return [reading_order(found) for found in lines]

    def _detect(self, bgr: np.ndarray) -> list[np.ndarray]:
        """Text-line quadrilaterals (4, 2) float32 in the frame's pixels; large frames are detected shrunk."""
        import cv2

        height, width = bgr.shape[:2]
        scale = min(1.0, MAX_SIDE / max(height, width))
        image = bgr if scale == 1.0 else cv2.resize(bgr, (round(width * scale), round(height * scale)),
                                                    interpolation=cv2.INTER_AREA)
        boxes, _ = self._detector(image)
        if boxes is None or len(boxes) == 0:
            return []
        return [np.asarray(box, np.float32) / np.float32(scale) for box in boxes]

    def _recognise(self, crops: list[np.ndarray]) -> list[tuple[str, float]]:
        """(text, confidence) per BGR line crop, through rapidocr's recogniser in batches of one padded width."""
        recognizer = self._recognizer
        _, height, width = recognizer.rec_image_shape
        least = width / height
        ratios = [max(least, math.ceil(c.shape[1] / c.shape[0] / WIDTH_STEP) * WIDTH_STEP) for c in crops]
        results: list[tuple[str, float]] = [("", 0.0)] * len(crops)
        order = sorted(range(len(crops)), key=ratios.__getitem__)
        for ratio, group in itertools.groupby(order, key=ratios.__getitem__):
            members = list(group)
            for start in range(0, len(members), REC_BATCH):
                chunk = members[start : start + REC_BATCH]
                batch = np.stack([recognizer.resize_norm_img(crops[i], ratio) for i in chunk]).astype(np.float32)
                preds = recognizer.session(batch)[0]
                for i, decoded, pred in zip(chunk, recognizer.postprocess_op(preds), preds):
                    text = with_word_gaps(str(decoded[0]), pred, recognizer.postprocess_op.character)
                    results[i] = (text.strip(), float(decoded[1]))
        return results


def with_word_gaps(text: str, pred: np.ndarray, characters: Sequence[str], least: float = SPACE_EVIDENCE) -> str:
    """`text` with the spaces the recogniser saw but did not emit: PP-OCRv4's Chinese+English model often drops the
    space between English words ("MAINSTREET"), yet the space class rises in the gap (see SPACE_EVIDENCE).
    `pred` is the line's (steps, classes) output."""
    space = len(characters) - 1
    if characters[space] != " ":
        return text
    steps = pred.argmax(axis=1)
    emitted = [(int(c), t) for t, c in enumerate(steps) if c != 0 and (t == 0 or steps[t - 1] != c)]
    if "".join(characters[c] for c, _ in emitted) != text:
        return text  # not the greedy decoding we know how to read
    letters = [t for c, t in emitted if c != space]
    spacing = float(np.median(np.diff(letters))) if len(letters) > 2 else 0.0
    out: list[str] = []
    for (c, t), following in zip(emitted, [*emitted[1:], None]):
        out.append(characters[c])
        if following is None or c == space or following[0] == space or following[1] - t < max(spacing, 2.0):
            continue
        if float(pred[t + 1 : following[1], space].max()) >= least:
            out.append(" ")
    return "".join(out)


def reading_order(lines: list[TextBox]) -> list[TextBox]:
    """Top to bottom, then left to right: lines whose vertical centres fall within the first line's height
    of a row are one row, sorted by x."""
    rows: list[list[TextBox]] = []
    for line in sorted(lines, key=lambda b: (b.box[1] + b.box[3]) / 2):
        centre = (line.box[1] + line.box[3]) / 2
        if rows and rows[-1][0].box[1] <= centre <= rows[-1][0].box[3]:
            rows[-1].append(line)
        else:
            rows.append([line])
    return [line for row in rows for line in sorted(row, key=lambda b: b.box[0])]


def _crop(image: np.ndarray, quad: np.ndarray) -> np.ndarray:
    """The quadrilateral's content warped upright (as RapidOCR crops); tall crops are turned to lie flat."""
    import cv2

    width = int(max(np.linalg.norm(quad[0] - quad[1]), np.linalg.norm(quad[2] - quad[3])))
    height = int(max(np.linalg.norm(quad[0] - quad[3]), np.linalg.norm(quad[1] - quad[2])))
    width, height = max(width, 1), max(height, 1)
    target = np.array([[0, 0], [width, 0], [width, height], [0, height]], np.float32)
    matrix = cv2.getPerspectiveTransform(quad.astype(np.float32), target)
    crop = cv2.warpPerspective(image, matrix, (width, height), borderMode=cv2.BORDER_REPLICATE,
                               flags=cv2.INTER_CUBIC)
    return np.rot90(crop) if height / width >= 1.5 else crop


def model_files(folder: Path) -> tuple[Path, Path]:
    """The detection and recognition ONNX models (`*det*.onnx`, `*rec*.onnx`) in a folder; one clear
    ModelUnavailable naming the folder when either is missing."""
    if not folder.is_dir():
        raise ModelUnavailable(f"{folder}: not a folder of PP-OCR models (expected *det*.onnx and *rec*.onnx)")
    found = []
    for kind, what in (("det", "text detection"), ("rec", "text recognition")):
        matches = sorted(folder.glob(f"*{kind}*.onnx"))
        if not matches:
            raise ModelUnavailable(f"{folder}: no PP-OCR {what} model (*{kind}*.onnx) in this folder")
        found.append(matches[-1])
    return found[0], found[1]


def _use_cuda(settings: Settings) -> bool:
    """CUDA when onnxruntime has its CUDA provider and the settings allow it; asking for CUDA without it warns."""
    import onnxruntime

    if settings.device == "cpu":
        return False
    available = "CUDAExecutionProvider" in onnxruntime.get_available_providers()
    if settings.device == "cuda" and not available:
        _warn_no_cuda()
    return available


@functools.cache
def _warn_no_cuda() -> None:
    _log.warning("device 'cuda' requested but onnxruntime has no CUDA provider: reading text on the CPU")


def _quiet_rapidocr() -> None:
    """rapidocr's loggers print DEBUG to their own stderr handler: send WARNING and up to ours instead."""
    from rapidocr_onnxruntime.utils import get_logger

    for name in _RAPIDOCR_LOGGERS:
        logger = get_logger(name)  # cached by rapidocr: later calls return this same, now quiet, logger
        logger.handlers.clear()
        logger.setLevel(logging.WARNING)


def load_ocr(spec: ModelSpec, settings: Settings) -> TextReader:
    """Build the PP-OCR detector and recogniser from the spec's folder, on CUDA when onnxruntime can, else on
    the CPU with one intra-op thread per available core."""
    folder = Path(spec.location).expanduser()
    det_path, rec_path = model_files(folder)
    try:
        from rapidocr_onnxruntime.ch_ppocr_det import TextDetector
        from rapidocr_onnxruntime.ch_ppocr_rec import TextRecognizer
        from rapidocr_onnxruntime.main import DEFAULT_CFG_PATH
        from rapidocr_onnxruntime.utils import read_yaml
    except ImportError as error:
        raise ModelUnavailable(f"{folder}: cannot read text without rapidocr-onnxruntime ({error})") from error
    _quiet_rapidocr()
    config = read_yaml(DEFAULT_CFG_PATH)  # the package's own tuned defaults (det thresholds, rec input shape)
    engine: dict[str, Any] = {
        "use_cuda": _use_cuda(settings),
        "use_dml": False,
        "intra_op_num_threads": available_cores(),
        "inter_op_num_threads": -1,
    }
    keys = sorted(folder.glob("*keys*.txt")) + sorted(folder.glob("*dict*.txt"))  # for a rec model without them
    try:
        detector = TextDetector({**config["Det"], **engine, "model_path": str(det_path)})
        recognizer = TextRecognizer({**config["Rec"], **engine, "model_path": str(rec_path),
                                     **({"rec_keys_path": str(keys[0])} if keys else {})})
    except Exception as error:  # onnxruntime's load errors are many, multi-line and untyped
        reason = str(error).strip().splitlines()[-1] if str(error).strip() else type(error).__name__
        raise ModelUnavailable(f"{folder}: the PP-OCR models do not load ({reason})") from error
    return TextReader(spec, detector, recognizer)
