"""The `mailflow` command: its parser (parser.py) and the handlers of each command
(commands.py), with check-config and the demo beside them."""

from .parser import build_parser, main

__all__ = ["build_parser", "main"]
