"""HTML bodies (Outlook/Word tables, webmail divs) → label/value plain text."""

from __future__ import annotations

from html.parser import HTMLParser

_BLOCK = {"p", "div", "br", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "table",
          "tbody", "thead", "blockquote", "pre", "hr", "section", "article", "dl", "dt", "dd"}
_SKIP = {"style", "script", "head", "title", "xml", "o:smarttagtype"}


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self.buf: list[str] = []
        self.skip = 0
        self.row: list[str] | None = None
        self.cell: list[str] | None = None

    # Text goes into the current cell when inside a table, else into the line buffer.
    def _sink(self) -> list[str]:
        return self.cell if self.cell is not None else self.buf

    def _flush(self) -> None:
        line = "".join(self.buf).replace("\xa0", " ").strip()
        self.buf = []
        self.lines.append(line)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP:
            self.skip += 1
        elif tag == "tr":
            self._flush()
            self.row = []
        elif tag in ("td", "th"):
            self.cell = []
        elif tag in _BLOCK:
            if self.cell is not None:
                self.cell.append("\n")
            else:
                self._flush()

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("br", "hr"):
            self._sink().append("\n") if self.cell is not None else self._flush()

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            self.skip = max(0, self.skip - 1)
        elif tag in ("td", "th"):
            if self.cell is not None and self.row is not None:
                text = "\n".join(s.strip() for s in "".join(self.cell).replace("\xa0", " ")
                                 .split("\n") if s.strip())
                self.row.append(text)
            self.cell = None
        elif tag == "tr":
            self._end_row()
        elif tag == "table":
            self._end_row()
            self.lines.append("")
        elif tag in _BLOCK and self.cell is None:
            self._flush()

    def _end_row(self) -> None:
        if self.row is None:
            return
        cells = [c for c in self.row if c]
        if len(cells) == 2:
            # A label cell and a value cell: the shape of a report written as a table.
            self.lines.append(f"{cells[0]}：{cells[1]}")
        elif cells:
            self.lines.append("  ".join(cells))
        self.row = None

    def handle_data(self, data: str) -> None:
        if self.skip:
            return
        self._sink().append(" ".join(data.split("\n")) if self.cell is None else data.replace("\n", " "))


def html_to_text(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    parser.close()
    parser._flush()
    out: list[str] = []
    for line in parser.lines:
        if line or (out and out[-1]):
            out.append(line)
    return "\n".join(out).strip()
