"""A report sent as an .xlsx attachment with label/value rows → text lines.

Reading a zip from a stranger is bounded: the file size, the total uncompressed size and
the compression ratio are checked before openpyxl opens it.
"""

from __future__ import annotations

import io
import zipfile

MAX_XLSX_BYTES = 5 * 1024 * 1024
MAX_UNCOMPRESSED = 50 * 1024 * 1024
MAX_RATIO = 100
MAX_ROWS = 500


class XlsxRefused(ValueError):
    pass


def _check_zip(data: bytes) -> None:
    if len(data) > MAX_XLSX_BYTES:
        raise XlsxRefused(f"xlsx of {len(data)} bytes is over the {MAX_XLSX_BYTES}-byte cap")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            total = sum(i.file_size for i in zf.infolist())
    except zipfile.BadZipFile as exc:
        raise XlsxRefused(f"not a valid xlsx (zip): {exc}") from None
    if total > MAX_UNCOMPRESSED or (len(data) and total / len(data) > MAX_RATIO):
        raise XlsxRefused(f"xlsx expands to {total} bytes from {len(data)}: refused as a zip bomb")


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def xlsx_to_text(data: bytes) -> str:
    """Each row with a label and a value becomes `label：value`; other rows are joined."""
    _check_zip(data)
    from openpyxl import load_workbook  # imported here: only xlsx reports pay for it

    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a broken file
        raise XlsxRefused(f"xlsx could not be read: {exc}") from None
    lines: list[str] = []
    try:
        for ws in wb.worksheets:
            for n, row in enumerate(ws.iter_rows(values_only=True)):
                if n >= MAX_ROWS:
                    break
                cells = [_cell_text(v) for v in row if _cell_text(v)]
                if len(cells) == 2:
                    lines.append(f"{cells[0]}：{cells[1]}")
                elif cells:
                    lines.append("  ".join(cells))
    finally:
        wb.close()
    return "\n".join(lines)
