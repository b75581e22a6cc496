"""Client for an OpenAI-compatible VLM server (vLLM in production): captions, chat, streaming, tool calls.

Built on the `openai` package's client rather than `langchain_openai.ChatOpenAI`: the client needs
exact control of retries (fast failure when nothing listens, backoff only on 5xx and dropped
connections), forced `tool_choice`, raw `image_url` parts and thread-safe batched calls, all of
which ChatOpenAI wraps in its own message conversion and retry layer. The agent's LangChain graph
can still point ChatOpenAI at the same endpoint.
"""

from __future__ import annotations

import base64
import contextvars
import io
import json
import random
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import CancelledError, Future, ThreadPoolExecutor
from typing import Any, TypeVar
from urllib.parse import urlparse

import httpx
import numpy as np
import openai
from PIL import Image

from core.errors import BackendUnreachable, InvalidRequest, VidsageError
from core.usage import record

T = TypeVar("T")
Messages = str | Sequence[dict[str, Any]]
"""A plain user prompt, or OpenAI chat messages (dicts with `role` and `content`)."""

_LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}


def one_line(text: object, limit: int = 240) -> str:
    """Collapse whitespace and cut to `limit` characters, so error messages stay one line."""
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def fit_image(frame: np.ndarray, max_side: int = 384) -> Image.Image:
    """An RGB uint8 frame as a PIL image, long side <= max_side: what a VLM is shown, by any backend."""
    if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3 or 0 in frame.shape:
        raise InvalidRequest(f"a VLM image must be an RGB uint8 array (H, W, 3), got {frame.dtype} {frame.shape}")
    image = Image.fromarray(np.ascontiguousarray(frame))
    image.thumbnail((max_side, max_side), Image.Resampling.BICUBIC)
    return image


def image_data_url(frame: np.ndarray, max_side: int = 384, quality: int = 85) -> str:
    """Encode an RGB uint8 frame as a base64 JPEG data URL, long side <= max_side, to keep requests small."""
    buffer = io.BytesIO()
    fit_image(frame, max_side).save(buffer, format="JPEG", quality=quality)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def chat_messages(messages: Messages, images: Sequence[np.ndarray] = (), image_max_side: int = 384) -> list[dict[str, Any]]:
    """OpenAI chat messages for a prompt or history, the images attached to the last message as JPEG parts."""
    chat = [{"role": "user", "content": messages}] if isinstance(messages, str) else [dict(m) for m in messages]
    if not chat:
        raise InvalidRequest("a VLM request needs at least one message")
    if images:
        last = chat[-1]
        content = last.get("content") or ""
        parts = [{"type": "text", "text": content}] if isinstance(content, str) else list(content)
        parts += [{"type": "image_url", "image_url": {"url": image_data_url(frame, image_max_side)}} for frame in images]
        chat[-1] = last | {"content": parts}
    return chat


def is_retryable(error: Exception) -> bool:
    """True for errors worth retrying: 5xx answers and dropped or refused connections, not timeouts or 4xx."""
    if isinstance(error, openai.APITimeoutError):
        return False
    if isinstance(error, openai.APIConnectionError):
        return True
    return isinstance(error, openai.APIStatusError) and error.status_code >= 500


