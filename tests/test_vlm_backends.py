"""Which VLM backend serves, per profile and settings, and what the vLLM engine is built with."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import ServedModel

from core.errors import BackendUnreachable, InvalidRequest
from core.settings import Settings
from models.registry import ModelPlan, resolve
from models.vlm.backend import load_vlm
from models.vlm.local import hf_conversation
from models.vlm.server import vllm_command
from models.vlm.vllm_engine import vllm_engine_args, vllm_sampling_args


def test_vlm_role_per_profile(tmp_path: Path) -> None:
    offline = resolve("vlm", Settings(profile="offline", data_dir=tmp_path))
    assert offline.spec is None and "VIDSAGE_VLM_URL" in offline.note
    assert resolve("vlm", Settings(profile="tiny", data_dir=tmp_path)).spec.source == "tiny"  # type: ignore[union-attr]
    served = resolve("vlm", Settings(profile="offline", data_dir=tmp_path, vlm_url="http://127.0.0.1:9/v1",
                                     vlm_model="llava-hf/llava-onevision-qwen2-7b-ov-hf"))  # fmt: skip
    assert served.spec is not None and served.spec.source == "endpoint"
    assert served.spec.description == "llava-hf/llava-onevision-qwen2-7b-ov-hf at http://127.0.0.1:9/v1"
    local = resolve("vlm", Settings(profile="offline", data_dir=tmp_path, vlm_model="/models/llava"))
    assert local.spec is not None and local.spec.source == "override" and local.spec.location == "/models/llava"
    real = resolve("vlm", Settings(profile="real", data_dir=tmp_path))
    assert real.spec is not None and real.spec.location == "llava-hf/llava-onevision-qwen2-0.5b-ov-hf"
    summary = ModelPlan(Settings(profile="offline", data_dir=tmp_path)).summary()
    assert summary["vlm"] == "disabled" and summary["captioner"] == "disabled"


def test_vllm_engine_matches_the_served_flags() -> None:
    args = vllm_engine_args("llava-hf/llava-onevision-qwen2-7b-ov-hf")
    argv = vllm_command("llava-hf/llava-onevision-qwen2-7b-ov-hf", 8000)
    assert args["model"] == argv[2]
    assert args["limit_mm_per_prompt"] == json.loads(argv[argv.index("--limit-mm-per-prompt") + 1]) == {"image": 16}
    assert args["max_model_len"] == int(argv[argv.index("--max-model-len") + 1]) == 32768
    assert vllm_sampling_args({"max_tokens": 64}) == {"temperature": 0.0, "max_tokens": 64}
    assert vllm_sampling_args({"temperature": 0.7, "top_p": 0.9}) == {"temperature": 0.7, "max_tokens": 256, "top_p": 0.9}


def test_in_process_conversation_puts_images_first_in_the_last_message() -> None:
    history = [{"role": "system", "content": "be brief"}, {"role": "user", "content": [{"type": "text", "text": "hi"}]}]
    assert hf_conversation(history, 2) == [
        {"role": "system", "content": [{"type": "text", "text": "be brief"}]},
        {"role": "user", "content": [{"type": "image"}, {"type": "image"}, {"type": "text", "text": "hi"}]},
    ]
    with pytest.raises(InvalidRequest):
        hf_conversation([], 0)


def test_an_endpoint_without_a_model_name_asks_the_server(transformers_server: ServedModel, tmp_path: Path) -> None:
    settings = Settings(profile="offline", data_dir=tmp_path, vlm_url=transformers_server.base_url)
    spec = resolve("vlm", settings).spec
    assert spec is not None
    with pytest.raises(BackendUnreachable) as caught:  # transformers serve lists no preloaded local model
        load_vlm(spec, settings)
    assert "VIDSAGE_VLM_MODEL" in str(caught.value) and "\n" not in str(caught.value)
    named = settings.model_copy(update={"vlm_model": transformers_server.model})
    client = load_vlm(resolve("vlm", named).spec, named)  # type: ignore[arg-type]
    assert client.complete("hello", max_tokens=4)
    assert transformers_server.base_url in client.description
