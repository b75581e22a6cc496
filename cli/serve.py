"""`serve-vlm`: start a VLM server (vLLM, or `transformers serve`) and keep it running until Ctrl-C."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from cli.common import settings_for
from ui.terminal_text import terminal_line


def cmd_serve_vlm(args: argparse.Namespace) -> int:
    """Start a VLM server (vLLM, or `transformers serve`), wait for /health, print the URL, stop on Ctrl-C."""
    import shlex
    import shutil

    from core.errors import BackendUnreachable
    from models.registry import HF_HOST, host_reachable
    from models.vlm.server import ManagedServer, transformers_serve_command, transformers_serve_env, vllm_command

    env = None
    if args.engine == "vllm":
        argv = vllm_command(args.model, args.port, host=args.host, tool_calling=args.tools)
        install = "vllm is not installed here (GPU machines: pip install -e '.[gpu]')"
    else:
        device = args.device or "auto"
        argv = transformers_serve_command(args.model, args.port, host=args.host, device=device)
        local = Path(args.model).expanduser().is_dir()
        env = transformers_serve_env(
            settings_for(args).data_dir / "hub-cache", offline=local or not host_reachable(HF_HOST)
        )
        install = "`transformers serve` is not on PATH (pip install 'transformers[serving]')"
    if args.print_command:
        print(shlex.join(argv))
        return 0
    if shutil.which(argv[0]) is None:
        raise BackendUnreachable(install)
    base_url = f"http://{args.host}:{args.port}"
    server = ManagedServer(argv, base_url, health_path="/health", startup_timeout_s=args.startup_timeout, env=env)
    try:
        with server:
            print(
                terminal_line(f"{args.engine} is serving {args.model}; OpenAI-compatible endpoint: {base_url}/v1 "
                              "(Ctrl-C stops it)"),
                flush=True,
            )  # fmt: skip
            print(f"export VIDSAGE_VLM_URL={base_url}/v1", flush=True)
            while server.running:
                time.sleep(0.5)
    except KeyboardInterrupt:  # the way to stop it: the server is already stopped by the `with`
        print(f"stopped the {args.engine} server at {base_url}", file=sys.stderr)
        return 0
    raise BackendUnreachable(f"the {args.engine} server at {base_url} exited; see {server.log_path}")
