"""Reading an uploaded CSV or XLSX file into rows of cells, with clear messages for files we refuse.

The column layout is shared by the import, the export and the template (COLUMNS). Header names are
matched case- and space-insensitively ("Contact Name" is contact_name). A CSV must be UTF-8 (a BOM
is fine); its delimiter is sniffed from the header (Excel in much of Europe writes `;`).
"""

from __future__ import annotations

import csv
import dataclasses
import datetime
import io
import re
import zipfile
from collections.abc import Iterator
from decimal import Decimal

from apps.imports.models import MAX_FILE_BYTES

COLUMNS = [
    "email", "contact_name", "phone", "locale", "role", "opted_out",
    "client_name", "segment", "tier", "status", "industry", "annual_value", "active_from", "churned_on", "owner_email",
]
REQUIRED_COLUMNS = ["email"]
CONTACT_COLUMNS = ["contact_name", "phone", "locale", "role", "opted_out"]
CLIENT_COLUMNS = ["segment", "tier", "status", "industry", "annual_value", "active_from", "churned_on", "owner_email"]
ALIASES = {"e_mail": "email", "email_address": "email", "e_mail_address": "email", "name": "contact_name", "client": "client_name"}
MAX_COLUMNS = 50
MAX_ROWS = 200_000
MAX_XLSX_UNPACKED_BYTES = 200 * 1024 * 1024  # a 10 MB workbook that unpacks to more is a zip bomb, not data
DELIMITERS = [",", ";", "\t", "|"]
DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "vertical bar"}
# A cell starting with one of these is a formula to a spreadsheet. Exports prefix it with "'", imports strip that "'".
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class FileProblem(ValueError):
    """The file as a whole cannot be imported; the message says why and what to do."""


def limit_label() -> str:
    return f"{MAX_FILE_BYTES // (1024 * 1024)} MB"


def normalise_header(name) -> str:
    text = str(name if name is not None else "").replace("\ufeff", "").strip().lower()
    text = re.sub(r"[\s\-.]+", "_", text).strip("_")
    return ALIASES.get(text, text)


def unescape_cell(value: str) -> str:
    """Undo the export's formula neutralisation: a leading "'" before = + - @ tab or CR."""
    if len(value) > 1 and value[0] == "'" and value[1] in "=+-@\t\r":
        return value[1:]
    return value


