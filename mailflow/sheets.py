"""Writing .xlsx attachments with openpyxl: one sheet per part, a bold header row."""

from __future__ import annotations

import io
from collections.abc import Sequence

from openpyxl import Workbook
from openpyxl.styles import Font

Sheet = tuple[str, Sequence[str], Sequence[Sequence[object]]]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def workbook(sheets: Sequence[Sheet]) -> bytes:
    wb = Workbook()
    wb.remove(wb.active)
    for title, header, rows in sheets:
        ws = wb.create_sheet(title[:31])
        ws.append(list(header))
        for cell in ws[1]:
            cell.font = Font(bold=True)
        for row in rows:
            ws.append(list(row))
        for i, name in enumerate(header, start=1):
            width = max([len(str(name))] + [len(str(r[i - 1])) for r in rows if len(r) >= i])
            ws.column_dimensions[ws.cell(1, i).column_letter].width = min(60, 4 + width * 1.6)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def csv_bytes(header: Sequence[str], rows: Sequence[Sequence[object]]) -> bytes:
    import csv

    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(header)
    w.writerows(rows)
    # Excel opens UTF-8 CSV correctly only with a byte-order mark.
    return "\ufeff".encode() + buf.getvalue().encode("utf-8")
