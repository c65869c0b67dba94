"""Writing rows out as CSV (streamed) or XLSX, in the import's column layout, so an export re-imports
as all "unchanged". Formula injection is neutralised: a cell starting with = + - @ tab or CR gets a
leading "'" (the import strips it again)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator

from import_export.widgets import DateWidget

from apps.imports.reading import COLUMNS, FORMULA_STARTS

DATE_WIDGET = DateWidget(format="%Y-%m-%d")
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
TEMPLATE_ROWS = [
    ["ann.peeters@example.com", "Ann Peeters", "+32 2 555 01 23", "nl", "CFO", "no", "Brightside Logistics", "Enterprise", "key",
     "active", "Logistics", "125000.00", "2023-04-01", "", ""],
    ["marc.dupont@example.com", "Marc Dupont", "", "fr", "Head of IT", "no", "Brightside Logistics", "", "", "", "", "", "", "", ""],
    ["", "", "", "", "", "", "Northwind Dental", "SMB", "standard", "churned", "Healthcare", "8400", "2021-09-15", "2025-02-28", ""],
]


def neutralise(value: str) -> str:
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def render(column: str, value) -> str:
    if value is None:
        return ""
    if column == "opted_out":
        return "yes" if value else "no"
    if column in ("active_from", "churned_on"):
        return DATE_WIDGET.render(value)
    if column == "annual_value":
        return format(value, "f")  # never localised: 1234.50 whatever the reader's language
    return neutralise(str(value))


def row_cells(row: dict, values: dict[str, str]) -> list[str]:
    """A row of `export_rows` (keys are ORM paths, see selectors.EXPORT_VALUES) as export cells."""
    return [render(column, row[values[column]]) for column in COLUMNS]  # a client without contacts: None → ""


class _Echo:
    def write(self, value):
        return value


def csv_stream(rows: Iterable[list[str]]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield "\ufeff"  # a BOM, so Excel opens the UTF-8 file with the right characters
    yield writer.writerow(COLUMNS)
    for row in rows:
        yield writer.writerow(row)


def xlsx_bytes(rows: Iterable[list[str]], *, title: str = "Contacts") -> bytes:
    """An XLSX workbook (openpyxl write-only mode: constant memory per row). Every cell is text."""
    import openpyxl
    from openpyxl.cell import WriteOnlyCell

    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet(title)

    def text_cell(value: str):
        cell = WriteOnlyCell(sheet, value=value)
        cell.data_type = "s"  # never a formula, whatever the text starts with
        return cell

    sheet.append([text_cell(c) for c in COLUMNS])
    for row in rows:
        sheet.append([text_cell(c) for c in row])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def rejections_stream(rejections: list[dict]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield "\ufeff"
    yield writer.writerow(["row", "email", "reason"])
    for item in rejections:
        yield writer.writerow([item["row"], neutralise(str(item.get("email", ""))), neutralise(str(item["reason"]))])
