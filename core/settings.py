"""One Settings object for the whole product: profile, data dir, per-role model overrides, stage knobs.

Values come from (highest first) keyword arguments, `VIDSAGE_*` environment variables, and an
optional TOML file (`VIDSAGE_CONFIG`, else `./vidsage.toml` when present).
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

Profile = Literal["auto", "real", "offline", "tiny"]
Device = Literal["auto", "cpu", "cuda"]


def _config_file() -> Path | None:
    explicit = os.environ.get("VIDSAGE_CONFIG")
    if explicit:
        return Path(explicit).expanduser()
    local = Path("vidsage.toml")
    return local if local.is_file() else None


class Settings(BaseSettings):
    """Everything a run can be configured with; immutable once built."""

    model_config = SettingsConfigDict(env_prefix="VIDSAGE_", frozen=True, extra="forbid")

    profile: Profile = "auto"
    """Which models to use: `real` (hub), `offline` (weights shipped in packages), `tiny` (tests),
    or `auto` (per role: real when available locally or online, else offline, else disabled)."""
    data_dir: Path = Field(default_factory=lambda: Path("~/.cache/vidsage").expanduser())
    """Where memory (Chroma store, manifests, transcripts, tracks) and cached weights live."""
    device: Device = "auto"
    """Where models run; `auto` picks CUDA when present."""

    segment_seconds: float = Field(default=4.0, gt=0.0)
    """Length of a memory segment, the unit of visual retrieval."""
    clip_fps: float = Field(default=1.0, gt=0.0)
    """Frames per second sampled for CLIP segment embeddings."""
    detector_fps: float = Field(default=5.0, gt=0.0)
    """Frames per second run through detection and tracking."""
    detector_imgsz: int | None = Field(default=None, ge=32)
    """Detector inference size in pixels; None chooses it from the frame size."""
    detector_confidence: float = Field(default=0.4, ge=0.0, le=1.0)
    """Minimum detection confidence kept by the tracker."""
    min_track_frames: int = Field(default=3, ge=1)
    """Tracks seen on fewer sampled frames are short: they only join an actor or stand alone, never bridge two."""
    trigger_fps: float = Field(default=5.0, gt=0.0)
    """Frames per second described for trigger and shot-boundary detection."""
    trigger_threshold: float = Field(default=0.5, ge=0.0, le=1.0)
    """Minimum fused confidence of a trigger."""
    trigger_budget: float = Field(default=0.25, ge=0.0, le=1.0)
    """At most this fraction of segments may hold a trigger (lowest confidence dropped first)."""
    trigger_head: Path | None = None
    """A checkpoint from `main.py train-triggers`; adds the `trained_head` reason when set."""
    retrieval_config: Path | None = None
    """TempMe-STOP encoder settings (seed JSON layout, see `main.py retrieve --config`); None: defaults."""
    reid_threshold: float = Field(default=0.9, ge=-1.0, le=1.0)
    """Appearance cosine similarity above which two tracks may be the same actor."""
    asr_language: str | None = None
    """Spoken language hint for ASR; None lets the model detect it (English-only models ignore it)."""
    asr_chunk_seconds: float = Field(default=300.0, ge=30.0)
    """Audio is transcribed in chunks of about this length, cut at quiet moments."""
    batch_size: int = Field(default=16, ge=1)
    """Images per batch for the visual models."""
    frames_chunk_seconds: float = Field(default=60.0, gt=0.0)
    """The decode-and-detect pass saves its progress after about this much video, so a killed ingest
    resumes from the last saved chunk instead of the start (the final memory is the same)."""

    clip_model: str | None = None
    """Override the CLIP model: `ARCH:PRETRAINED_TAG` or a local checkpoint path."""
    detector_model: str | None = None
    """Override the detector weights: a file path or an ultralytics model name."""
    asr_model: str | None = None
    """Override the ASR model: a faster-whisper size name, hub id or local directory."""
    text_embedder_model: str | None = None
    """Override the text embedder: a sentence-transformers hub id or local directory."""
    ocr_model: str | None = None
    """Override the on-screen text reader: a folder holding PP-OCR `*det*.onnx` and `*rec*.onnx` models."""
    objects_model: str | None = None
    """Override the COCO object detector: a folder holding `centernet-coco.tflite` and its `.json`."""
    objects_fps: float = Field(default=2.0, gt=0.0)
    """Frames per second the COCO object detector runs on (frames the visual pass decodes anyway)."""
    ocr_fps: float = Field(default=1.0, gt=0.0)
    """Frames per second swept for on-screen text (besides every shot start and trigger); a frame whose
    picture has not changed since the last one read is skipped."""

    scene_clusters: int | None = Field(default=None, ge=1)
    """Number of scene clusters per video; None chooses it by silhouette score."""

    captioner_model: str | None = None
    """Override the video captioner: a SpaceTimeGPT-style VisionEncoderDecoder hub id or local directory."""
    vlm_model: str | None = None
    """Override the VLM: a hub id or local directory in-process; with `vlm_url`, the served model's name."""
    vlm_url: str | None = None
    """An OpenAI-compatible VLM endpoint (vLLM: `http://127.0.0.1:8000/v1`); None runs the VLM in-process."""
    vlm_api_key: str = "EMPTY"
    """API key sent to the VLM endpoint (vLLM accepts any unless started with `--api-key`)."""
    vlm_timeout_s: float = Field(default=120.0, gt=0.0)
    """Seconds one VLM request may take before the endpoint counts as unreachable."""
    vlm_concurrency: int = Field(default=16, ge=1)
    """Requests in flight at once to the VLM endpoint (the server batches them)."""
    vlm_batch_size: int | None = Field(default=None, ge=1)
    """Requests per generate call for the in-process VLM; None: 64 on a GPU (38x one at a time for a
    7B LLaVA on an H200, 2.6x batch 16), 16 on the CPU."""
    vlm_image_side: int = Field(default=384, ge=32)
    """Keyframes are resized so their long side is at most this many pixels before the VLM sees them."""
    vlm_images_per_prompt: int = Field(default=16, ge=1)
    """Most images one VLM request may carry (vLLM's `--limit-mm-per-prompt`)."""
    vlm_max_model_len: int = Field(default=32768, ge=512)
    """Context length of an in-process vLLM engine (`--max-model-len`)."""
    vlm_frames_per_caption: int = Field(default=4, ge=1, le=16)
    """Keyframes sent with each dense caption request of a triggered segment."""
    vlm_caption_tokens: int = Field(default=128, ge=8)
    """Most tokens a dense caption may have."""

    planner: Literal["auto", "llm", "rules"] = "auto"
    """Who picks the agent's tools: `llm` a tool-calling chat model (at `planner_url`, else `vlm_url`), `rules`
    the question-form planner, `auto` the chat model when `planner_url` is set, else the rules."""
    planner_url: str | None = None
    """OpenAI-compatible endpoint of the planner's chat model (vLLM with `--enable-auto-tool-choice`);
    None uses `vlm_url`."""
    planner_model: str | None = None
    """The planner's served model name; None uses `vlm_model`, else the first model the server lists."""
    planner_tool_choice: Literal["auto", "required", "choose"] = "auto"
    """How the planner model is asked for tools: `auto` (vLLM `--enable-auto-tool-choice`), `required`, or
    `choose` for small models and servers that only honour a named tool_choice (llama.cpp): a forced call
    of `choose_tool` picks the tool, then a forced call of that tool fills its arguments."""
    planner_tokens: int = Field(default=256, ge=16)
    """Most tokens of one planner reply (tool calls are short; a rambling model is cut off)."""
    agent_max_tool_calls: int = Field(default=8, ge=1)
    """Most tool calls one question may make."""
    agent_max_vlm_calls: int = Field(default=6, ge=0)
    """Most model requests one question may make: planning, self-checks, looking at frames, the answer."""
    agent_max_frames: int = Field(default=8, ge=0)
    """Most images one question may show the VLM (VideoAgent looks at about 8)."""
    agent_max_rounds: int = Field(default=3, ge=1)
    """Most plan -> act -> assess rounds before the agent answers with what it has."""
    agent_max_seconds: float = Field(default=120.0, gt=0.0)
    """Wall-time budget of one question; once spent, the agent answers with what it has."""
    answer_keyframes: int = Field(default=4, ge=0, le=16)
    """Keyframes of the best evidence sent with the answer request (within `agent_max_frames`)."""
    answer_tokens: int = Field(default=400, ge=16)
    """Most tokens of a composed answer."""

    chroma_url: str | None = None
    """Use a Chroma server (`http://host:port`) instead of the embedded store under data_dir."""

    @field_validator("data_dir", mode="before")
    @classmethod
    def _expand(cls, value: Any) -> Any:
        return Path(value).expanduser() if isinstance(value, (str, Path)) else value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        config = _config_file()
        if config is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=config))
        return tuple(sources)

    def stage_hash(self, *field_names: str, extra: dict[str, Any] | None = None) -> str:
        """A short hash of the named settings (plus extra values): a stage re-runs when it changes."""
        payload = {name: getattr(self, name) for name in field_names}
        payload.update(extra or {})
        blob = json.dumps(payload, sort_keys=True, default=str).encode()
        return hashlib.sha256(blob).hexdigest()[:16]
