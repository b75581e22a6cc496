"""VLMClient against a real OpenAI-compatible server: llama-cpp-python serving SmolLM2-135M-Instruct (real weights).

The server and the GGUF are set up by tests/llamacpp_server.py (llama-cpp-python must be a wheel built with
`-DGGML_AMX=OFF`, `make llama-wheel`: the default native build crashes in ggml_backend_amx_mul_mat here).
Without llama-cpp-python, its `[server]` extra or the GGUF, the module is skipped.

What llama-cpp 0.3.x does, checked before writing these tests:
- a *named* tool_choice applies a JSON-schema grammar, so the call always parses and has the schema's keys;
  its grammar lets free-form strings contain raw newlines (invalid JSON, and a 135M model rambles), so
  string arguments here carry a `pattern`, which bounds them to one short line;
- tool_choice "required" answers HTTP 500; "auto" is up to the model, so neither is tested;
- an unknown model name is ignored (the only model answers); a prompt over n_ctx is HTTP 400; a body that
  fails its validation is HTTP 500 (not 422), which the client retries and reports as BackendUnreachable.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from llamacpp_server import MODEL, LlamaServer, require_llamacpp
from llamacpp_server import llama_server as start_llama_server

from core.errors import BackendUnreachable, InvalidRequest
from models.vlm.client import VLMClient

pytestmark = pytest.mark.llamacpp

GGUF = require_llamacpp()
N_CTX = 2048
SHORT_TEXT = {"type": "string", "pattern": "^[A-Za-z0-9 ,.'-]{1,48}$"}
SEEK_VIDEO = {
    "type": "function",
    "function": {
        "name": "seek_video",
        "description": "Jump to a moment of the video, given in seconds from the start.",
        "parameters": {
            "type": "object",
            "properties": {"timestamp_seconds": {"type": "number"}, "reason": SHORT_TEXT},
            "required": ["timestamp_seconds", "reason"],
        },
    },
}
SEARCH_TRANSCRIPT = {
    "type": "function",
    "function": {
        "name": "search_transcript",
        "description": "Search what is said in the video's transcript.",
        "parameters": {"type": "object", "properties": {"query": SHORT_TEXT}, "required": ["query"]},
    },
}


@pytest.fixture(scope="module")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LlamaServer]:
    """llama-cpp-python's OpenAI server on 127.0.0.1 with the real SmolLM2 GGUF, small context, 2 threads."""
    with start_llama_server(GGUF, tmp_path_factory.mktemp("llamacpp"), n_ctx=N_CTX) as server:
        yield server


@pytest.fixture
def client(llama_server: LlamaServer) -> Iterator[VLMClient]:
    """A client that fails on the first error, so a broken server shows at once."""
    with VLMClient(llama_server.base_url, MODEL, timeout_s=120.0, max_retries=0) as vlm:
        yield vlm


def _is_json_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _assert_short_text(value: Any) -> None:
    assert isinstance(value, str) and re.fullmatch(SHORT_TEXT["pattern"], value), value


def test_server_lists_the_served_model(llama_server: LlamaServer, client: VLMClient) -> None:
    assert llama_server.server.running
    assert client.health()
    listed = httpx.get(llama_server.base_url + "/models", trust_env=False, timeout=10.0).json()
    assert [model["id"] for model in listed["data"]] == [MODEL]


@pytest.mark.parametrize(
    "prompt",
    [
        "Go to 1 minute 30 seconds into the video, where the dog appears.",
        "Show me the moment at 12 seconds when the car crashes.",
        "Skip to the end of the talk, around 300 seconds.",
    ],
)
def test_named_tool_choice_returns_a_schema_valid_call(client: VLMClient, prompt: str) -> None:
    choice = {"type": "function", "function": {"name": "seek_video"}}
    call = client.tool_call(prompt, [SEARCH_TRANSCRIPT, SEEK_VIDEO], tool_choice=choice, max_tokens=96)
    assert call["name"] == "seek_video"
    arguments = call["arguments"]
    assert isinstance(arguments, dict) and {"timestamp_seconds", "reason"} <= arguments.keys()
    assert _is_json_number(arguments["timestamp_seconds"]), arguments
    _assert_short_text(arguments["reason"])


def test_named_tool_choice_picks_the_named_tool_among_several(client: VLMClient) -> None:
    choice = {"type": "function", "function": {"name": "search_transcript"}}
    call = client.tool_call(
        "Find where the speaker says the word budget.", [SEEK_VIDEO, SEARCH_TRANSCRIPT], choice, max_tokens=96
    )
    assert call["name"] == "search_transcript"
    _assert_short_text(call["arguments"]["query"])


def test_a_single_tool_is_forced_without_tool_choice(client: VLMClient) -> None:
    call = client.tool_call("What did they say about the weather?", [SEARCH_TRANSCRIPT], max_tokens=96)
    assert call["name"] == "search_transcript"
    assert set(call["arguments"]) >= {"query"}
    _assert_short_text(call["arguments"]["query"])


def test_completion_and_stream_give_the_same_real_answer(client: VLMClient) -> None:
    prompt = "What is the capital of France? Answer in one sentence."
    answer = client.complete(prompt, max_tokens=32)
    pieces = list(client.stream(prompt, max_tokens=32))
    assert "Paris" in answer  # a real model, not random weights
    assert len(pieces) > 1 and all(pieces)
    assert "".join(pieces) == answer  # greedy decoding: the same tokens, streamed


def test_a_prompt_longer_than_the_context_is_an_invalid_request(client: VLMClient) -> None:
    with pytest.raises(InvalidRequest, match=r"HTTP 400.*maximum context length is 2048 tokens"):
        client.complete("video " * (N_CTX + 200), max_tokens=16)


def test_a_body_the_server_rejects_with_500_is_retried_then_unreachable(llama_server: LlamaServer) -> None:
    vlm = VLMClient(llama_server.base_url, MODEL, max_retries=1, backoff_s=0.01)
    with vlm, pytest.raises(BackendUnreachable, match=r"failed after 2 attempts: HTTP 500.*temperature"):
        vlm.complete("Hello", max_tokens=4, temperature="hot")
    assert llama_server.server.running
