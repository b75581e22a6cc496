"""Record where a command and every process and thread it starts try to send data, at the system-call level.

A Python audit hook sees neither native code (onnxruntime's telemetry thread) nor child processes, so this
runs the command under `strace -f` and parses each socket address that `connect`, `sendto`, `sendmsg` and
`sendmmsg` name (AF_INET, AF_INET6, AF_UNIX, AF_NETLINK, ...). A DNS query names its host in its payload, so
queries are decoded too: a failure can say "resolved mobile.events.data.microsoft.com", not only "port 53".

    recording = record([sys.executable, "main.py", "ingest", "talk.mp4"], env=env, cwd=repo)
    assert recording.leaving() == [], recording.describe()
"""

from __future__ import annotations

import ipaddress
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path

TRACED_CALLS = ("connect", "sendto", "sendmsg", "sendmmsg")
"""System calls that name a destination: `connect` for streams and connected datagrams, the rest per packet."""

LOCAL_FAMILIES = frozenset({"AF_UNIX", "AF_LOCAL", "AF_NETLINK", "AF_UNSPEC"})
"""Families that never leave the machine: unix sockets, netlink (the kernel), AF_UNSPEC (dissolves a connect)."""

_CALL = re.compile(r"^(?P<call>" + "|".join(TRACED_CALLS) + r")\((?P<fd>\d+), (?P<args>.*)$")
_SOCKADDR = re.compile(r'\{sa_family=(?P<family>AF_\w+)(?P<fields>(?:"(?:[^"\\]|\\.)*"|[^{}"])*)\}')
_RESULT = re.compile(r"\) += (?P<result>-?\d+(?: \w+)?)")
_PAYLOAD = re.compile(r'(?:^|iov_base=)"(?P<bytes>(?:[^"\\]|\\.)*)"')
_IP4 = re.compile(r'inet_addr\("(?P<ip>[^"]+)"\)')
_IP6 = re.compile(r'inet_pton\(AF_INET6, "(?P<ip>[^"]+)"')
_PORT = re.compile(r"sin6?_port=htons\((?P<port>\d+)\)")
_UNIX = re.compile(r'sun_path=(?P<abstract>@?)"(?P<path>(?:[^"\\]|\\.)*)"')
_NETLINK = re.compile(r"nl_pid=(?P<pid>\d+)")
_ESCAPE = re.compile(r"\\(x[0-9a-fA-F]{2}|[0-7]{1,3}|.)")
_LETTERS = {"n": 10, "t": 9, "r": 13, "v": 11, "f": 12, "a": 7, "b": 8, "e": 27}


@dataclass(frozen=True)
class Destination:
    """One address a traced thread tried to reach: `connect`ed to, or sent a packet to."""

    family: str
    """The address family, as strace names it: AF_INET, AF_INET6, AF_UNIX, AF_NETLINK, ..."""
    address: str
    """An IP address, a unix socket path (`@name` for the abstract namespace), or `pid=N` for netlink."""
    port: int | None
    call: str
    """The system call that named it."""
    tid: int
    """The thread (or process) that made the call."""
    result: str
    """What the call returned: `0`, a byte count, or `-1 ENOENT` and the like (`?` when strace lost it)."""
    queries: tuple[str, ...] = ()
    """Host names asked for in DNS queries sent to it (port 53)."""

    @property
    def loopback(self) -> bool:
        """True for 127.0.0.0/8, ::1 and their IPv4-mapped forms."""
        if self.family not in ("AF_INET", "AF_INET6"):
            return False
        try:
            ip = ipaddress.ip_address(self.address)
        except ValueError:
            return False
        mapped = getattr(ip, "ipv4_mapped", None)
        return ip.is_loopback or (mapped is not None and mapped.is_loopback)

    @property
    def leaves_machine(self) -> bool:
        """True unless it is a unix socket, netlink, or a loopback address."""
        return self.family not in LOCAL_FAMILIES and not self.loopback

    def __str__(self) -> str:
        host = f"[{self.address}]" if self.family == "AF_INET6" else self.address
        where = f"{host}:{self.port}" if self.port is not None else self.address
        asked = f" asking for {', '.join(self.queries)}" if self.queries else ""
        return f"{self.call} {self.family} {where}{asked} (thread {self.tid}, result {self.result})"


