"""vidsage command line: ingest videos into memory and ask questions about them.

Thin by design: it parses arguments and runs the command; the commands and what they print are in `cli/`.
Heavy libraries are imported only inside the commands, so `--help` and cached work start fast.
"""

from __future__ import annotations

import sys


def run(argv: list[str] | None = None) -> int:
    """Entry point: parse `argv`, run its command (every failure a one-line message), return the exit code."""
    from cli.errors import run_command
    from cli.parser import build_parser

    return run_command(build_parser().parse_args(argv))


if __name__ == "__main__":
    sys.exit(run())
