"""The planner's tool-calling chat model: LangChain's ChatOpenAI pointed at an OpenAI-compatible server.

vLLM serves it with `--enable-auto-tool-choice --tool-call-parser hermes` (see `serve-vlm`); any server
that answers chat completions with `tool_calls` works. Nothing is downloaded: the model lives on the
server. Without an endpoint there is no chat model and the agent plans by rules.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from core.errors import InvalidRequest
from core.settings import Settings

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel


def planner_endpoint(settings: Settings) -> str | None:
    """Where the planner's chat model is served: `planner_url`, else the VLM's endpoint."""
    return settings.planner_url or settings.vlm_url


def load_chat_model(settings: Settings) -> BaseChatModel | None:
    """The planner's chat model per `settings.planner`: None for `rules`, and for `auto` unless `planner_url` is
    set (a VLM endpoint alone may not do tool calls; `llm` uses it as the planner too)."""
    url = planner_endpoint(settings)
    if settings.planner == "rules" or (settings.planner == "auto" and settings.planner_url is None):
        return None
    if url is None:
        raise InvalidRequest("planner 'llm' needs an endpoint: set VIDSAGE_PLANNER_URL or VIDSAGE_VLM_URL")
    from langchain_openai import ChatOpenAI

    model = settings.planner_model or (settings.vlm_model if settings.planner_url is None else None)
    if not model:
        from models.vlm.client import VLMClient

        with VLMClient(url, "", api_key=settings.vlm_api_key, timeout_s=settings.vlm_timeout_s) as client:
            served = client.served_models()
        if not served:
            raise InvalidRequest(f"the planner server at {url} lists no model: set VIDSAGE_PLANNER_MODEL")
        model = served[0]
    return ChatOpenAI(
        base_url=url.rstrip("/"),
        model=model,
        api_key=settings.vlm_api_key,  # type: ignore[arg-type]
        temperature=0.0,
        max_completion_tokens=settings.planner_tokens,
        extra_body={"max_tokens": settings.planner_tokens},  # servers on the older API (llama.cpp) read only this
        timeout=settings.vlm_timeout_s,
        max_retries=1,
    )
