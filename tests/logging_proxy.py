"""A pass-through HTTP proxy that records what a client sends a real server and what the server answers.

It does not speak the OpenAI protocol itself: every request goes unchanged to the upstream server
(a real `transformers serve` or llama-cpp server) and its answer comes back unchanged; the proxy
only keeps a copy of both, so tests can count the images a server actually received.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "content-encoding", "host"}


@dataclass
class Exchange:
    """One request forwarded upstream and the upstream's answer."""

    method: str
    path: str
    request: Any
    status: int
    response: Any

    def image_count(self) -> int:
        """How many `image_url` parts the request's messages carried."""
        if not isinstance(self.request, dict):
            return 0
        return sum(
            1
            for message in self.request.get("messages", [])
            if isinstance(message.get("content"), list)
            for part in message["content"]
            if part.get("type") == "image_url"
        )

    def prompt_text(self) -> str:
        """The text parts of the request's messages, joined."""
        texts: list[str] = []
        for message in self.request.get("messages", []) if isinstance(self.request, dict) else []:
            content = message.get("content")
            if isinstance(content, str):
                texts.append(content)
            elif isinstance(content, list):
                texts.extend(part.get("text", "") for part in content if part.get("type") == "text")
        return "\n".join(texts)

    def answer(self) -> str:
        """The assistant text of a (non-streamed) chat completion answer."""
        return self.response["choices"][0]["message"]["content"] or ""


class LoggingProxy:
    """Listens on 127.0.0.1:<free port>, forwards to `upstream`, records every exchange in order."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.exchanges: list[Exchange] = []
        self._lock = threading.Lock()
        self._http = httpx.Client(timeout=300.0, trust_env=False)
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
                return None

            def do_GET(self) -> None:  # noqa: N802 - stdlib naming
                self._forward(b"")

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length", "0"))
                self._forward(self.rfile.read(length))

            def _forward(self, body: bytes) -> None:
                headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
                reply = proxy._http.request(self.command, proxy.upstream + self.path, content=body, headers=headers)
                proxy._record(self.command, self.path, body, reply)
                self.send_response(reply.status_code)
                for key, value in reply.headers.items():
                    if key.lower() not in HOP_BY_HOP:
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(reply.content)))
                self.end_headers()
                self.wfile.write(reply.content)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def _record(self, method: str, path: str, body: bytes, reply: httpx.Response) -> None:
        request = _json_or_text(body)
        response = _json_or_text(reply.content)
        with self._lock:
            self.exchanges.append(Exchange(method, path, request, reply.status_code, response))

    def completions(self) -> list[Exchange]:
        """The chat-completion exchanges so far."""
        with self._lock:
            return [e for e in self.exchanges if e.method == "POST" and e.path.endswith("/chat/completions")]

    def clear(self) -> None:
        with self._lock:
            self.exchanges.clear()

    def __enter__(self) -> LoggingProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._http.close()


def _json_or_text(data: bytes) -> Any:
    try:
        return json.loads(data) if data else None
    except (json.JSONDecodeError, UnicodeDecodeError):
        return data.decode("utf-8", errors="replace")
