"""The `mailflow` command: the parser (parser.py) and the handler of each command
(commands.py), with check-config and the demo beside them."""

from .parser import build_parser, main

__all__ = ["build_parser", "main"]
