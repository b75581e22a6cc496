"""Settings of the TempMe-STOP segment encoder, in the seed's JSON layout (load, validate, save).

The layout is the seed's `unified_model_config.json`: a `tempme` block (token merging and its LoRA
adapters), a `stop` block (spatial and temporal prompts, similarity head) and the sampling fields
`max_frames`, `num_segments`, `video_size`, `top_k`. Unknown keys and bad values are refused with a
one-line error naming the file, never silently ignored.
"""

from __future__ import annotations

import json
import re
from dataclasses import MISSING, asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from core.errors import InvalidRequest

SIM_HEADERS = ("meanP",)
TEMPORAL_PROMPT = re.compile(r"^(none|group(\d+)-(\d+))$")
#: Where the automatic merge layers sit, as fractions of the ViT depth (12 layers -> 6, 8, 10).
AUTO_MERGE_FRACTIONS = (1 / 2, 2 / 3, 5 / 6)


@dataclass(frozen=True)
class TempMeConfig:
    """Training-free temporal token merging (TempMe) and its optional LoRA adapters.

    `merge_layer` lists the ViT layers before which `merge_frame_num` adjacent clips are joined and
    `merge_token_proportion[1]` of the joined patch tokens merged; `merge_token_proportion[0]` of
    each frame's own patch tokens is merged inside the frame in the layers before the first join.
    An empty `merge_layer` list means "auto": layers at 1/2, 2/3 and 5/6 of the model's depth.
    """

    base_encoder: str = "ViT-B/32"
    lora_dim: int = 8
    merge_frame_num: str = "2-2-2"
    merge_layer: tuple[int, ...] = ()
    merge_token_proportion: tuple[float, float] = (0.3, 0.7)
    enabled: bool = True

    @property
    def joins(self) -> tuple[int, ...]:
        """How many adjacent clips each merge step joins, parsed from `merge_frame_num` ("2-2-2")."""
        return tuple(int(part) for part in self.merge_frame_num.split("-") if part)


@dataclass(frozen=True)
class STOPConfig:
    """STOP-style prompting: intra-frame spatial prompts and inter-frame temporal prompts.

    Both are zero-initialised, so an untrained prompt module leaves every embedding unchanged.
    `temporal_prompt` "groupW-R": frame motion is the difference to the mean of the previous W
    frames, projected through a rank-R*8 adapter; "none" disables it.
    """

    cross_model: str = "cross-base"
    sim_header: str = "meanP"
    temporal_prompt: str = "group2-2"
    spatial_prompt: bool = True
    pretrained_clip_name: str = "ViT-B/32"

    @property
    def temporal_window(self) -> int:
        match = TEMPORAL_PROMPT.match(self.temporal_prompt)
        return int(match.group(2)) if match and match.group(2) else 0

    @property
    def temporal_rank(self) -> int:
        match = TEMPORAL_PROMPT.match(self.temporal_prompt)
        return 8 * int(match.group(3)) if match and match.group(3) else 0


