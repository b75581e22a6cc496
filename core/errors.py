"""Errors vidsage shows to people: each carries a one-line message naming the file and the problem."""

from __future__ import annotations


class VidsageError(Exception):
    """Base class: `str(error)` is a complete one-line message for a person."""

    exit_code: int = 1


class VideoUnreadable(VidsageError):
    """The input is missing, not a video, empty, truncated or otherwise cannot be decoded."""

    exit_code = 2


class ModelUnavailable(VidsageError):
    """A model a role needs cannot be loaded from the hub, the local cache or a package."""

    exit_code = 3


class MemoryCorrupt(VidsageError):
    """Stored memory (manifest, Chroma collections) is unreadable or inconsistent."""

    exit_code = 4


class BackendUnreachable(VidsageError):
    """A configured server (VLM endpoint, Chroma server) does not answer."""

    exit_code = 5


class InvalidRequest(VidsageError):
    """A request is malformed: an empty question, an unknown option, a bad argument value."""

    exit_code = 2
