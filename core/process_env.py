"""The process environment every entry point sets before heavy libraries load: no telemetry, no stray files.

Native libraries read these variables once, when they are loaded, so `prepare_process` must run before
onnxruntime (faster-whisper's VAD) or ultralytics (the detector) is imported; every entry point calls it
first (`main.run`, `Session.__init__`, `ingest_video`). A variable the user set is never overridden.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

TELEMETRY_OFF: dict[str, str] = {
    "ORT_DISABLE_TELEMETRY": "1",
    # onnxruntime >= 1.31 (Linux): its 1DS telemetry resolves mobile.events.data.microsoft.com about 9 s after a
    # session starts and writes ~/.cache/Microsoft/DeveloperTools/.onnxruntime/{deviceid,onnxruntime.db}. Only
    # this variable, set before the library loads, stops both; `onnxruntime.disable_telemetry_events()` does not.
    "ANONYMIZED_TELEMETRY": "False",  # chromadb's product telemetry (posthog)
    "HF_HUB_DISABLE_TELEMETRY": "1",  # huggingface_hub's usage pings (real profile downloads)
}
"""Variables that switch third-party telemetry off, with the value that does it."""

CONFIG_SUBDIR = "config"
"""Folder of the data dir that holds third-party configuration (ultralytics' `Ultralytics/settings.json`)."""

_NATIVE_READERS = {"ORT_DISABLE_TELEMETRY": "onnxruntime", "YOLO_CONFIG_DIR": "ultralytics"}
"""Which module reads each variable once, at import: setting it later changes nothing in this process."""

_ours: dict[str, str] = {}
"""Variables this module set, and the value, so a later call for another data dir may move them."""

log = logging.getLogger(__name__)


def _user_set(name: str) -> bool:
    """True when the variable holds a value this module did not put there (the user's choice wins)."""
    value = os.environ.get(name, "")
    return bool(value) and _ours.get(name) != value


def _set(name: str, value: str) -> None:
    """Set `name` unless the user did; warn when the library that reads it is already loaded."""
    if _user_set(name) or os.environ.get(name) == value:
        return
    reader = _NATIVE_READERS.get(name)
    if reader is not None and reader in sys.modules:
        if name not in _ours:  # loaded before vidsage could set it (a caller imported it first)
            log.warning("%s was imported before vidsage set %s; it takes effect from the next process", reader, name)
        return
    os.environ[name] = value
    _ours[name] = value


def third_party_config_dir(data_dir: Path) -> Path:
    """Where third-party libraries keep their configuration for this data dir."""
    return Path(data_dir).expanduser() / CONFIG_SUBDIR


def prepare_process(data_dir: Path | None = None) -> None:
    """Switch third-party telemetry off and point library config at `data_dir` (none: telemetry only).

    Idempotent and cheap (no imports, no writes); nothing is created until a library writes its file.
    """
    for name, value in TELEMETRY_OFF.items():
        _set(name, value)
    if data_dir is not None:
        _set("YOLO_CONFIG_DIR", str(third_party_config_dir(data_dir)))
