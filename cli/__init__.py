"""The command line's commands: one module per concept, each parsing nothing and printing what its command says.

`cli.parser` builds the argument parser (each sub-command names its function here), `cli.errors` runs a parsed
command and turns every failure into one line and an exit code; `main.py` only joins the two. Heavy libraries
are imported inside the commands, so `--help` and cached work start fast.
"""