@dataclass
class Recording:
    """A finished traced command: its exit status and output, and every destination its threads named."""

    argv: list[str]
    returncode: int
    stdout: str
    stderr: str
    destinations: list[Destination] = field(default_factory=list)

    def leaving(self) -> list[Destination]:
        """The destinations off this machine (neither loopback, unix nor netlink), in the order seen."""
        return [d for d in self.destinations if d.leaves_machine]

    def families(self) -> set[str]:
        """Every address family reached."""
        return {d.family for d in self.destinations}

    def queried_hosts(self) -> set[str]:
        """Every host name looked up by DNS over the network."""
        return {name for d in self.destinations for name in d.queries}

    def describe(self, limit: int = 20) -> str:
        """A readable summary for an assertion message: what left the machine, then the exit status."""
        lines = [str(d) for d in self.leaving()[:limit]]
        if len(self.leaving()) > limit:
            lines.append(f"... and {len(self.leaving()) - limit} more")
        lines.append(f"exit {self.returncode}; stderr tail: {self.stderr[-500:]}")
        return "\n".join(lines)


def unescape(text: str) -> bytes:
    """Bytes of a string as strace prints it (C escapes: `\\n`, `\\0`, `\\177`, `\\x7f`, `\\"`)."""

    def one(match: re.Match[str]) -> str:
        code = match.group(1)
        if code[0] == "x" and len(code) == 3:
            return chr(int(code[1:], 16))
        if code[0] in "01234567":
            return chr(int(code, 8))
        return chr(_LETTERS.get(code, ord(code)))

    return _ESCAPE.sub(one, text).encode("latin-1")


def dns_query_name(payload: bytes) -> str | None:
    """The host name a DNS query packet asks for, or None when the payload is not one."""
    if len(payload) < 13 or payload[2] & 0x80:  # too short for a header and a name, or a response
        return None
    labels: list[str] = []
    at = 12
    while at < len(payload) and payload[at]:
        size = payload[at]
        if size > 63 or at + 1 + size > len(payload):
            return None  # a compression pointer or a truncated name: not a query strace showed whole
        labels.append(payload[at + 1 : at + 1 + size].decode("ascii", "replace"))
        at += 1 + size
    return ".".join(labels) if labels else None


def _destination(sockaddr: re.Match[str], call: str, tid: int, result: str, queries: tuple[str, ...]) -> Destination:
    """A Destination from one `{sa_family=...}` strace printed."""
    family, fields = sockaddr.group("family"), sockaddr.group("fields")
    port_match = _PORT.search(fields)
    port = int(port_match.group("port")) if port_match else None
    address = ""
    if ip := _IP4.search(fields) or _IP6.search(fields):
        address = ip.group("ip")
    elif unix := _UNIX.search(fields):
        address = unix.group("abstract") + unescape(unix.group("path")).decode("utf-8", "replace")
    elif netlink := _NETLINK.search(fields):
        address = f"pid={netlink.group('pid')}"
    return Destination(family, address, port, call, tid, result, queries if port == 53 else ())


