"""The VLM client against a real OpenAI-compatible server: `transformers serve` with a tiny LLaVA built here.

The model's weights are random, so its words mean nothing; what is asserted is what a user of the
client relies on: answers arrive (plain and streamed, and they agree), images reach the model (the
server's own token count includes them), errors are one clear line, and `serve-vlm` starts, serves
and stops a real server.
"""

from __future__ import annotations

import base64
import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO, ServedModel
from helpers import port_refuses
from logging_proxy import LoggingProxy
from PIL import Image

from core.errors import BackendUnreachable, InvalidRequest
from core.settings import Settings
from models.registry import ModelSpec
from models.vlm.client import VLMClient
from models.vlm.server import free_port

PROMPT = "Describe what happens in the harbour."


def _frames() -> list[np.ndarray]:
    rng = np.random.default_rng(7)
    return [rng.integers(0, 256, (180, 320, 3), dtype=np.uint8), rng.integers(0, 256, (240, 240, 3), dtype=np.uint8)]


def _in_process(directory: Path) -> object:
    from models.vlm.local import load_transformers_vlm

    spec = ModelSpec("vlm", "tiny", str(directory), "tiny LLaVA-OneVision")
    return load_transformers_vlm(spec, Settings(device="cpu", profile="tiny"), str(directory))


def test_plain_completion_matches_the_same_model_in_process(transformers_server: ServedModel) -> None:
    with VLMClient(transformers_server.base_url, transformers_server.model) as client:
        assert client.health()
        served = client.complete(PROMPT, max_tokens=16)
    assert served.strip()
    local = _in_process(transformers_server.directory)
    assert served.strip() == local.complete(PROMPT, max_tokens=16)  # type: ignore[attr-defined]


def test_streamed_completion_arrives_in_pieces_and_equals_the_plain_one(transformers_server: ServedModel) -> None:
    with VLMClient(transformers_server.base_url, transformers_server.model) as client:
        pieces = list(client.stream(PROMPT, max_tokens=16))
        plain = client.complete(PROMPT, max_tokens=16)
    assert len(pieces) > 1
    streamed = "".join(pieces)
    # A stream holds back a trailing incomplete UTF-8 sequence (random weights emit stray bytes); the rest is equal.
    assert plain.startswith(streamed) and set(plain[len(streamed):]) <= {"\ufffd"}
    assert len(streamed) >= len(plain) - 2


def test_image_parts_reach_the_model(transformers_server: ServedModel) -> None:
    with LoggingProxy(transformers_server.base_url.removesuffix("/v1")) as proxy:
        with VLMClient(proxy.url + "/v1", transformers_server.model) as client:
            answer = client.complete(PROMPT, _frames(), max_tokens=8)
            text_only = client.complete(PROMPT, max_tokens=8)
        with_images, without = proxy.completions()
    assert answer and text_only
    assert with_images.image_count() == 2 and without.image_count() == 0
    # The server's prompt token count equals the processor's count for the prompt plus the two JPEGs it got.
    from transformers import AutoProcessor

    processor = AutoProcessor.from_pretrained(transformers_server.directory, local_files_only=True)
    parts = with_images.request["messages"][0]["content"]
    jpegs = [Image.open(io.BytesIO(base64.b64decode(p["image_url"]["url"].split(",", 1)[1]))) for p in parts[1:]]
    assert [image.size for image in jpegs] == [(320, 180), (240, 240)]
    conversation = [{"role": "user", "content": [{"type": "image"}, {"type": "image"}, {"type": "text", "text": PROMPT}]}]
    prompt = processor.apply_chat_template(conversation, add_generation_prompt=True)
    expected = processor(text=[prompt], images=[jpegs], return_tensors="pt")["input_ids"].shape[1]
    assert with_images.response["usage"]["prompt_tokens"] == expected
    assert expected > without.response["usage"]["prompt_tokens"] + 2 * 16  # at least 16 image tokens per image


def test_caption_batch_keeps_the_order_of_requests(transformers_server: ServedModel) -> None:
    frames = _frames()
    items = [("first", frames[:1]), ("second", frames), ("third", [])]
    with VLMClient(transformers_server.base_url, transformers_server.model, max_concurrency=3) as client:
        batched = client.caption_batch(items, max_tokens=8)
        one_by_one = [client.complete(prompt, images, max_tokens=8) for prompt, images in items]
    assert batched == one_by_one and all(batched)


def test_a_wrong_model_name_is_a_one_line_invalid_request(transformers_server: ServedModel) -> None:
    with VLMClient(transformers_server.base_url, "no-such-model") as client, pytest.raises(InvalidRequest) as caught:
        client.complete(PROMPT, max_tokens=4)
    message = str(caught.value)
    assert transformers_server.base_url in message and "HTTP 4" in message and "\n" not in message


def test_a_server_that_went_down_is_backend_unreachable(transformers_server: ServedModel) -> None:
    proxy = LoggingProxy(transformers_server.base_url.removesuffix("/v1"))
    with proxy, VLMClient(proxy.url + "/v1", transformers_server.model, backoff_s=0.01) as client:
        assert client.complete(PROMPT, max_tokens=4)
        url = proxy.url
    with VLMClient(url + "/v1", transformers_server.model, backoff_s=0.01) as client:
        assert not client.health()
        started = time.monotonic()
        with pytest.raises(BackendUnreachable) as caught:
            client.complete(PROMPT, max_tokens=4)
    assert time.monotonic() - started < 5.0
    assert f"{url}/v1" in str(caught.value) and "\n" not in str(caught.value)


def test_serve_vlm_starts_serves_and_stops_a_real_server(tiny_llava: Path, tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "VIDSAGE_DATA_DIR": str(tmp_path / "data"), "PYTHONUNBUFFERED": "1"}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    argv = [sys.executable, str(REPO / "main.py"), "serve-vlm", "--engine", "transformers", "--model", str(tiny_llava),
            "--port", str(port), "--device", "cpu"]  # fmt: skip
    process = subprocess.Popen(argv, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        lines = []
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            line = process.stdout.readline()  # type: ignore[union-attr]
            if not line:
                break
            lines.append(line.strip())
            if line.startswith("export VIDSAGE_VLM_URL="):
                break
        assert lines and lines[-1] == f"export VIDSAGE_VLM_URL=http://127.0.0.1:{port}/v1", process.stderr
        with VLMClient(f"http://127.0.0.1:{port}/v1", str(tiny_llava)) as client:
            assert client.health() and client.complete(PROMPT, max_tokens=4)
        process.send_signal(signal.SIGINT)  # what Ctrl-C does
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
    assert port_refuses(port), "the server must be gone once serve-vlm exits"


def test_serve_vlm_transformers_command_line() -> None:
    from conftest import run_cli

    result = run_cli("serve-vlm", "--engine", "transformers", "--model", "llava-hf/llava-onevision-qwen2-0.5b-ov-hf",
                     "--port", "8125", "--print-command")  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == (
        "transformers serve llava-hf/llava-onevision-qwen2-0.5b-ov-hf --host 127.0.0.1 --port 8125 "
        "--device auto --dtype auto"
    )
