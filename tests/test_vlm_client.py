"""VLM client and server manager against real local servers (stdlib http.server), plus pure request building.

No OpenAI-compatible server library is installed here (`transformers serve` needs fastapi, starlette and
accelerate), so the happy paths of chat completions are not exercised; every failure path is, for real.
"""

from __future__ import annotations

import base64
import io
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import numpy as np
import openai
import pytest
from helpers import port_refuses
from PIL import Image

from core.errors import BackendUnreachable, InvalidRequest, VidsageError
from models.vlm.client import VLMClient, image_data_url, is_retryable
from models.vlm.server import ManagedServer, free_port, vllm_command


def _http_server(directory: Path, port: int, ignore_sigint: bool = False) -> list[str]:
    """argv of the stdlib HTTP server serving `directory` on 127.0.0.1:port (optionally deaf to SIGINT)."""
    prelude = "import signal; signal.signal(signal.SIGINT, signal.SIG_IGN); " if ignore_sigint else ""
    code = (
        f"{prelude}import runpy, sys; "
        f"sys.argv = ['http.server', '{port}', '--bind', '127.0.0.1', '--directory', {str(directory)!r}]; "
        "runpy.run_module('http.server', run_name='__main__')"
    )
    return [sys.executable, "-u", "-c", code]


def _served_dir(tmp_path: Path, healthy: bool = True) -> Path:
    """A directory for http.server; a `health` file makes GET /health answer 200."""
    root = tmp_path / "www"
    root.mkdir()
    if healthy:
        (root / "health").write_text("ok")
    return root


def _gone(pid: int) -> bool:
    """True when no process with this id exists any more."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def _eventually(check: Callable[[], bool], timeout_s: float = 5.0) -> bool:
    """Poll `check` until true or timeout_s passes (a server's log may lag its answer)."""
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)
    return True


def test_vllm_command_argv() -> None:
    assert vllm_command("llava-hf/llava-onevision-qwen2-7b-ov-hf", 8000) == [
        "vllm", "serve", "llava-hf/llava-onevision-qwen2-7b-ov-hf",
        "--host", "127.0.0.1", "--port", "8000",
        "--limit-mm-per-prompt", '{"image":16}', "--max-model-len", "32768",
    ]  # fmt: skip
    tools = vllm_command("Qwen/Qwen2.5-7B-Instruct", 9000, host="0.0.0.0", limit_images=4, tool_calling=True)
    assert tools[tools.index("--limit-mm-per-prompt") + 1] == '{"image":4}'
    assert tools[tools.index("--host") + 1] == "0.0.0.0"
    assert tools[-3:] == ["--enable-auto-tool-choice", "--tool-call-parser", "hermes"]


def test_image_data_url_is_a_resized_jpeg() -> None:
    frame = np.zeros((480, 960, 3), dtype=np.uint8)
    frame[:, :480, 0] = 255
    url = image_data_url(frame, max_side=384)
    assert url.startswith("data:image/jpeg;base64,")
    image = Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1])))
    assert image.format == "JPEG" and image.mode == "RGB" and image.size == (384, 192)
    assert np.asarray(image)[96, 50, 0] > 200 and np.asarray(image)[96, 300, 0] < 50
    small = Image.open(io.BytesIO(base64.b64decode(image_data_url(frame[:40, :60]).split(",", 1)[1])))
    assert small.size == (60, 40)


def test_bad_image_is_an_invalid_request() -> None:
    with pytest.raises(InvalidRequest):
        image_data_url(np.zeros((8, 8), dtype=np.uint8))
    with pytest.raises(InvalidRequest):
        image_data_url(np.zeros((8, 8, 3), dtype=np.float32))


def test_request_attaches_images_to_last_user_message() -> None:
    client = VLMClient("http://127.0.0.1:1/v1", "m")
    frames = [np.full((10, 10, 3), 128, dtype=np.uint8)] * 2
    request = client._request("what happens?", frames, {"max_tokens": 5})
    content = request["messages"][0]["content"]
    assert request["model"] == "m" and request["max_tokens"] == 5 and request["temperature"] == 0.0
    assert content[0] == {"type": "text", "text": "what happens?"}
    assert [part["type"] for part in content[1:]] == ["image_url", "image_url"]
    history = [{"role": "system", "content": "be brief"}, {"role": "user", "content": "and now?"}]
    request = client._request(history, frames[:1], {})
    assert request["messages"][0] == history[0] and len(request["messages"][1]["content"]) == 2
    client.close()


def test_retry_policy_skips_4xx_and_timeouts() -> None:
    request = httpx.Request("POST", "http://127.0.0.1:1/v1/chat/completions")
    bad = openai.BadRequestError("too many images", response=httpx.Response(400, request=request), body=None)
    busy = openai.InternalServerError("overloaded", response=httpx.Response(503, request=request), body=None)
    assert not is_retryable(bad)
    assert is_retryable(busy)
    assert is_retryable(openai.APIConnectionError(request=request))
    assert not is_retryable(openai.APITimeoutError(request=request))


