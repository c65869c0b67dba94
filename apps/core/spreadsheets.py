"""Every CSV and XLSX the product writes goes through this module (issue 15, F2).

A text cell starting with = + - @ tab or CR is a formula to a spreadsheet (OWASP "CSV injection"):
`cell()` prefixes it with "'" so Excel, LibreOffice and Google Sheets show it as text (the import
strips that "'" again, apps.imports.reading.unescape_cell). Numbers stay numbers (a negative number is
not text, so it is not touched); booleans are "yes"/"no"; None is empty; anything else is its text.

The writers apply `cell()` to every value, header included, so a caller cannot forget it:
`csv_rows()` yields CSV lines (streamed responses), `csv_response()` is a whole CSV download,
`xlsx_bytes()` a workbook whose text cells are typed as text (never a formula).
"""

from __future__ import annotations

import csv
import datetime
import decimal
import io
from collections.abc import Iterable, Iterator

from django.http import HttpResponse

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
CSV_CONTENT_TYPE = "text/csv; charset=utf-8"
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
BOM = "\ufeff"  # so Excel opens a UTF-8 CSV with the right characters

Number = int | float | decimal.Decimal


def neutralise(value: str) -> str:
    """Text that a spreadsheet will not read as a formula."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def cell(value) -> str | Number:
    """A value as a safe spreadsheet cell: numbers as numbers, everything else as neutralised text."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Number):
        return value
    if isinstance(value, datetime.datetime | datetime.date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return neutralise("; ".join(str(v) for v in value))
    return neutralise(str(value))


class _Echo:
    def write(self, value):
        return value


def csv_rows(header: Iterable, rows: Iterable[Iterable], *, bom: bool = True) -> Iterator[str]:
    """The CSV text, line by line (for a StreamingHttpResponse); every cell through `cell()`."""
    writer = csv.writer(_Echo())
    if bom:
        yield BOM
    yield writer.writerow([cell(v) for v in header])
    for row in rows:
        yield writer.writerow([cell(v) for v in row])


def csv_response(header: Iterable, rows: Iterable[Iterable], *, filename: str) -> HttpResponse:
    """A whole CSV download (small tables: the dashboards')."""
    response = HttpResponse("".join(csv_rows(header, rows, bom=False)), content_type=CSV_CONTENT_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def xlsx_bytes(header: Iterable, rows: Iterable[Iterable], *, title: str) -> bytes:
    """An XLSX workbook (openpyxl write-only mode: constant memory per row). Text cells are typed as
    text, so not even an un-neutralised "=" could become a formula; numbers stay numbers."""
    import openpyxl
    from openpyxl.cell import WriteOnlyCell

    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet(title)

    def typed(value):
        value = cell(value)
        out = WriteOnlyCell(sheet, value=value)
        if isinstance(value, str):
            out.data_type = "s"
        return out

    sheet.append([typed(v) for v in header])
    for row in rows:
        sheet.append([typed(v) for v in row])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
