"""Running a parsed command: the one place every failure becomes a one-line message and an exit code.

Exit codes: 0 ok, 1 internal error, 2 bad input, 3 model unavailable, 4 memory damaged, 5 backend unreachable
(a VidsageError's own `exit_code`), 130 interrupted, 141 stdout's reader went away (as `| head`).
"""

from __future__ import annotations

import argparse
import os
import sys

from cli.common import quiet_libraries, settings_for
from ui.terminal_text import terminal_line

EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 141
"""What a shell reports for a Unix tool whose output reader went away (128 + SIGPIPE), as `... | head -1`."""


def error(message: str) -> None:
    """`vidsage: error: MESSAGE` on stderr, control characters escaped."""
    print(f"vidsage: error: {terminal_line(message)}", file=sys.stderr)


def bad_input(message: str) -> Exception:
    """The error to raise for a request that cannot be run as given (exit 2)."""
    from core.errors import InvalidRequest

    return InvalidRequest(message)


def _stdout_copy() -> int | None:
    """A second descriptor of stdout, to ask later whether its reader went away: rich, finding out first,
    puts /dev/null in its place and exits 1."""
    try:
        return os.dup(sys.stdout.fileno())
    except (AttributeError, OSError, ValueError):
        return None


def _reader_gone(stdout: int | None) -> bool:
    """Whether `stdout` is a pipe whose reading end is closed (a BrokenPipeError from a socket is not that)."""
    import select

    if stdout is None:
        return False
    poller = select.poll()
    poller.register(stdout, select.POLLOUT)
    return any(events & select.POLLERR for _, events in poller.poll(0))


def _quiet_broken_pipe() -> int:
    """End quietly after the reader of stdout went away: unflushed output goes nowhere, no message."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return EXIT_BROKEN_PIPE


def run_command(args: argparse.Namespace) -> int:
    """Run the command `args` names (its `run`) and return the process exit code."""
    quiet_libraries(args.debug)
    stdout = _stdout_copy()
    try:
        from core.process_env import prepare_process  # before any command loads a library: no telemetry

        prepare_process(settings_for(args).data_dir)
        code = int(args.run(args))
        sys.stdout.flush()  # a reader that went away shows here, not in Python's own flush at exit
        return code
    except KeyboardInterrupt:
        error("interrupted")
        return EXIT_INTERRUPTED
    except SystemExit:
        if _reader_gone(stdout):  # rich's own exit on a closed stdout: end as any other broken pipe
            return _quiet_broken_pipe()
        raise
    except Exception as failure:  # the one place every failure becomes a one-line message
        from core.errors import VidsageError

        if isinstance(failure, BrokenPipeError) and _reader_gone(stdout):
            return _quiet_broken_pipe()
        if args.debug:
            raise
        if isinstance(failure, VidsageError):
            error(str(failure))
            return failure.exit_code
        from pydantic import ValidationError

        if isinstance(failure, ValidationError):
            error(f"invalid settings: {failure.errors()[0]['loc']}: {failure.errors()[0]['msg']}")
            return 2
        error(f"internal error: {type(failure).__name__}: {failure} (run with --debug for the traceback)")
        return 1
    finally:
        if stdout is not None:
            os.close(stdout)
