"""Start and stop a model server (vLLM or any HTTP server) as a subprocess, ready once its health URL answers."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import httpx

from core.errors import BackendUnreachable
from models.vlm.client import one_line


def vllm_command(
    model: str,
    port: int,
    host: str = "127.0.0.1",
    limit_images: int = 16,
    max_model_len: int = 32768,
    tool_calling: bool = False,
) -> list[str]:
    """The `vllm serve` argv for a multi-image VLM endpoint, plus hermes tool parsing when asked."""
    argv = [
        "vllm", "serve", model,
        "--host", host,
        "--port", str(port),
        "--limit-mm-per-prompt", json.dumps({"image": limit_images}, separators=(",", ":")),
        "--max-model-len", str(max_model_len),
    ]  # fmt: skip
    if tool_calling:
        argv += ["--enable-auto-tool-choice", "--tool-call-parser", "hermes"]
    return argv


def transformers_serve_command(
    model: str, port: int, host: str = "127.0.0.1", device: str = "auto", dtype: str = "auto"
) -> list[str]:
    """The `transformers serve` argv that preloads one model (a small OpenAI-compatible server; CPU or GPU)."""
    return ["transformers", "serve", model, "--host", host, "--port", str(port), "--device", device, "--dtype", dtype]


def transformers_serve_env(cache_dir: Path, offline: bool, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """Environment for `transformers serve`: an existing hub cache dir (it needs one) and offline mode when asked."""
    env = dict(os.environ if base is None else base)
    cache_dir.mkdir(parents=True, exist_ok=True)
    env.setdefault("HF_HUB_CACHE", str(cache_dir))
    if offline:
        env["HF_HUB_OFFLINE"] = "1"
    return env


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nothing listens on right now, for a server started next."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class ManagedServer:
    """Runs `argv` in its own process group, logs to a file, waits for health, and always stops it on exit."""

    def __init__(
        self,
        argv: Sequence[str],
        base_url: str,
        health_path: str = "/health",
        startup_timeout_s: float = 600.0,
        log_path: Path | None = None,
        env: Mapping[str, str] | None = None,
        stop_timeout_s: float = 10.0,
        poll_interval_s: float = 0.25,
    ) -> None:
        self.argv = list(argv)
        self.base_url = base_url.rstrip("/")
        self.health_url = self.base_url + "/" + health_path.lstrip("/")
        self.startup_timeout_s = startup_timeout_s
        self.log_path = log_path or Path(tempfile.mkdtemp(prefix="vidsage-server-")) / "server.log"
        self.env = dict(env) if env is not None else None
        self.stop_timeout_s = stop_timeout_s
        self.poll_interval_s = poll_interval_s
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> ManagedServer:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        """True while the server process is alive."""
        return self.process is not None and self.process.poll() is None

    def start(self) -> None:
        """Start the process and block until the health URL answers 200; stop it and raise if it never does."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            try:
                self.process = subprocess.Popen(
                    self.argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                    env=self.env, start_new_session=True,
                )  # fmt: skip
            except OSError as error:
                raise BackendUnreachable(f"cannot start `{self.argv[0]}` for {self.base_url}: {error}") from error
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Stop the process group: SIGINT, then SIGTERM, then SIGKILL, each after stop_timeout_s; never hangs."""
        if self.process is None:
            return
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGKILL):
            if self.process.poll() is not None:
                break
            self._signal_group(sig)
            try:
                self.process.wait(timeout=self.stop_timeout_s)
            except subprocess.TimeoutExpired:
                continue
        self._signal_group(signal.SIGKILL)  # children left behind by a leader that exited (e.g. engine workers)
        try:
            self.process.wait(timeout=self.stop_timeout_s)
        except subprocess.TimeoutExpired:
            pass  # unkillable (stuck in the kernel): give up rather than hang the caller

    def log_tail(self, lines: int = 5) -> str:
        """The last non-blank log lines joined into one line, for error messages."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"
        tail = [line.strip() for line in text.splitlines() if line.strip()][-lines:]
        return one_line(" | ".join(tail), limit=400) if tail else "(empty log)"

    def _wait_ready(self) -> None:
        """Poll the health URL until 200, the process exits, or startup_timeout_s passes."""
        deadline = time.monotonic() + self.startup_timeout_s
        with httpx.Client(trust_env=False, timeout=2.0) as http:
            while True:
                code = self.process.poll() if self.process else None
                if code is not None:
                    raise BackendUnreachable(
                        f"`{self.argv[0]}` exited with code {code} before {self.health_url} answered; "
                        f"log {self.log_path}: {self.log_tail()}"
                    )
                if _answers(http, self.health_url):
                    return
                if time.monotonic() >= deadline:
                    raise BackendUnreachable(
                        f"{self.health_url} did not answer within {self.startup_timeout_s:g} s; "
                        f"log {self.log_path}: {self.log_tail()}"
                    )
                time.sleep(self.poll_interval_s)

    def _signal_group(self, sig: signal.Signals) -> None:
        """Send `sig` to the server's process group, ignoring a group that is already gone."""
        if self.process is None:
            return
        try:
            os.killpg(self.process.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass


def _answers(http: httpx.Client, url: str) -> bool:
    """True when GET url returns 200."""
    try:
        return http.get(url).status_code == 200
    except httpx.HTTPError:
        return False
