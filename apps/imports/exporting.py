"""Writing rows out as CSV (streamed) or XLSX, in the import's column layout, so an export re-imports
as all "unchanged". The writers are apps.core.spreadsheets' (formula injection neutralised: a cell
starting with = + - @ tab or CR gets a leading "'", which the import strips again)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from import_export.widgets import DateWidget

from apps.core import spreadsheets
from apps.imports.reading import COLUMNS

DATE_WIDGET = DateWidget(format="%Y-%m-%d")
TEMPLATE_ROWS = [
    ["ann.peeters@example.com", "Ann Peeters", "+32 2 555 01 23", "nl", "CFO", "no", "Brightside Logistics", "Enterprise", "key",
     "active", "Logistics", "125000.00", "2023-04-01", "", ""],
    ["marc.dupont@example.com", "Marc Dupont", "", "fr", "Head of IT", "no", "Brightside Logistics", "", "", "", "", "", "", "", ""],
    ["", "", "", "", "", "", "Northwind Dental", "SMB", "standard", "churned", "Healthcare", "8400", "2021-09-15", "2025-02-28", ""],
]


def render(column: str, value) -> str:
    if value is None:
        return ""
    if column == "opted_out":
        return "yes" if value else "no"
    if column in ("active_from", "churned_on"):
        return DATE_WIDGET.render(value)
    if column == "annual_value":
        return format(value, "f")  # never localised: 1234.50 whatever the reader's language
    return str(value)  # the writers neutralise formulas


def row_cells(row: dict, values: dict[str, str]) -> list[str]:
    """A row of `export_rows` (keys are ORM paths, see selectors.EXPORT_VALUES) as export cells."""
    return [render(column, row[values[column]]) for column in COLUMNS]  # a client without contacts: None → ""


def csv_stream(rows: Iterable[list[str]]) -> Iterator[str]:
    return spreadsheets.csv_rows(COLUMNS, rows)


def xlsx_bytes(rows: Iterable[list[str]], *, title: str = "Contacts") -> bytes:
    """Every cell is text (row_cells renders numbers and dates in the import's format)."""
    return spreadsheets.xlsx_bytes(COLUMNS, rows, title=title)


def rejections_stream(rejections: list[dict]) -> Iterator[str]:
    return spreadsheets.csv_rows(["row", "email", "reason"],
                                 ([item["row"], item.get("email", ""), item["reason"]] for item in rejections))
