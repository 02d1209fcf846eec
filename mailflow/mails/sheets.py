"""Writing .xlsx attachments: one sheet per part, a bold header row, each sheet's XML
written row by row (openpyxl reads them back in the tests).

Numbers stay numbers: an int or float becomes a numeric cell with a display format
(thousands separators), and `Num` gives one its own format (a percentage), so Excel can
sum and sort what it shows. Text is only for what is not a number ("—", "新增")."""

from __future__ import annotations

import io
import pickle
import re
import tempfile
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import BinaryIO
from xml.sax.saxutils import escape

from openpyxl.utils import get_column_letter

Sheet = tuple[str, Sequence[str], "Sequence[Sequence[object]] | Spool"]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

INTEGER = "#,##0"
DECIMAL = "#,##0.00"
PERCENT = "0%"
CHANGE = "+0%;-0%;0%"


@dataclass(frozen=True)
class Num:
    """A number with its own display format, e.g. Num(0.25, PERCENT) shows 25%."""

    value: float
    number_format: str
    text: str = ""      # what the mail shows for it, used for the column width


def number_format(value: float) -> str:
    return INTEGER if float(value).is_integer() else DECIMAL


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _shown(value: object) -> str:
    if isinstance(value, Num):
        return value.text or str(value.value)
    if _is_number(value):
        return f"{value:,}"
    return str(value)


class Spool:
    """Rows kept in a temporary file, not in memory, for a sheet of a whole company's month
    (a million rows at 50,000 people): `add` appends, iterating reads them back in order
    (as often as wanted), and what `workbook` needs before the rows (how many, how wide each
    column is shown, the longest row) is counted as they are added. `close` removes the
    file."""

    _EVERY = 2000     # rows per pickled chunk

    def __init__(self) -> None:
        self._file = tempfile.TemporaryFile()
        self._chunk: list[Sequence[object]] = []
        self.count = 0
        self.widest: list[int] = []       # per column: the longest text a cell shows
        self.longest = 0                  # cells in the longest row

    def add(self, row: Sequence[object]) -> None:
        widest = self.widest
        if len(row) > len(widest):
            widest.extend([0] * (len(row) - len(widest)))
        for i, value in enumerate(row):
            # Most cells are text, shown as they are: measured without a call (a million
            # rows of a dozen cells at 50,000 people).
            shown = len(value) if type(value) is str else len(_shown(value))
            if shown > widest[i]:
                widest[i] = shown
        self.longest = max(self.longest, len(row))
        self.count += 1
        self._chunk.append(row)
        if len(self._chunk) >= self._EVERY:
            self._flush()

    def _flush(self) -> None:
        if self._chunk:
            pickle.dump(self._chunk, self._file, protocol=pickle.HIGHEST_PROTOCOL)
            self._chunk = []

    def __len__(self) -> int:
        return self.count

    def __iter__(self) -> Iterator[Sequence[object]]:
        self._flush()
        self._file.seek(0)
        while True:
            try:
                chunk = pickle.load(self._file)
            except EOFError:
                return
            yield from chunk

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> "Spool":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _measure(header: Sequence[str], rows: Sequence[Sequence[object]] | Spool
             ) -> tuple[list[int], int]:
    """Each column's width in characters (header and cells) and the longest row's length,
    in one pass over the rows (a Spool has counted them already)."""
    if isinstance(rows, Spool):
        widest, longest = list(rows.widest), rows.longest
    else:
        widest, longest = [], 0
        for r in rows:
            longest = max(longest, len(r))
            for i, value in enumerate(r):
                shown = len(value) if type(value) is str else len(_shown(value))
                if i >= len(widest):
                    widest.append(shown)
                elif shown > widest[i]:
                    widest[i] = shown
    widths = [max(len(str(name)), widest[i] if i < len(widest) else 0)
              for i, name in enumerate(header)]
    return widths, max(len(header), longest)


_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG = "http://schemas.openxmlformats.org/package/2006/relationships"
_CT = "application/vnd.openxmlformats-officedocument.spreadsheetml"
# Excel's own numbers for the formats it knows; others are declared in styles.xml.
_BUILTIN = {"General": 0, "0": 1, "0.00": 2, INTEGER: 3, DECIMAL: 4, PERCENT: 9}
# Characters XML 1.0 cannot carry (a control character pasted into a report).
_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")