@dataclass(frozen=True)
class UnifiedModelConfig:
    """The whole encoder configuration; `max_frames` frames per window, `num_segments` windows per video.

    A video is cut into at least `num_segments` windows (more when windows would exceed
    `max_window_seconds`); each window is `max_frames` frames encoded together into one segment
    vector and per-frame vectors. `adapter_path` names trained LoRA/prompt weights (optional).
    """

    tempme: TempMeConfig = field(default_factory=TempMeConfig)
    stop: STOPConfig = field(default_factory=STOPConfig)
    max_frames: int = 12
    num_segments: int = 32
    video_size: int = 224
    top_k: int = 5
    max_window_seconds: float = 8.0
    batch_windows: int = 8
    adapter_path: str | None = None
    cuda_graphs: bool = True
    """On GPU, replay the encoder as a CUDA graph per batch shape (merging launches many small kernels)."""

    def for_image_size(self, size: int) -> "UnifiedModelConfig":
        """Frames are resized to the CLIP model's own input size: record it in the effective config."""
        return self if self.video_size == size else replace(self, video_size=size)

    def with_merging(self, enabled: bool) -> "UnifiedModelConfig":
        return replace(self, tempme=replace(self.tempme, enabled=enabled))

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["tempme"]["merge_layer"] = list(self.tempme.merge_layer)
        data["tempme"]["merge_token_proportion"] = list(self.tempme.merge_token_proportion)
        return data

    def to_json(self, path: Path | str) -> None:
        """Write the configuration as indented JSON (the seed's `config.to_json(path)`)."""
        Path(path).write_text(json.dumps(self.to_dict(), indent=2) + "\n", encoding="utf-8")

    @classmethod
    def from_json(cls, path: Path | str) -> "UnifiedModelConfig":
        """Read and validate a JSON configuration; a bad file is an InvalidRequest naming it."""
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError as error:
            raise InvalidRequest(f"{path}: no such configuration file") from error
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
            raise InvalidRequest(f"{path}: not a readable JSON configuration ({error})") from error
        return cls.from_dict(data, source=str(path))

    @classmethod
    def from_dict(cls, data: Any, source: str = "configuration") -> "UnifiedModelConfig":
        if not isinstance(data, dict):
            raise InvalidRequest(f"{source}: expected a JSON object")
        tempme = _build(TempMeConfig, data.get("tempme", {}), f"{source}: tempme")
        stop = _build(STOPConfig, data.get("stop", {}), f"{source}: stop")
        top = {key: value for key, value in data.items() if key not in ("tempme", "stop")}
        config = _build(cls, top, source, tempme=tempme, stop=stop)
        config.validate(source)
        return config

    def validate(self, source: str = "configuration") -> None:
        """Refuse values the encoder cannot honour, naming the field."""
        problems: list[str] = []
        joins: tuple[int, ...] = ()
        try:
            joins = self.tempme.joins
        except ValueError:
            problems.append(f"tempme.merge_frame_num {self.tempme.merge_frame_num!r} is not like '2-2-2'")
        if any(j < 1 for j in joins):
            problems.append("tempme.merge_frame_num parts must be >= 1")
        if self.tempme.merge_layer and len(self.tempme.merge_layer) != len(joins):
            problems.append(
                f"tempme.merge_layer has {len(self.tempme.merge_layer)} layers but merge_frame_num "
                f"{self.tempme.merge_frame_num!r} has {len(joins)} steps"
            )
        if list(self.tempme.merge_layer) != sorted(self.tempme.merge_layer) or any(
            layer < 1 for layer in self.tempme.merge_layer
        ):
            problems.append("tempme.merge_layer must be ascending layer numbers >= 1")
        if len(self.tempme.merge_token_proportion) != 2 or not all(
            0.0 <= p < 1.0 for p in self.tempme.merge_token_proportion
        ):
            problems.append("tempme.merge_token_proportion must be two fractions in [0, 1)")
        if self.tempme.lora_dim < 0:
            problems.append("tempme.lora_dim must be >= 0")
        if self.stop.sim_header not in SIM_HEADERS:
            problems.append(f"stop.sim_header {self.stop.sim_header!r} is not supported (use one of {SIM_HEADERS})")
        if not TEMPORAL_PROMPT.match(self.stop.temporal_prompt):
            problems.append(f"stop.temporal_prompt {self.stop.temporal_prompt!r} is not 'none' or 'groupW-R'")
        for name in ("max_frames", "num_segments", "video_size", "top_k", "batch_windows"):
            if getattr(self, name) < 1:
                problems.append(f"{name} must be >= 1")
        if self.max_window_seconds <= 0:
            problems.append("max_window_seconds must be > 0")
        if problems:
            raise InvalidRequest(f"{source}: " + "; ".join(problems))

    def merge_layers_for(self, depth: int) -> tuple[int, ...]:
        """The merge layers for a ViT of `depth` blocks: explicit ones checked, or the automatic ones."""
        joins = self.tempme.joins
        if self.tempme.merge_layer:
            beyond = [layer for layer in self.tempme.merge_layer if layer >= depth]
            if beyond:
                raise InvalidRequest(
                    f"tempme.merge_layer {beyond} is beyond the vision model's {depth} layers "
                    "(leave merge_layer empty for automatic placement)"
                )
            return tuple(self.tempme.merge_layer)
        fractions = AUTO_MERGE_FRACTIONS[: len(joins)] + (AUTO_MERGE_FRACTIONS[-1],) * max(0, len(joins) - 3)
        return tuple(min(depth - 1, max(1, round(depth * f))) for f in fractions)


def _build(kind: type, values: Any, source: str, **fixed: Any) -> Any:
    """Construct a config dataclass from a dict, refusing unknown keys and coercing JSON lists."""
    if not isinstance(values, dict):
        raise InvalidRequest(f"{source}: expected a JSON object")
    known = {f.name: f for f in fields(kind)}
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise InvalidRequest(f"{source}: unknown setting(s) {', '.join(unknown)}")
    arguments: dict[str, Any] = {}
    for name, value in values.items():
        if isinstance(value, list):
            value = tuple(value)
        expected = _expected_type(known[name].default)
        if expected is not None and not _matches(value, expected):
            raise InvalidRequest(f"{source}: {name} should be {expected.__name__}, got {value!r}")
        arguments[name] = value
    arguments.update(fixed)
    try:
        return kind(**arguments)
    except TypeError as error:
        raise InvalidRequest(f"{source}: {error}") from error


def _expected_type(default: Any) -> type | None:
    if default is None or default is MISSING:
        return None
    return type(default)


def _matches(value: Any, expected: type) -> bool:
    if expected is bool:
        return isinstance(value, bool)
    if expected is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if expected is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return isinstance(value, expected)


def load_config(path: Path | str | None) -> UnifiedModelConfig:
    """The configuration at `path`, or the defaults (the seed's `unified_model_config.json`)."""
    return UnifiedModelConfig() if path is None else UnifiedModelConfig.from_json(path)
