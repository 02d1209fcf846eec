"""The `mailflow` command: its parser and the handlers of each command."""

from .commands import main

__all__ = ["main"]