class VLMClient:
    """Talks to one OpenAI-compatible chat endpoint (e.g. `http://127.0.0.1:8000/v1`) for one model."""

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key: str = "EMPTY",
        timeout_s: float = 120.0,
        max_retries: int = 3,
        max_concurrency: int = 16,
        image_max_side: int = 384,
        backoff_s: float = 0.25,
        connect_timeout_s: float = 3.0,
    ) -> None:
        if max_concurrency < 1 or max_retries < 0 or timeout_s <= 0:
            raise InvalidRequest("VLMClient needs max_concurrency >= 1, max_retries >= 0 and timeout_s > 0")
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.timeout_s = timeout_s
        self.max_retries = max_retries
        self.max_concurrency = max_concurrency
        self.image_max_side = image_max_side
        self.backoff_s = backoff_s
        self._http = httpx.Client(
            timeout=httpx.Timeout(timeout_s, connect=min(connect_timeout_s, timeout_s)),
            limits=httpx.Limits(max_connections=max_concurrency + 2, max_keepalive_connections=max_concurrency),
            trust_env=urlparse(self.base_url).hostname not in _LOOPBACK_HOSTS,
        )
        self._openai = openai.OpenAI(
            base_url=self.base_url, api_key=api_key, max_retries=0, timeout=timeout_s, http_client=self._http
        )

    def __enter__(self) -> VLMClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Release pooled connections."""
        self._openai.close()

    def health(self, timeout_s: float = 2.0) -> bool:
        """True when the server answers `/health` (vLLM) or `/v1/models` (any OpenAI server) with 200."""
        root = self.base_url.removesuffix("/v1")
        for url in (f"{root}/health", f"{self.base_url}/models"):
            try:
                if self._http.get(url, timeout=timeout_s).status_code == 200:
                    return True
            except httpx.HTTPError:
                return False
        return False

    @property
    def description(self) -> str:
        """Which model answers, and where, for reports."""
        return f"{self.model} at {self.base_url}"

    def served_models(self) -> list[str]:
        """The model ids the server offers (`GET /v1/models`), e.g. to pick the only one it serves."""
        page = self._with_retries(lambda: self._openai.models.list())
        return [model.id for model in page.data]

    def complete(self, messages: Messages, images: Sequence[np.ndarray] = (), **params: Any) -> str:
        """One chat completion; `images` are attached to the last user message; `params` go to the API."""
        request = self._request(messages, images, params)
        response = self._with_retries(lambda: self._openai.chat.completions.create(**request))
        _record(response, len(images))
        return response.choices[0].message.content or ""

    def stream(self, messages: Messages, images: Sequence[np.ndarray] = (), **params: Any) -> Iterator[str]:
        """Yield the answer's text pieces as the server produces them (retried only before the first piece)."""
        request = self._request(messages, images, params)
        chunks = self._with_retries(lambda: self._openai.chat.completions.create(stream=True, **request))
        usage_seen = False
        with chunks:
            try:
                for chunk in chunks:
                    if getattr(chunk, "usage", None) is not None and not usage_seen:
                        usage_seen = True
                        _record(chunk, len(images))
                    if chunk.choices and chunk.choices[0].delta.content:
                        yield chunk.choices[0].delta.content
            except (openai.APIError, httpx.HTTPError) as error:
                raise self._translate(error) from error
            finally:
                if not usage_seen:  # servers report usage in a stream only when asked; count the call anyway
                    record(images=len(images))

    def tool_call(
        self,
        prompt: Messages,
        tools: Sequence[dict[str, Any]],
        tool_choice: dict[str, Any] | str | None = None,
        images: Sequence[np.ndarray] = (),
        **params: Any,
    ) -> dict[str, Any]:
        """Ask for one tool call and return `{"name", "arguments"}`; forces the tool when only one is offered."""
        if tool_choice is None:
            tool_choice = _forced_choice(tools) if len(tools) == 1 else "auto"
        request = self._request(prompt, images, params) | {"tools": list(tools), "tool_choice": tool_choice}
        response = self._with_retries(lambda: self._openai.chat.completions.create(**request))
        _record(response, len(images))
        calls = response.choices[0].message.tool_calls or []
        if not calls:
            raise VidsageError(f"the VLM server at {self.base_url} answered without a tool call")
        return {"name": calls[0].function.name, "arguments": self._parse_arguments(calls[0].function.arguments)}

    def caption_batch(self, items: Sequence[tuple[str, Sequence[np.ndarray]]], **params: Any) -> list[str]:
        """Caption many (prompt, images) pairs with up to max_concurrency requests in flight, so the server batches."""
        if not items:
            return []
        failed = threading.Event()

        def caption(prompt: str, images: Sequence[np.ndarray]) -> str:
            if failed.is_set():
                raise CancelledError("an earlier caption in this batch failed")
            try:
                return self.complete(prompt, images, **params)
            except BaseException:
                failed.set()
                raise

        with ThreadPoolExecutor(max_workers=min(self.max_concurrency, len(items))) as pool:
            # each worker runs in a copy of this context, so the caller's usage meter sees its requests
            futures = [pool.submit(contextvars.copy_context().run, caption, prompt, images) for prompt, images in items]
            return _results_or_first_failure(futures)

    def _request(self, messages: Messages, images: Sequence[np.ndarray], params: dict[str, Any]) -> dict[str, Any]:
        """Build the chat-completions arguments: model, messages with image parts, deterministic by default."""
        chat = chat_messages(messages, images, self.image_max_side)
        return {"model": self.model, "messages": chat, "temperature": 0.0} | params

    def _with_retries(self, call: Callable[[], T]) -> T:
        """Run `call`, retrying 5xx and connection errors with exponential backoff; translate the final error."""
        for attempt in range(self.max_retries + 1):
            try:
                return call()
            except openai.APIError as error:
                if attempt == self.max_retries or not is_retryable(error):
                    raise self._translate(error) from error
                delay = self.backoff_s * 2**attempt
                time.sleep(delay + random.uniform(0.0, delay / 4))
        raise AssertionError("unreachable: the loop returns or raises")

    def _translate(self, error: Exception) -> VidsageError:
        """Turn an openai/httpx error into a one-line VidsageError that names the server."""
        where = f"the VLM server at {self.base_url}"
        if isinstance(error, openai.APITimeoutError | httpx.TimeoutException):
            return BackendUnreachable(f"{where} did not answer within {self.timeout_s:g} s")
        if isinstance(error, openai.APIConnectionError | httpx.TransportError):
            cause = error.__cause__ or error
            return BackendUnreachable(f"cannot reach {where}: {one_line(cause)} (is the server running?)")
        if isinstance(error, openai.APIStatusError):
            detail = f"HTTP {error.status_code}: {one_line(error.message)}"
            if error.status_code >= 500:
                return BackendUnreachable(f"{where} failed after {self.max_retries + 1} attempts: {detail}")
            return InvalidRequest(f"{where} rejected the request: {detail}")
        return VidsageError(f"{where} sent an unusable answer: {one_line(error)}")

    def _parse_arguments(self, arguments: str | None) -> dict[str, Any]:
        """Parse a tool call's JSON arguments into a dict, with a clear error when the model wrote bad JSON."""
        try:
            parsed = json.loads(arguments or "{}")
        except json.JSONDecodeError as error:
            message = f"the VLM server at {self.base_url} returned tool arguments that are not JSON"
            raise VidsageError(message) from error
        if not isinstance(parsed, dict):
            raise VidsageError(f"the VLM server at {self.base_url} returned tool arguments that are not an object")
        return parsed


def _record(response: Any, images: int) -> None:
    """Count one answered request (and its token usage when the server reports it) in the open meter."""
    usage = getattr(response, "usage", None)
    record(
        images=images,
        prompt_tokens=int(getattr(usage, "prompt_tokens", 0) or 0),
        completion_tokens=int(getattr(usage, "completion_tokens", 0) or 0),
    )


def _forced_choice(tools: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The tool_choice that forces the only offered tool."""
    return {"type": "function", "function": {"name": tools[0]["function"]["name"]}}


def _results_or_first_failure(futures: Sequence[Future[T]]) -> list[T]:
    """Wait for every future; raise the first real failure (not a skip after it), else return results in order."""
    errors = [future.exception() for future in futures]
    failure = next((e for e in errors if e is not None and not isinstance(e, CancelledError)), None)
    if failure is not None:
        raise failure
    return [future.result() for future in futures]