def _column(n: int) -> str:
    return get_column_letter(n)


# Anything a cell's text cannot carry as it is: most text (Chinese, digits) has none, and
# one search decides it for the millions of cells of a large company's sheets.
_SPECIAL = re.compile("[&<>\x00-\x08\x0b\x0c\x0e-\x1f]")


def _text(value: str) -> str:
    if _SPECIAL.search(value):
        value = escape(_ILLEGAL.sub("", value))
    if value[:1].isspace() or value[-1:].isspace():
        return f'<is><t xml:space="preserve">{value}</t></is>'
    return f'<is><t>{value}</t></is>'


class _Styles:
    """cellXfs: 0 plain, 1 bold (the header), then one per number format used."""

    def __init__(self) -> None:
        self.formats: dict[str, int] = {}     # number format → its cellXfs index

    def index(self, fmt: str) -> int:
        if fmt not in self.formats:
            self.formats[fmt] = 2 + len(self.formats)
        return self.formats[fmt]

    def xml(self) -> str:
        custom = {fmt: 164 + i for i, fmt in enumerate(f for f in self.formats
                                                       if f not in _BUILTIN)}
        ids = {fmt: _BUILTIN.get(fmt, custom.get(fmt, 0)) for fmt in self.formats}
        numfmts = "".join(f'<numFmt numFmtId="{i}" formatCode="{escape(f, {chr(34): "&quot;"})}"/>'
                          for f, i in custom.items())
        xfs = "".join(f'<xf numFmtId="{ids[f]}" fontId="0" fillId="0" borderId="0" '
                      'xfId="0" applyNumberFormat="1"/>' for f in self.formats)
        return (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                f'<styleSheet xmlns="{_NS}">'
                + (f'<numFmts count="{len(custom)}">{numfmts}</numFmts>' if custom else "")
                + '<fonts count="2"><font><sz val="11"/><name val="Calibri"/></font>'
                '<font><b/><sz val="11"/><name val="Calibri"/></font></fonts>'
                '<fills count="2"><fill><patternFill patternType="none"/></fill>'
                '<fill><patternFill patternType="gray125"/></fill></fills>'
                '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border>'
                '</borders><cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" '
                f'borderId="0"/></cellStyleXfs><cellXfs count="{2 + len(self.formats)}">'
                '<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
                '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" '
                f'applyFont="1"/>{xfs}</cellXfs>'
                '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/>'
                '</cellStyles></styleSheet>')


def _row_xml(r: int, row: Sequence[object], letters: list[str], styles: _Styles,
             bold: bool = False) -> str:
    cells = []
    for i, value in enumerate(row):
        if i >= len(letters):
            letters.append(_column(i + 1))
        ref = f"{letters[i]}{r}"
        if type(value) is str:
            if not value:
                continue        # an empty cell, as openpyxl leaves it
            style = ' s="1"' if bold else ""
            cells.append(f'<c r="{ref}" t="inlineStr"{style}>{_text(value)}</c>')
        elif value is None:
            continue
        elif isinstance(value, Num) or _is_number(value):
            num = value.value if isinstance(value, Num) else value
            fmt = value.number_format if isinstance(value, Num) \
                else number_format(num)  # type: ignore[arg-type]
            cells.append(f'<c r="{ref}" s="{styles.index(fmt)}"><v>{num!r}</v></c>')
        elif isinstance(value, bool):
            cells.append(f'<c r="{ref}" t="b"><v>{int(value)}</v></c>')
        else:
            style = ' s="1"' if bold else ""
            cells.append(f'<c r="{ref}" t="inlineStr"{style}>{_text(str(value))}</c>')
    return f'<row r="{r}">{"".join(cells)}</row>'


