"""Prints the CLI reference (every command's --help) as Markdown; with --write, replaces
the README's section between the cli-reference markers."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from mailflow.cli.parser import build_parser

BEGIN, END = "<!-- cli-reference: begin -->", "<!-- cli-reference: end -->"
README = Path(__file__).resolve().parent.parent / "README.md"


def reference() -> str:
    os.environ["COLUMNS"] = "100"  # argparse wraps to the terminal; the reference must not vary
    parser = build_parser()
    parser.prog = "mailflow"
    parts = ["```", parser.format_help().rstrip(), "```"]
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for name, p in sub.choices.items():
        parts += ["", f"### mailflow {name}", "", "```", p.format_help().rstrip(), "```"]
    return "\n".join(parts) + "\n"


def replaced(text: str) -> str:
    head, _, rest = text.partition(BEGIN)
    _, _, tail = rest.partition(END)
    return f"{head}{BEGIN}\n{reference()}{END}{tail}"


if __name__ == "__main__":
    if "--write" in sys.argv:
        README.write_text(replaced(README.read_text(encoding="utf-8")), encoding="utf-8")
    else:
        sys.stdout.write(reference())
