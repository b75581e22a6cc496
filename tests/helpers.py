"""Test helpers: damaged copies of real videos, and snapshots of a data dir's files."""

from __future__ import annotations

import hashlib
import socket
from pathlib import Path

import av


def truncated_copy(source: Path, target: Path, keep: float = 0.6) -> Path:
    """The first `keep` fraction of a file's bytes (an interrupted download)."""
    data = source.read_bytes()
    target.write_bytes(data[: int(len(data) * keep)])
    return target


def faststart_copy(source: Path, target: Path) -> Path:
    """The same streams remuxed with the index (moov) at the front of the file."""
    with av.open(str(source)) as src, av.open(str(target), "w", format="mp4", options={"movflags": "faststart"}) as dst:
        mapping = {s.index: dst.add_stream_from_template(s) for s in src.streams if s.type in ("video", "audio")}
        for packet in src.demux(*[s for s in src.streams if s.index in mapping]):
            if packet.dts is None:
                continue
            packet.stream = mapping[packet.stream.index]
            dst.mux(packet)
    return target


def snapshot(root: Path) -> dict[str, str]:
    """Relative path -> content hash of every file under `root`."""
    return {
        str(path.relative_to(root)): hashlib.sha1(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def port_refuses(port: int) -> bool:
    """True when nothing accepts connections on 127.0.0.1:port (a stopped server is really gone)."""
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1.0).close()
    except OSError:
        return True
    return False