def parse_thread(text: str, tid: int) -> list[Destination]:
    """Destinations in the strace log of one thread (`strace -ff` writes one file per thread).

    A `sendto` on a connected socket names no address: it is credited to what that descriptor was connected
    to, which is how a DNS query's host name joins the resolver's `connect` to port 53.
    """
    found: list[Destination] = []
    connected: dict[str, int] = {}  # fd -> index in `found` of its latest connect
    for line in text.splitlines():
        call = _CALL.match(line)
        if call is None:
            continue
        name, fd, args = call.group("call"), call.group("fd"), call.group("args")
        result_match = _RESULT.search(line)
        result = result_match.group("result") if result_match else "?"
        names = (dns_query_name(unescape(m.group("bytes"))) for m in _PAYLOAD.finditer(args) if name != "connect")
        queries = tuple(dict.fromkeys(n for n in names if n))
        addresses = list(_SOCKADDR.finditer(args))
        if not addresses and queries and fd in connected:
            earlier = found[connected[fd]]
            if earlier.port == 53:
                found[connected[fd]] = replace(earlier, queries=tuple(dict.fromkeys((*earlier.queries, *queries))))
            continue
        for sockaddr in addresses:
            found.append(_destination(sockaddr, name, tid, result, queries))
            if name == "connect":
                connected[fd] = len(found) - 1
    return found


def parse_logs(paths: Iterable[Path]) -> list[Destination]:
    """Destinations in every per-thread log `strace -ff -o PREFIX` wrote (`PREFIX.<tid>`)."""
    found: list[Destination] = []
    for path in sorted(paths, key=lambda p: int(p.suffix[1:]) if p.suffix[1:].isdigit() else 0):
        tid = int(path.suffix[1:]) if path.suffix[1:].isdigit() else 0
        found.extend(parse_thread(path.read_text(encoding="utf-8", errors="replace"), tid))
    return found


def _strace_argv(prefix: Path) -> list[str]:
    """strace, following every fork, clone and exec; seccomp-bpf stops only at the traced calls (fast)."""
    argv = ["strace", "-f", "-ff", "-qq", "-e", "signal=none", "-e", f"trace={','.join(TRACED_CALLS)}"]
    argv += ["-s", "512", "-o", str(prefix)]
    return argv + (["--seccomp-bpf"] if _seccomp_bpf_works() else [])


@cache
def _seccomp_bpf_works() -> bool:
    """True when this strace accepts --seccomp-bpf (strace >= 5.3 on a kernel with seccomp filters)."""
    with tempfile.TemporaryDirectory() as folder:
        done = subprocess.run(
            ["strace", "-f", "--seccomp-bpf", "-qq", "-e", "trace=connect", "-o", f"{folder}/t", "true"],
            capture_output=True,
            timeout=30,
        )
    return done.returncode == 0


def record(
    argv: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | str | None = None,
    timeout: float = 300,
    stdin: int | None = subprocess.DEVNULL,
    umask: int = -1,
) -> Recording:
    """Run `argv` under strace and return its exit status, output and every destination its threads named.

    `umask` (when not -1) is set for the command, as a user's shell would.
    """
    with tempfile.TemporaryDirectory(prefix="netrecorder-") as folder:
        prefix = Path(folder) / "trace"
        done = subprocess.run(
            [*_strace_argv(prefix), *argv],
            env=dict(env) if env is not None else None,
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=stdin,
            umask=umask,
        )
        destinations = parse_logs(Path(folder).glob("trace.*"))
    return Recording(list(argv), done.returncode, done.stdout, done.stderr, destinations)


_SELF_TEST = """
import socket
s = socket.socket(socket.AF_UNIX)
s.connect_ex("/nonexistent/netrecorder-self-test")
"""


@cache
def unavailable() -> str | None:
    """Why system-call recording cannot work here (no strace, ptrace not permitted), or None when it does."""
    if shutil.which("strace") is None:
        return "strace is not installed (make test installs it: apt-get install strace)"
    try:
        recording = record([sys.executable, "-c", _SELF_TEST], env=os.environ, timeout=60)
    except (OSError, subprocess.SubprocessError) as error:
        return f"strace could not run: {error}"
    if not any(d.address == "/nonexistent/netrecorder-self-test" for d in recording.destinations):
        first = (recording.stderr.strip().splitlines() or ["no output"])[0]
        return f"strace cannot trace processes here (is ptrace permitted?): {first}"
    return None