def workbook(sheets: Sequence[Sheet], out: BinaryIO | None = None) -> bytes:
    """The .xlsx of `sheets` (a sheet's rows may be a Spool); written to `out` (and b""
    returned) when given, else returned."""
    # The sheet XML is written here, row by row into the zip: openpyxl (even write-only)
    # spent ~0.5 ms a row building an element tree per cell, and a month of a
    # 50,000-person company is a million rows.
    styles = _Styles()
    buf = out if out is not None else io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for n, (title, header, rows) in enumerate(sheets, start=1):
            measured, longest = _measure(header, rows)
            widths = [f'<col min="{i}" max="{i}" width="{min(60, 4 + width * 1.6)}" '
                      'customWidth="1"/>' for i, width in enumerate(measured, start=1)]
            letters: list[str] = []
            # Readers size every row to the sheet's dimension (trailing empty cells too).
            last = _column(longest or 1)
            with zf.open(f"xl/worksheets/sheet{n}.xml", "w") as part:
                part.write((f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                            f'<worksheet xmlns="{_NS}" xmlns:r="{_REL}">'
                            f'<dimension ref="A1:{last}{len(rows) + 1}"/>'
                            + (f'<cols>{"".join(widths)}</cols>' if widths else "")
                            + "<sheetData>" + _row_xml(1, header, letters, styles, bold=True)
                            ).encode())
                chunk: list[str] = []
                for r, row in enumerate(rows, start=2):
                    chunk.append(_row_xml(r, row, letters, styles))
                    if len(chunk) >= 1000:
                        part.write("".join(chunk).encode())
                        chunk = []
                part.write(("".join(chunk) + "</sheetData></worksheet>").encode())
        names = [title[:31] for title, _, _ in sheets]
        zf.writestr("xl/styles.xml", styles.xml())
        zf.writestr("xl/workbook.xml",
                    f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                    f'<workbook xmlns="{_NS}" xmlns:r="{_REL}"><sheets>'
                    + "".join(f'<sheet name="{escape(t, {chr(34): "&quot;"})}" sheetId="{i}" '
                              f'r:id="rId{i}"/>' for i, t in enumerate(names, start=1))
                    + "</sheets></workbook>")
        zf.writestr("xl/_rels/workbook.xml.rels",
                    f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                    f'<Relationships xmlns="{_PKG}">'
                    + "".join(f'<Relationship Id="rId{i}" Type="{_REL}/worksheet" '
                              f'Target="worksheets/sheet{i}.xml"/>'
                              for i in range(1, len(names) + 1))
                    + f'<Relationship Id="rId{len(names) + 1}" Type="{_REL}/styles" '
                    'Target="styles.xml"/></Relationships>')
        zf.writestr("_rels/.rels",
                    f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                    f'<Relationships xmlns="{_PKG}"><Relationship Id="rId1" '
                    f'Type="{_REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>')
        zf.writestr("[Content_Types].xml",
                    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
                    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-'
                    'package.relationships+xml"/><Default Extension="xml" '
                    'ContentType="application/xml"/>'
                    f'<Override PartName="/xl/workbook.xml" ContentType="{_CT}.sheet.main+xml"/>'
                    f'<Override PartName="/xl/styles.xml" ContentType="{_CT}.styles+xml"/>'
                    + "".join(f'<Override PartName="/xl/worksheets/sheet{i}.xml" '
                              f'ContentType="{_CT}.worksheet+xml"/>'
                              for i in range(1, len(names) + 1))
                    + "</Types>")
    return b"" if out is not None else buf.getvalue()  # type: ignore[union-attr]


def csv_bytes(header: Sequence[str], rows: Sequence[Sequence[object]] | Spool) -> bytes:
    buf = io.BytesIO()
    write_csv(header, rows, buf)
    return buf.getvalue()


def write_csv(header: Sequence[str], rows: Iterable[Sequence[object]], out: BinaryIO) -> None:
    """UTF-8 CSV with a byte-order mark (Excel opens UTF-8 CSV correctly only with one),
    written to `out` row by row."""
    import csv

    text = io.TextIOWrapper(out, encoding="utf-8", newline="", write_through=True)
    try:
        text.write("\ufeff")
        w = csv.writer(text)
        w.writerow(header)
        w.writerows([v.value if isinstance(v, Num) else v for v in row] for row in rows)
        text.flush()
    finally:
        text.detach()     # `out` stays open: it is the caller's
