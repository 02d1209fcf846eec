"""A report sent as an .xlsx attachment with label/value rows → text lines.

Reading a zip from a stranger is bounded: the file size, the total uncompressed size and
the compression ratio are checked before any part is opened. The cells are read straight
from the sheet XML with the standard library: only values are wanted here (no styles
beyond "is this number a date", no formulas), and openpyxl's full workbook load cost
more than parsing the mail that carried it.
"""

from __future__ import annotations

import io
import posixpath
import re
import zipfile
from datetime import datetime, timedelta
from xml.etree import ElementTree

MAX_XLSX_BYTES = 5 * 1024 * 1024
MAX_UNCOMPRESSED = 50 * 1024 * 1024
MAX_RATIO = 100
MAX_ROWS = 500

_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
_PKG = "{http://schemas.openxmlformats.org/package/2006/relationships}"
# Built-in number formats that show a date or time (ECMA-376 18.8.30).
_DATE_FORMATS = frozenset(range(14, 23)) | {45, 46, 47}
_DATE_CODE = re.compile(r"(\[[^\]]*\]|\"[^\"]*\"|\\.)")


class XlsxRefused(ValueError):
    pass


def _open_zip(data: bytes) -> zipfile.ZipFile:
    if len(data) > MAX_XLSX_BYTES:
        raise XlsxRefused(f"xlsx of {len(data)} bytes is over the {MAX_XLSX_BYTES}-byte cap")
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as exc:
        raise XlsxRefused(f"not a valid xlsx (zip): {exc}") from None
    total = sum(i.file_size for i in zf.infolist())
    if total > MAX_UNCOMPRESSED or (len(data) and total / len(data) > MAX_RATIO):
        raise XlsxRefused(f"xlsx expands to {total} bytes from {len(data)}: refused as a zip bomb")
    return zf


def _xml(zf: zipfile.ZipFile, name: str) -> ElementTree.Element | None:
    try:
        return ElementTree.fromstring(zf.read(name))
    except KeyError:
        return None


def _text(el: ElementTree.Element) -> str:
    """The text of a shared or inline string: plain <t>, or the runs of rich text."""
    return "".join(t.text or "" for t in el.iter(f"{_NS}t"))


def _sheet_paths(zf: zipfile.ZipFile) -> list[str]:
    """The worksheets in the workbook's order."""
    book = _xml(zf, "xl/workbook.xml")
    rels = _xml(zf, "xl/_rels/workbook.xml.rels")
    if book is None or rels is None:
        raise XlsxRefused("xlsx has no workbook")
    targets = {r.get("Id"): r.get("Target", "") for r in rels.iter(f"{_PKG}Relationship")}
    paths = []
    for sheet in book.iter(f"{_NS}sheet"):
        target = targets.get(sheet.get(_REL), "")
        if target:
            paths.append(target.lstrip("/") if target.startswith("/")
                         else posixpath.normpath(posixpath.join("xl", target)))
    return paths


def _date_styles(zf: zipfile.ZipFile) -> set[int]:
    """Indexes of the cell styles whose number format shows a date."""
    styles = _xml(zf, "xl/styles.xml")
    if styles is None:
        return set()
    custom = set()
    for fmt in styles.iter(f"{_NS}numFmt"):
        code = _DATE_CODE.sub("", fmt.get("formatCode", "")).lower()
        if any(ch in code for ch in "ymdhs") and "general" not in code:
            custom.add(int(fmt.get("numFmtId", "0")))
    xfs = styles.find(f"{_NS}cellXfs")
    if xfs is None:
        return set()
    return {n for n, xf in enumerate(xfs.iter(f"{_NS}xf"))
            if int(xf.get("numFmtId", "0")) in _DATE_FORMATS | custom}


def _number(value: str, as_date: bool) -> str:
    number = float(value)
    if as_date:
        return str(datetime(1899, 12, 30) + timedelta(days=number))
    return str(int(number)) if number.is_integer() else str(number)


def _cell_text(cell: ElementTree.Element, shared: list[str], dates: set[int]) -> str:
    kind = cell.get("t", "n")
    if kind == "inlineStr":
        node = cell.find(f"{_NS}is")
        return _text(node).strip() if node is not None else ""
    value = cell.findtext(f"{_NS}v")
    if value is None:
        return ""
    if kind == "s":
        index = int(value)
        return shared[index].strip() if 0 <= index < len(shared) else ""
    if kind == "b":
        return "True" if value == "1" else "False"
    if kind == "n":
        try:
            return _number(value, int(cell.get("s", "0")) in dates)
        except (ValueError, OverflowError):
            return value.strip()
    return value.strip()  # str (a formula's text) and e (an error such as #N/A)


def xlsx_to_text(data: bytes) -> str:
    """Each row with a label and a value becomes `label：value`; other rows are joined."""
    zf = _open_zip(data)
    try:
        with zf:
            strings = _xml(zf, "xl/sharedStrings.xml")
            shared = [_text(si) for si in strings.iter(f"{_NS}si")] if strings is not None else []
            dates = _date_styles(zf)
            lines: list[str] = []
            for path in _sheet_paths(zf):
                sheet = _xml(zf, path)
                if sheet is None:
                    continue
                for n, row in enumerate(sheet.iter(f"{_NS}row")):
                    if n >= MAX_ROWS:
                        break
                    cells = [t for t in (_cell_text(c, shared, dates)
                                         for c in row.iter(f"{_NS}c")) if t]
                    if len(cells) == 2:
                        lines.append(f"{cells[0]}：{cells[1]}")
                    elif cells:
                        lines.append("  ".join(cells))
    except XlsxRefused:
        raise
    except Exception as exc:  # a broken file raises many types from zipfile and expat
        raise XlsxRefused(f"xlsx could not be read: {exc}") from None
    return "\n".join(lines)