def test_down_server_fails_fast_with_one_line_message() -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}/v1"
    client = VLMClient(base, "m")
    assert not client.health()
    started = time.monotonic()
    with pytest.raises(BackendUnreachable) as caught:
        client.complete("hello")
    assert time.monotonic() - started < 5.0
    message = str(caught.value)
    assert base in message and "\n" not in message
    client.close()
    with VLMClient(base, "m", backoff_s=0.01) as quick, pytest.raises(BackendUnreachable):
        list(quick.stream("hello"))


def test_caption_batch_on_down_server_fails_fast() -> None:
    client = VLMClient(f"http://127.0.0.1:{free_port()}/v1", "m", max_concurrency=4)
    frame = np.zeros((32, 32, 3), dtype=np.uint8)
    started = time.monotonic()
    with pytest.raises(BackendUnreachable):
        client.caption_batch([("describe", [frame])] * 40)
    assert time.monotonic() - started < 4.0  # one round of retries, not one per item
    assert client.caption_batch([]) == []
    client.close()


def test_managed_server_start_health_stop(tmp_path: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with ManagedServer(_http_server(_served_dir(tmp_path), port), base, "/health", startup_timeout_s=20) as server:
        assert server.running
        pid = server.process.pid  # type: ignore[union-attr]
        with VLMClient(f"{base}/v1", "m") as client:
            assert client.health()
    assert not server.running and port_refuses(port) and _gone(pid)
    assert "GET /health" in server.log_path.read_text()


def test_server_errors_are_retried_then_reported(tmp_path: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with ManagedServer(_http_server(_served_dir(tmp_path), port), base, "/health", startup_timeout_s=20) as server:
        client = VLMClient(f"{base}/v1", "m", max_retries=2, backoff_s=0.01)
        with pytest.raises(BackendUnreachable, match="HTTP 501") as caught:
            client.complete("hello")  # http.server answers every POST with 501
        assert "\n" not in str(caught.value)
        client.close()
        assert _eventually(lambda: server.log_path.read_text().count("POST /v1/chat/completions") == 3)


def test_managed_server_that_dies_reports_its_log(tmp_path: Path) -> None:
    argv = [sys.executable, "-c", "import sys; print('fatal: unknown flag --bogus'); sys.exit(3)"]
    server = ManagedServer(argv, f"http://127.0.0.1:{free_port()}", startup_timeout_s=20, log_path=tmp_path / "s.log")
    started = time.monotonic()
    with pytest.raises(BackendUnreachable) as caught:
        server.start()
    message = str(caught.value)
    assert "code 3" in message and "unknown flag --bogus" in message and "\n" not in message
    assert time.monotonic() - started < 10.0 and not server.running


def test_managed_server_timeout_stops_the_process(tmp_path: Path) -> None:
    port = free_port()
    server = ManagedServer(
        _http_server(_served_dir(tmp_path, healthy=False), port), f"http://127.0.0.1:{port}", startup_timeout_s=2
    )
    with pytest.raises(BackendUnreachable, match="did not answer within 2 s"):
        server.start()
    assert server.process is not None and _gone(server.process.pid) and port_refuses(port)


def test_stop_escalates_when_sigint_is_ignored(tmp_path: Path) -> None:
    port = free_port()
    argv = _http_server(_served_dir(tmp_path), port, ignore_sigint=True)
    server = ManagedServer(argv, f"http://127.0.0.1:{port}", startup_timeout_s=20, stop_timeout_s=1.0)
    with server:
        assert server.running
    assert not server.running and port_refuses(port)
    assert server.process is not None and server.process.returncode == -15  # SIGTERM ended it


def test_missing_executable_is_backend_unreachable(tmp_path: Path) -> None:
    server = ManagedServer(["/nonexistent/vllm", "serve"], "http://127.0.0.1:1", log_path=tmp_path / "s.log")
    with pytest.raises(BackendUnreachable, match="cannot start"):
        server.start()


def test_tool_arguments_must_be_a_json_object() -> None:
    client = VLMClient("http://127.0.0.1:1/v1", "m")
    assert client._parse_arguments(json.dumps({"t": 1.5})) == {"t": 1.5}
    with pytest.raises(VidsageError):
        client._parse_arguments("{not json")
    with pytest.raises(VidsageError):
        client._parse_arguments("[1, 2]")
    client.close()


def test_serve_vlm_prints_the_vllm_command_line() -> None:
    from conftest import run_cli

    result = run_cli("serve-vlm", "--model", "llava-hf/llava-onevision-qwen2-0.5b-ov-hf", "--port", "8123",
                     "--tools", "--print-command")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == (
        "vllm serve llava-hf/llava-onevision-qwen2-0.5b-ov-hf --host 127.0.0.1 --port 8123 "
        "--limit-mm-per-prompt '{\"image\":16}' --max-model-len 32768 "
        "--enable-auto-tool-choice --tool-call-parser hermes"
    )


def test_serve_vlm_without_vllm_is_a_clear_error() -> None:
    from conftest import run_cli

    result = run_cli("serve-vlm", "--port", "8124")
    assert result.returncode == 5
    assert result.stderr.strip() == "vidsage: error: vllm is not installed here (GPU machines: pip install -e '.[gpu]')"