def cell_text(value) -> str:
    """A cell as the text the row checks read: trimmed, the export's "'" guard removed."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime.datetime):
        return value.date().isoformat() if value.time() == datetime.time(0) else value.isoformat()
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else str(Decimal(repr(value)))
    return unescape_cell(str(value)).strip()


@dataclasses.dataclass
class Sheet:
    """An opened file: its columns and an iterator of (spreadsheet row number, {column: text})."""

    format: str
    header: list[str]
    columns: dict[str, int]
    ignored: list[str]
    delimiter: str | None
    row_estimate: int
    rows: Iterator[tuple[int, dict[str, str]]]

    @property
    def delimiter_label(self) -> str:
        return DELIMITER_NAMES.get(self.delimiter or "", "")


def detect_format(data: bytes) -> str:
    if not data or not data.strip():
        raise FileProblem("The file is empty. Upload a CSV or XLSX file with a header row and at least one row of data.")
    if data[:4] == b"PK\x03\x04":
        return "xlsx"
    if data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        raise FileProblem("This is an old Excel .xls workbook. Save it as Excel Workbook (.xlsx) or as CSV UTF-8, then upload it again.")
    if data[:4] == b"%PDF" or data[:3] == b"\x1f\x8b\x08" or data[:4] == b"\x89PNG":
        raise FileProblem("This file is neither CSV nor XLSX. Upload a CSV (UTF-8) or an Excel workbook (.xlsx).")
    return "csv"


def decode_csv(data: bytes) -> str:
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        raise FileProblem("This CSV is saved as UTF-16. Save it as UTF-8 (in Excel: File → Save As → “CSV UTF-8 (Comma delimited)”) "
                          "and upload it again.")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FileProblem(
            f"This CSV is not UTF-8 text (byte 0x{data[exc.start]:02X} at position {exc.start + 1} cannot be read; the file "
            "was probably saved as Windows-1252 or Latin-1). Save it as UTF-8 — in Excel: File → Save As → “CSV UTF-8 (Comma "
            "delimited)”; in LibreOffice tick “Edit filter settings” and choose Unicode (UTF-8) — and upload it again."
        ) from None
    if "\x00" in text:
        raise FileProblem("This file is neither CSV nor XLSX (it contains binary data). Upload a CSV (UTF-8) or an Excel workbook (.xlsx).")
    return text


def _first_line(text: str) -> str:
    return next(iter(text.splitlines()), "")


def sniff_delimiter(text: str) -> str:
    """The delimiter that makes the header contain an e-mail column; else the most frequent candidate."""
    line = _first_line(text)
    for delimiter in DELIMITERS:
        cells = next(csv.reader([line], delimiter=delimiter), [])
        if "email" in {normalise_header(c) for c in cells}:
            return delimiter
    counts = {d: line.count(d) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ","


def _columns(header: list[str]) -> tuple[dict[str, int], list[str]]:
    if len(header) > MAX_COLUMNS:
        raise FileProblem(f"The file has {len(header)} columns; at most {MAX_COLUMNS} are allowed. Keep the columns listed in the "
                          "template and remove the others.")
    columns: dict[str, int] = {}
    ignored: list[str] = []
    for index, raw in enumerate(header):
        name = normalise_header(raw)
        if not name:
            continue
        if name in columns:
            raise FileProblem(f"The column “{name}” appears twice in the header (columns {columns[name] + 1} and {index + 1}). "
                              "Keep one of them.")
        if name in COLUMNS:
            columns[name] = index
        else:
            ignored.append(str(raw).strip())
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    if missing:
        found = ", ".join(f"“{str(h).strip()}”" for h in header if str(h or "").strip()) or "none"
        raise FileProblem(f"The required column “{missing[0]}” is missing. Columns found: {found}. Required: "
                          f"{', '.join(REQUIRED_COLUMNS)}; the others are optional ({', '.join(COLUMNS[1:])}). "
                          "The first row must be the header; download the template to see the layout.")
    return columns, ignored


def _row_dict(number: int, cells: list, columns: dict[str, int], header_length: int) -> dict[str, str]:
    row = {name: cell_text(cells[index]) if index < len(cells) else "" for name, index in columns.items()}
    extra = [c for c in cells[header_length:] if cell_text(c)]
    if extra:
        row["__extra__"] = str(len(cells))
    return row


def open_csv(data: bytes) -> Sheet:
    text = decode_csv(data)
    delimiter = sniff_delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        raise FileProblem("The file is empty. Upload a CSV or XLSX file with a header row and at least one row of data.") from None
    except csv.Error as exc:
        raise FileProblem(f"The header row cannot be read as CSV ({exc}).") from None
    columns, ignored = _columns(header)

    def rows():
        number = 1
        try:
            for cells in reader:
                number += 1
                if number - 1 > MAX_ROWS:
                    raise FileProblem(f"The file has more than {MAX_ROWS:,} rows. Split it into smaller files.")
                if any(c.strip() for c in cells):
                    yield number, _row_dict(number, cells, columns, len(header))
        except csv.Error as exc:
            raise FileProblem(f"Row {number + 1} cannot be read as CSV ({exc}). Nothing was imported.") from None

    return Sheet("csv", [str(h) for h in header], columns, ignored, delimiter, max(text.rstrip("\n").count("\n"), 1), rows())


def _check_zip(data: bytes) -> None:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise FileProblem("This file is neither CSV nor a readable XLSX workbook. Upload a CSV (UTF-8) or an Excel workbook (.xlsx).")
    names = set(archive.namelist())
    if "xl/workbook.xml" not in names:
        raise FileProblem("This is a ZIP archive but not an Excel workbook. Upload a CSV (UTF-8) or an Excel workbook (.xlsx).")
    if sum(info.file_size for info in archive.infolist()) > MAX_XLSX_UNPACKED_BYTES:
        raise FileProblem("This workbook unpacks to more than 200 MB. Split it into smaller files.")


def _formula_problem(cells: list[str], more: int) -> FileProblem:
    listed = ", ".join(cells) + (f" and {more} more" if more else "")
    return FileProblem(
        f"This workbook contains formulas (cells {listed}). Formulas are not imported — their results can be stale or depend "
        "on other sheets — so nothing was imported. Replace them by their values (copy the cells, then Paste Special → "
        "Values) and upload the file again."
    )


def open_xlsx(data: bytes) -> Sheet:
    """The first worksheet. Cells holding formulas make the whole file refused (see _formula_problem)."""
    import openpyxl
    from openpyxl.utils import get_column_letter

    _check_zip(data)
    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    except Exception as exc:  # openpyxl raises many types for damaged files
        raise FileProblem(f"This Excel workbook cannot be read ({type(exc).__name__}). Open it in Excel, save it again as .xlsx, "
                          "or save it as CSV UTF-8.") from None
    sheet = workbook.worksheets[0] if workbook.worksheets else None
    if sheet is None:
        raise FileProblem("This workbook has no worksheet.")
    iterator = sheet.iter_rows()
    formulas: list[str] = []
    formula_count = 0

    def values(cells, number):
        nonlocal formula_count
        out = []
        for index, cell in enumerate(cells):
            if getattr(cell, "data_type", None) == "f":
                formula_count += 1
                if len(formulas) < 5:
                    formulas.append(f"{get_column_letter(index + 1)}{number}")
            out.append(getattr(cell, "value", None))
        return out

    header_cells = next(iterator, None)
    if header_cells is None:
        raise FileProblem("The file is empty. Upload a CSV or XLSX file with a header row and at least one row of data.")
    header = [cell_text(v) for v in values(header_cells, 1)]
    while header and not header[-1]:
        header.pop()
    if not header:
        raise FileProblem("The first row of the first worksheet is empty: it must be the header (download the template).")
    columns, ignored = _columns(header)

    def rows():
        number = 1
        for cells in iterator:
            number += 1
            if number - 1 > MAX_ROWS:
                raise FileProblem(f"The file has more than {MAX_ROWS:,} rows. Split it into smaller files.")
            row = values(cells, number)
            if formulas:
                continue  # the file is refused: keep scanning only to say how many formulas there are
            if any(cell_text(c) for c in row):
                yield number, _row_dict(number, row, columns, len(header))
        workbook.close()
        if formulas:
            raise _formula_problem(formulas, formula_count - len(formulas))

    if formulas:
        raise _formula_problem(formulas, 0)
    estimate = (sheet.max_row or 2) - 1
    return Sheet("xlsx", header, columns, ignored, None, max(estimate, 1), rows())


def open_file(data: bytes) -> Sheet:
    fmt = detect_format(data)
    return open_xlsx(data) if fmt == "xlsx" else open_csv(data)


def check_upload(data: bytes) -> Sheet:
    """The quick checks answered at upload: size, type, encoding, header and at least one data row."""
    if len(data) > MAX_FILE_BYTES:
        raise FileProblem(f"The file is {len(data) / (1024 * 1024):.1f} MB; the limit is {limit_label()}. Split it into smaller files.")
    sheet = open_file(data)
    first = next(sheet.rows, None)
    if first is None:
        raise FileProblem("The file has a header row but no data rows.")
    return sheet
