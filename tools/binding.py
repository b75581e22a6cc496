"""What a tool set is bound to: the videos of a conversation, the loaded models, the library; and how a
tool reports a problem so that the calling model can read it.

Every tool takes an optional `video` (a file name, path, id or id prefix); it selects among the bound
videos, the first being the default. A problem with the call (an unknown video, a bad actor id, a time
past the end) comes back as the tool's text (`error: ...`, status `error`) for the planner to act on. A
failed source (damaged memory, a server down, a model that cannot load) is not the call's problem: it
leaves the tool as its VidsageError, so the agent records it as an error and never as "nothing found".
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from langchain_core.tools import BaseTool, StructuredTool, ToolException
from pydantic import BaseModel, ValidationError

from core.errors import InvalidRequest, VidsageError
from core.types import Evidence, format_timestamp
from memory.library import Library
from memory.video_memory import VideoMemory
from models.cache import ModelCache

ToolResult = tuple[str, list[Evidence]]
VIDEO_FIELD_HELP = "Which video: its file name or id. Omit it for the first (or only) video."


class ToolError(ToolException):
    """A problem the calling model should read and can act on (wrong id, time past the end...)."""


class VideoSet:
    """The videos a tool set answers about, the models it may run, and the library searches go through."""

    def __init__(self, memories: Sequence[VideoMemory], models: ModelCache, library: Library | None = None) -> None:
        if not memories:
            raise ValueError("a tool set needs at least one video memory")
        self.memories = list(memories)
        self.models = models
        self._libraries: dict[Path, Library] = {}
        if library is not None:
            self._libraries[Path(library.settings.data_dir)] = library

    @property
    def default(self) -> VideoMemory:
        return self.memories[0]

    def names(self) -> dict[str, str]:
        """Video id -> name to show in renderings (the file name; the id where two files share one)."""
        counts: dict[str, int] = {}
        for memory in self.memories:
            counts[memory.ref.path.name] = counts.get(memory.ref.path.name, 0) + 1
        return {m.video_id: (m.ref.path.name if counts[m.ref.path.name] == 1 else m.video_id) for m in self.memories}

    def render_names(self) -> dict[str, str] | None:
        """Names for rendering, only when there is more than one video to tell apart."""
        return self.names() if len(self.memories) > 1 else None

    def listing(self) -> str:
        return ", ".join(f"{name} (id {video_id})" for video_id, name in self.names().items())

    def resolve(self, video: str | None) -> VideoMemory:
        """The bound video a reference names: id, unique id prefix, file name, stem or path; None: the first."""
        if video is None or not str(video).strip():
            return self.default
        reference = str(video).strip()
        tests: list[Callable[[VideoMemory], bool]] = [
            lambda m: m.video_id == reference or m.ref.content_hash == reference,
            lambda m: str(m.ref.path) == reference or m.ref.path.name == reference,
            lambda m: m.ref.path.name == Path(reference).name,
            lambda m: m.ref.path.stem == reference,
            lambda m: len(reference) >= 4 and m.video_id.startswith(reference),
        ]
        for test in tests:
            matches = [m for m in self.memories if test(m)]
            if len(matches) == 1:
                return matches[0]
            if len(matches) > 1:
                raise ToolError(f"video {reference!r} is ambiguous: it matches {len(matches)} videos; "
                                f"use an id ({', '.join(m.video_id for m in matches)})")  # fmt: skip
        raise ToolError(f"unknown video {reference!r}; the videos here are: {self.listing()}")

    def select(self, video: str | None) -> list[VideoMemory]:
        """For searches: the named video, or every bound video when none is named."""
        return self.memories if video is None or not str(video).strip() else [self.resolve(video)]

    def library(self, memory: VideoMemory) -> Library:
        """The library holding a video (one per data dir, made on first use)."""
        key = Path(memory.settings.data_dir)
        if key not in self._libraries:
            self._libraries[key] = Library(memory.settings, self.models)
        return self._libraries[key]


def validation_message(error: ValidationError) -> str:
    """A validation error as one line a model can act on: which argument, what was wrong."""
    problems = []
    for item in error.errors():
        where = ".".join(str(part) for part in item.get("loc", ()))
        message = str(item.get("msg", "invalid")).removeprefix("Value error, ")
        problems.append(f"{where}: {message}" if where else message)
    return "error: invalid arguments: " + "; ".join(problems)


def tool_error_message(error: ToolException) -> str:
    return f"error: {error}"


def is_source_failure(error: BaseException) -> bool:
    """Whether an error is a failed source (memory, a server, a model, the video file) rather than a problem
    with the call's arguments, which the planner reads and can fix."""
    return isinstance(error, VidsageError) and not isinstance(error, InvalidRequest)


@dataclass(frozen=True)
class ToolInfo:
    """What the agent and the UI need to know about a tool, set where the tool is made."""

    activity: str
    """What the tool is doing, as a progress line shows it ("searching the transcript")."""
    searched: str
    """What it looked through, as an answer names it ("the transcript", "the tracked people")."""
    uses_vlm: bool = False
    """It may call the VLM (and send it frames): the agent gates it on the model-call budget."""


def tool_info(tool: BaseTool) -> ToolInfo:
    """The ToolInfo a tool was made with (a plain one, named after the tool, for tools made elsewhere)."""
    info = (tool.metadata or {}).get("vidsage")
    return info if isinstance(info, ToolInfo) else ToolInfo(f"running {tool.name}", tool.name)


def make_tool(
    function: Callable[..., ToolResult], name: str, description: str, args_schema: type[BaseModel], info: ToolInfo
) -> BaseTool:
    """A StructuredTool answering (text, Evidence list), each Evidence's `source` set to the tool's name; a bad
    request becomes a readable tool error, a failed source propagates (see `is_source_failure`)."""

    @functools.wraps(function)
    def run(**kwargs: Any) -> ToolResult:
        try:
            text, evidence = function(**kwargs)
        except InvalidRequest as error:
            raise ToolError(str(error)) from error
        return text, [e if e.source == name else dataclasses.replace(e, source=name) for e in evidence]

    return StructuredTool.from_function(
        run,
        name=name,
        description=description,
        args_schema=args_schema,
        response_format="content_and_artifact",
        handle_tool_error=tool_error_message,
        handle_validation_error=validation_message,
        metadata={"vidsage": info},
    )


def check_within(memory: VideoMemory, *times: float) -> None:
    """Raise a ToolError when a time lies past the end of the video."""
    duration = memory.ref.duration
    for t in times:
        if t > duration + 1e-6:
            raise ToolError(
                f"{format_timestamp(t)} ({t:g} s) is past the end of {memory.ref.path.name}, "
                f"which lasts {format_timestamp(duration)} ({duration:g} s)"
            )
