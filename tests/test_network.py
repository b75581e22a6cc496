"""Nothing leaves the machine: ingest and ask reach only loopback and unix sockets, and write only in the data dir.

Recorded at the system-call level across every process and thread (tests/netrecorder.py), because the
telemetry that used to leak (onnxruntime's, loaded by faster-whisper's VAD) runs in native code.
"""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path

import pytest
from netrecorder import Recording, record, unavailable
from traced_cli import REPO, UserRun, user_env, user_run

TELEMETRY_HOST = "mobile.events.data.microsoft.com"

VAD_PROBE = """
import sys, time
from pathlib import Path
from core.process_env import prepare_process

prepare_process(Path(sys.argv[1]))  # what every vidsage entry point does first
from faster_whisper.vad import get_vad_model

get_vad_model()  # the onnxruntime session ingest opens for voice activity detection
time.sleep(float(sys.argv[2]))  # onnxruntime's telemetry first resolves its host about 9 s after a session starts
"""
"""A process set up like vidsage's entry points that holds the VAD session long enough for telemetry to fire."""

PROBE_SECONDS = 15.0


def _must_stay_local(recording: Recording, what: str) -> None:
    """Fail naming every off-machine destination (and the DNS names asked) if `recording` reached any."""
    assert recording.leaving() == [], f"{what} reached the network:\n{recording.describe()}"


def test_recorder_sees_what_leaves_and_what_stays(tmp_path: Path) -> None:
    """The recorder itself: a DNS query to a remote resolver is caught and named; unix and loopback are local."""
    if reason := unavailable():
        pytest.skip(reason)
    script = """
import socket
socket.socket(socket.AF_UNIX).connect_ex("/nonexistent/vidsage.sock")
socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"x", ("127.0.0.1", 9))
query = bytes([0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0]) + b"\\x07example\\x03com\\x00" + bytes([0, 1, 0, 1])
try:
    socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(query, ("192.0.2.1", 53))
except OSError:
    pass  # no route: the attempt is what counts
"""
    recording = record([sys.executable, "-c", script], cwd=tmp_path, timeout=60)
    assert recording.returncode == 0, recording.stderr
    assert {"AF_UNIX", "AF_INET"} <= recording.families()
    assert [(d.address, d.port, d.queries) for d in recording.leaving()] == [("192.0.2.1", 53, ("example.com",))]


def test_ingest_and_ask_reach_only_loopback_and_unix_sockets(tmp_path_factory: pytest.TempPathFactory) -> None:
    """A real offline ingest and ask, traced; a VAD session held 15 s beside them makes telemetry's timer fire."""
    if reason := unavailable():
        pytest.skip(reason)
    probe_home = tmp_path_factory.mktemp("probe-home")
    (probe_home / "tmp").mkdir()
    probe: list[Recording] = []
    argv = [sys.executable, "-c", VAD_PROBE, str(probe_home / "data"), str(PROBE_SECONDS)]
    env = user_env(probe_home, probe_home / "tmp")
    worker = threading.Thread(target=lambda: probe.append(record(argv, env=env, cwd=REPO, timeout=120)))
    worker.start()  # alongside the ingest: the probe mostly sleeps
    try:
        run: UserRun = user_run(tmp_path_factory)
    finally:
        worker.join()
    assert probe and probe[0].returncode == 0, probe[0].stderr if probe else "the probe did not run"
    for recording, what in ((run.ingest, "ingest"), (run.ask, "ask"), (probe[0], "a VAD session held 15 s")):
        _must_stay_local(recording, what)
        assert TELEMETRY_HOST not in recording.queried_hosts()
    assert run.answer()["evidence"], "the ask found nothing: the run did not exercise retrieval"
    made = (p.relative_to(probe_home) for p in probe_home.rglob("*"))
    stray = sorted(str(p) for p in made if p.parts[0] not in ("tmp", "data"))
    assert stray == [], f"the VAD session wrote outside the data dir: {stray}"


def test_ingest_and_ask_write_nothing_outside_the_data_dir(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Under a fresh HOME, everything the run created is the data dir (~/.cache/vidsage) or inside it."""
    run = user_run(tmp_path_factory)
    assert run.data_dir.is_dir()
    assert run.files_outside_data_dir() == []
    assert (run.data_dir / "config" / "Ultralytics" / "settings.json").is_file()  # the detector's, redirected


def test_prepare_process_leaves_the_users_variables_and_follows_the_data_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A value the user set wins; the config dir vidsage chose moves with the data dir until ultralytics loads."""
    from core import process_env

    monkeypatch.setattr(process_env, "_ours", {})
    monkeypatch.setenv("ORT_DISABLE_TELEMETRY", "0")
    for name in ("YOLO_CONFIG_DIR", "HF_HUB_DISABLE_TELEMETRY"):
        monkeypatch.delenv(name, raising=False)
    for module in ("ultralytics", "onnxruntime"):
        monkeypatch.delitem(sys.modules, module, raising=False)
    process_env.prepare_process(tmp_path / "first")
    process_env.prepare_process(tmp_path / "second")
    assert os.environ["ORT_DISABLE_TELEMETRY"] == "0"
    assert os.environ["HF_HUB_DISABLE_TELEMETRY"] == "1"
    assert os.environ["YOLO_CONFIG_DIR"] == str(tmp_path / "second" / "config")
    monkeypatch.setitem(sys.modules, "ultralytics", sys)  # loaded: it has read the variable already
    process_env.prepare_process(tmp_path / "third")
    assert os.environ["YOLO_CONFIG_DIR"] == str(tmp_path / "second" / "config")
