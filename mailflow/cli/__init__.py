"""The `mailflow` command: the parser and the handler of each command (commands.py), with
check-config and the demo beside them."""

from .commands import build_parser, main

__all__ = ["build_parser", "main"]
