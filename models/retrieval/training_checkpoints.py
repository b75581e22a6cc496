"""Checkpoints of retrieval training: written atomically after every epoch, read back and checked to
resume a run, and the final `adapters.pth`; split from `models.retrieval.training` to keep the loop short.

A checkpoint keeps the adapters under `adapters` ({depth, width, state}), so it loads as adapters too.
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.errors import InvalidRequest
from models.retrieval.config import UnifiedModelConfig
from models.retrieval.training_setup import TrainingRun, text_parameters

if TYPE_CHECKING:
    from models.retrieval.training import TrainingOptions

CHECKPOINT_FORMAT = "vidsage-retrieval-training"
CHECKPOINT_VERSION = 1


# --- configuration ------------------------------------------------------------------------------


def _comparable(config: dict[str, Any]) -> dict[str, Any]:
    """A configuration without `adapter_path`, which says where weights came from, not their shape."""
    return {key: value for key, value in config.items() if key != "adapter_path"}


def _differences(old: dict[str, Any], new: dict[str, Any], prefix: str = "") -> list[str]:
    """'key: old -> new' for every setting that differs, nested blocks flattened with dots."""
    changes = []
    for key in sorted(set(old) | set(new)):
        a, b = old.get(key), new.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            changes.extend(_differences(a, b, f"{prefix}{key}."))
        elif (list(a) if isinstance(a, tuple) else a) != (list(b) if isinstance(b, tuple) else b):
            changes.append(f"{prefix}{key}: {a!r} -> {b!r}")
    return changes


# --- checkpoints --------------------------------------------------------------------------------


def _write_atomic(path: Path, payload: bytes) -> None:
    """Write to a temporary file beside `path`, then rename: a crash never leaves half a checkpoint."""
    partial = path.with_name(f".{path.name}.partial")
    try:
        partial.write_bytes(payload)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)


def _rng_state() -> dict[str, Any]:
    import torch

    state = {"cpu": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: dict[str, Any]) -> None:
    import torch

    torch.set_rng_state(state["cpu"])
    if "cuda" in state and torch.cuda.is_available() and len(state["cuda"]) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(state["cuda"])


def build_checkpoint(run: TrainingRun, epoch: int, history: list[float], config: UnifiedModelConfig) -> dict[str, Any]:
    """The resumable state after `epoch`; the adapters sit under `adapters` as `RetrievalAdapters.load` expects."""
    adapters = run.adapters
    checkpoint = {
        "format": CHECKPOINT_FORMAT,
        "version": CHECKPOINT_VERSION,
        "adapters": {"depth": adapters.depth, "width": adapters.width, "state": adapters.state_dict()},
        "optimizer": run.optimizer.state_dict(),
        "scaler": run.scaler.state_dict(),
        "epoch": epoch,
        "mode": run.options.mode,
        "options": run.options.to_dict(),
        "config": config.to_dict(),
        "history": list(history),
        "rng": _rng_state(),
    }
    if run.options.train_text:
        checkpoint["text"] = {name: p.detach() for name, p in text_parameters(run.clip).items()}
    return checkpoint


def save_checkpoint(checkpoint: dict[str, Any], folder: Path, epoch: int) -> Path:
    """`checkpoint_epoch_{epoch}.pth` and `last.pth`, each written atomically."""
    import torch

    buffer = io.BytesIO()
    torch.save(checkpoint, buffer)
    path = folder / f"checkpoint_epoch_{epoch}.pth"
    _write_atomic(path, buffer.getvalue())
    _write_atomic(folder / "last.pth", buffer.getvalue())
    return path


def read_checkpoint(path: Path | str) -> dict[str, Any]:
    """A training checkpoint, or an InvalidRequest naming the file when it is missing, damaged or foreign."""
    import torch

    path = Path(path).expanduser()
    if not path.is_file():
        raise InvalidRequest(f"{path}: no such training checkpoint")
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises pickle/zip/runtime errors for damaged files
        raise InvalidRequest(f"{path}: not a readable training checkpoint ({str(error).splitlines()[0]})") from error
    if not isinstance(checkpoint, dict) or checkpoint.get("format") != CHECKPOINT_FORMAT:
        raise InvalidRequest(f"{path}: not a vidsage retrieval training checkpoint")
    if checkpoint.get("version") != CHECKPOINT_VERSION:
        raise InvalidRequest(f"{path}: checkpoint version {checkpoint.get('version')!r} is not {CHECKPOINT_VERSION}")
    return checkpoint


def check_resumable(
    checkpoint: dict[str, Any], path: Path, options: TrainingOptions, config: UnifiedModelConfig
) -> None:
    """Refuse a checkpoint of another mode, configuration or text setting, or one already at `epochs`."""
    if checkpoint["mode"] != options.mode:
        raise InvalidRequest(
            f"{path}: was trained in mode {checkpoint['mode']}, not {options.mode}; resume in the same mode"
        )
    changes = _differences(_comparable(checkpoint["config"]), _comparable(config.to_dict()))
    if changes:
        raise InvalidRequest(f"{path}: was trained with another configuration ({'; '.join(changes)})")
    if bool(checkpoint["options"].get("train_text")) != options.train_text:
        trained_text = checkpoint["options"].get("train_text")
        raise InvalidRequest(f"{path}: train_text was {trained_text}, not {options.train_text}; resume with the same")
    if checkpoint["epoch"] >= options.epochs:
        raise InvalidRequest(
            f"{path}: already holds {checkpoint['epoch']} epochs; "
            f"ask for more than that to continue (epochs={options.epochs})"
        )


def restore(run: TrainingRun, checkpoint: dict[str, Any], path: Path) -> None:
    """Adapters, text tower, optimizer, scaler and RNG from a checkpoint; this run's learning rates apply."""
    saved = checkpoint["adapters"]
    if (saved.get("depth"), saved.get("width")) != (run.adapters.depth, run.adapters.width):
        raise InvalidRequest(
            f"{path}: adapters were trained for a {saved.get('depth')}-layer, {saved.get('width')}-wide ViT, "
            f"not this {run.adapters.depth}-layer, {run.adapters.width}-wide one"
        )
    run.adapters.load_state_dict(saved["state"])
    if run.options.train_text:
        params = text_parameters(run.clip)
        for name, value in checkpoint["text"].items():
            params[name].data.copy_(value)
    try:
        run.optimizer.load_state_dict(checkpoint["optimizer"])
    except (ValueError, KeyError) as error:
        raise InvalidRequest(f"{path}: optimizer state does not fit this run ({error})") from error
    rates = {"tempme": run.options.tempme_lr, "stop": run.options.stop_lr, "text": run.options.text_lr}
    for group in run.optimizer.param_groups:
        group["lr"], group["weight_decay"] = rates[group["name"]], run.options.weight_decay
    run.scaler.load_state_dict(checkpoint.get("scaler") or {})
    _set_rng_state(checkpoint["rng"])


def save_adapters(run: TrainingRun, path: Path, config: UnifiedModelConfig, epochs: int, history: list[float]) -> None:
    """`adapters.pth` via `RetrievalAdapters.save`, written to a temporary name and renamed."""
    partial = path.with_name(f".{path.name}.partial")
    extra: dict[str, Any] = {"config": config.to_dict(), "mode": run.options.mode, "epochs": epochs, "history": history}
    if run.options.train_text:
        extra["text"] = {name: p.detach().cpu() for name, p in text_parameters(run.clip).items()}
    try:
        run.adapters.save(partial, extra)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
