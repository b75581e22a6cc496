"""The commands that show what memory holds: inspect one video, search the library, list or remove videos, and
draw a video's timeline or actor graph."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from cli.common import console_progress, settings_for
from cli.errors import bad_input
from ui.terminal_text import terminal_json, terminal_line


def ingested_memory(args: argparse.Namespace) -> Any:
    """The memory of `args.video`, ingesting it first (with progress) when it is not current."""
    from memory.ingest.pipeline import ingest_video
    from memory.video_memory import VideoMemory

    settings = settings_for(args)
    with console_progress(args) as progress:
        ingest_video(args.video, settings, progress=progress)
    return VideoMemory.for_path(settings, args.video)


def cmd_inspect(args: argparse.Namespace) -> int:
    """Show what memory holds about a video (ingesting it first if needed)."""
    from memory.views import VIEWS

    view = VIEWS[args.what](ingested_memory(args))
    if args.json:
        print(terminal_json(view))
    elif args.what == "screen_text":
        for line in screen_text_lines(view):
            print(terminal_line(line))
    elif args.what == "objects":
        for line in objects_lines(view):
            print(terminal_line(line))
    else:
        from ui.console import print_view

        print_view(args.what, view)
    return 0


def screen_text_lines(view: dict[str, Any]) -> list[str]:
    """The `inspect --what screen_text` view as lines: a heading naming the video, then
    `[mm:ss-mm:ss] “TEXT” (confidence 0.93)` per text; one line when nothing was (or could be) read."""
    from core.types import format_timestamp

    name = Path(view["video_path"]).name
    if not view["read"]:
        return [f"{name}: text on screen was not read (no on-screen text reader was available when it was ingested)"]
    items = view["screen_text"]
    frames = f"{view['frames_read']} frame{'' if view['frames_read'] == 1 else 's'} read"
    if not items:
        return [f"{name}: no text was read on screen ({frames})"]
    lines = [f"text on screen in {name}: {len(items)} text{'' if len(items) == 1 else 's'} ({frames})"]
    for item in items:
        span = f"{format_timestamp(item['t0'])}-{format_timestamp(item['t1'])}"
        lines.append(f"[{span}] “{item['text']}” (confidence {item['confidence']:.2f})")
    return lines


def objects_lines(view: dict[str, Any]) -> list[str]:
    """The `inspect --what objects` view as lines: a heading, then `[mm:ss-mm:ss] cup (2 at once, best 0.57)` per
    showing; one line when nothing was (or could be) detected."""
    from core.types import format_timestamp

    name = Path(view["video_path"]).name
    if not view["detected"]:
        return [f"{name}: objects were not detected (no object detector was available when it was ingested)"]
    shown = view["objects"]
    frames = f"{view['frames']} frames, {view['classes']} classes known"
    if not shown:
        return [f"{name}: no object was detected ({frames})"]
    lines = [f"objects in {name}: {len(shown)} showing{'' if len(shown) == 1 else 's'} ({frames})"]
    for item in shown:
        span = f"{format_timestamp(item['t0'])}-{format_timestamp(item['t1'])}"
        lines.append(f"[{span}] {item['label']} ({item['most']} at once, best score {item['confidence']:.2f})")
    return lines


def cmd_search(args: argparse.Namespace) -> int:
    """Hybrid search over the whole library (or the --video ones): speech, captions and pictures."""
    from memory.library import Library

    settings = settings_for(args)
    t_range = tuple(args.between) if args.between else None
    with console_progress(args):
        library = Library(settings)
        hits = library.search(args.query, videos=args.video, t_range=t_range, actors=args.actor,
                              objects=args.objects, top_k=args.top_k)
    if args.json:
        files = {h.video_id: str(library.memory(h.video_id).ref.path) for h in hits}
        print(terminal_json({"query": args.query, "results": [h.to_dict() | {"file": files[h.video_id]} for h in hits]}))
        return 0
    if not hits:
        print("nothing in memory matches")
    for hit in hits:
        name = library.memory(hit.video_id).ref.path.name
        print(terminal_line(f"{name} {hit.cite()} {hit.kind:<13} {hit.text}"))
    return 0


def cmd_library(args: argparse.Namespace) -> int:
    """List, remove or count the videos in memory."""
    from memory.library import Library

    library = Library(settings_for(args))
    if args.action == "rm":
        if not args.videos:
            raise bad_input("library rm needs at least one VIDEO (a path, video id or file name)")
        removed = [library.remove(video) for video in args.videos]
        if args.json:
            print(json.dumps({"removed": removed}))
        else:
            for video_id in removed:
                print(terminal_line(f"removed {video_id}"))
        return 0
    if args.action == "stats":
        stats = library.stats()
        if args.json:
            print(json.dumps(stats, indent=2))
        else:
            for key, value in stats.items():
                print(terminal_line(f"{key:>13}: {value}"))
        return 0
    rows = library.listing()
    if args.json:
        print(json.dumps(rows, indent=2))
    elif not rows:
        print(terminal_line(f"the library at {library.settings.data_dir} is empty"))
    else:
        from ui.console import print_library

        print_library(rows)
    return 0


def cmd_timeline(args: argparse.Namespace) -> int:
    """Draw one video's structure over time: scene clusters, triggers, speech, actors."""
    from ui.timeline_picture import draw_timeline

    out = draw_timeline(ingested_memory(args), Path(args.out).expanduser())
    print(terminal_line(str(out)))
    return 0


def cmd_graph(args: argparse.Namespace) -> int:
    """Draw one video's actor graph (temporal, spatial, speech and interaction edges) as a PNG."""
    from ui.graph_picture import draw_actor_graph

    memory = ingested_memory(args)
    out = draw_actor_graph(memory.actor_graph(), Path(args.out).expanduser(), title=f"actors of {memory.ref.path.name}")
    print(terminal_line(str(out)))
    return 0
