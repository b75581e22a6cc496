"""Raw failures of a Chroma call, as vidsage errors naming the store: a server that stops answering is
BackendUnreachable (exit 5), a damaged embedded store MemoryCorrupt (exit 4). A failed read must never
look like an empty result, and must never leave as an error type the CLI calls "internal"."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from core.errors import BackendUnreachable, MemoryCorrupt, VidsageError
from memory.layout import DataLayout


def server_url(client: Any) -> str:
    """The address a Chroma HttpClient talks to, as the user configured it (`http://host:port`)."""
    settings = client.get_settings()
    scheme = "https" if settings.chroma_server_ssl_enabled else "http"
    return f"{scheme}://{settings.chroma_server_host}:{settings.chroma_server_http_port}"


def first_line(error: BaseException) -> str:
    """An exception's message cut to its first line (library errors carry tracebacks and hints below)."""
    return (str(error).strip().splitlines() or [type(error).__name__])[0]


def damaged_store(chroma_dir: Path, error: BaseException, doing: str = "read") -> MemoryCorrupt:
    """The error for an embedded store that cannot be opened or read, with the way to recover."""
    return MemoryCorrupt(
        f"{chroma_dir}: vector store cannot be {doing} ({first_line(error)}); move it aside "
        f"(mv {chroma_dir} {chroma_dir}.damaged) and run `main.py ingest` again: each video's rows are rebuilt"
    )


def mapped_error(error: Exception, client: Any, local: DataLayout | None) -> VidsageError | None:
    """The vidsage error a raw Chroma failure stands for; None for one that is not the store's (a bug)."""
    import httpx
    from chromadb.errors import ChromaError, InternalError

    if local is None:  # a Chroma server
        lost = isinstance(error, (httpx.HTTPError, OSError)) or (
            isinstance(error, ValueError) and "connect" in str(error).lower()
        )
        if lost:
            return BackendUnreachable(f"Chroma server {server_url(client)} does not answer ({first_line(error)})")
        if isinstance(error, ChromaError):
            return BackendUnreachable(f"Chroma server {server_url(client)} failed a request ({first_line(error)})")
        return None
    if isinstance(error, (InternalError, sqlite3.DatabaseError, OSError)):
        return damaged_store(local.chroma_dir, error)
    return None


@contextmanager
def store_failures(client: Any, local: DataLayout | None) -> Iterator[None]:
    """Raise a raw Chroma failure inside the block as the vidsage error naming the store: the embedded one
    of the data dir `local`, or (None) the client's server."""
    try:
        yield
    except VidsageError:
        raise
    except Exception as error:
        mapped = mapped_error(error, client, local)
        if mapped is None:
            raise
        raise mapped from error
