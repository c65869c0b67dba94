"""Reading an uploaded CSV or XLSX file into rows of cells, with clear messages for files we refuse.

The column layout is shared by the import, the export and the template (COLUMNS). Header names are
matched case- and space-insensitively ("Contact Name" is contact_name). A CSV must be UTF-8 (a BOM
is fine); its delimiter is sniffed from the header (Excel in much of Europe writes `;`).

Files are read by the review task, never in the upload request (the upload only looks at the size and
the first bytes: `detect_format`). An XLSX is a ZIP of XML, so a small file can stand for a great deal
of work; a decompression budget refuses it unread when it would be more than a spreadsheet of data
ever is (`_xlsx_budget_check`: what it unpacks to in all and per part against its compressed size,
its parts, worksheets and distinct texts, XML declarations Excel never writes), and reading stops at
`MAX_XLSX_CELLS` cells. The worksheet's own claim of its size is ignored (a claim of A1:XFD1048576
made the reader pad every row to 16,384 cells and add a million empty rows).
"""

from __future__ import annotations

import csv
import dataclasses
import datetime
import io
import re
import zipfile
import zlib
from collections.abc import Iterator
from decimal import Decimal
from xml.parsers.expat import ExpatError, ParserCreate

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
# The XLSX decompression budget: generous for real workbooks of MAX_ROWS rows (their XML compresses
# about 5 to 20 to 1), far below what a crafted one needs to cost minutes of CPU.
MAX_XLSX_UNPACKED_BYTES = 200 * 1024 * 1024  # a 10 MB workbook that unpacks to more is a zip bomb, not data
MAX_XLSX_RATIO = 100  # unpacked / compressed, for the whole file and for each part past RATIO_FLOOR_BYTES
RATIO_FLOOR_BYTES = 1024 * 1024  # a small part (a few repeated tags) may compress any amount
MAX_XLSX_PARTS = 1_000
MAX_XLSX_SHEETS = 50
MAX_SHARED_STRINGS = MAX_ROWS * 5  # distinct texts: a row of contact and client columns has far fewer
MAX_XLSX_CELLS = MAX_ROWS * 20  # cells read from the first worksheet, empty ones between filled ones included
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
class Table:
    """A file's rows before any header is read: (spreadsheet row number, [cell text, …]) for every row, blank
    ones included (readers skip them), cells already through `cell_text`. The client import reads its one header
    row from it (`Sheet`); the response-history import reads the vendors' one to three header rows."""

    format: str
    delimiter: str | None
    row_estimate: int
    rows: Iterator[tuple[int, list[str]]]

    @property
    def delimiter_label(self) -> str:
        return DELIMITER_NAMES.get(self.delimiter or "", "")


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
    # Else the one that splits the header into the most cells (quoted commas in a question's text do not count).
    counts = {d: len(next(csv.reader([line], delimiter=d), [])) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] > 1 else ","


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
    row = {name: cells[index] if index < len(cells) else "" for name, index in columns.items()}
    extra = [c for c in cells[header_length:] if c]
    if extra:
        row["__extra__"] = str(len(cells))
    return row


def csv_table(data: bytes) -> Table:
    text = decode_csv(data)
    delimiter = sniff_delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)

    def rows():
        number = 0
        try:
            for cells in reader:
                number += 1
                if number - 1 > MAX_ROWS:
                    raise FileProblem(f"The file has more than {MAX_ROWS:,} rows. Split it into smaller files.")
                yield number, [cell_text(c) for c in cells]
        except csv.Error as exc:
            if number == 0:
                raise FileProblem(f"The header row cannot be read as CSV ({exc}).") from None
            raise FileProblem(f"Row {number + 1} cannot be read as CSV ({exc}). Nothing was imported.") from None

    return Table("csv", delimiter, max(text.rstrip("\n").count("\n"), 1), rows())


def _size(n: int) -> str:
    return f"{n / (1024 * 1024):.1f} MB" if n >= 1024 * 1024 else f"{max(n, 1) / 1024:.0f} KB"


class _EnoughRead(Exception):
    pass


def _xml_scan(archive: zipfile.ZipFile, info: zipfile.ZipInfo, *, count: str = "", limit: int = 0) -> int:
    """Stream one XML part through expat: refuse a DTD (Excel never writes one; entities are how XML
    multiplies itself), and count the elements named `count` up to `limit` (without `count`, stop at the
    root element: only the prolog is read). Returns the count."""
    parser = ParserCreate(namespace_separator=" ")
    found = 0

    def dtd(*args):
        raise FileProblem(f"This workbook's part “{info.filename}” declares XML entities or a DTD, which Excel never writes; "
                          "it is refused unread. Save the file again from Excel, or save it as CSV UTF-8.")

    def start(name, attributes):
        nonlocal found
        if not count:
            raise _EnoughRead
        if name.rpartition(" ")[2] == count:
            found += 1
            if found > limit:
                raise FileProblem(f"This workbook holds more than {limit:,} different texts, more than a file of at most "
                                  f"{MAX_ROWS:,} rows can need; it is refused unread. Split it, or save it as CSV UTF-8.")

    parser.StartDoctypeDeclHandler = dtd
    parser.EntityDeclHandler = dtd
    parser.StartElementHandler = start
    try:
        with archive.open(info) as stream:
            while chunk := stream.read(1024 * 1024):
                parser.Parse(chunk, False)
            parser.Parse(b"", True)
    except _EnoughRead:
        pass
    except FileProblem:
        raise
    except (ExpatError, zipfile.BadZipFile, zlib.error, EOFError, ValueError, RuntimeError, NotImplementedError):
        raise FileProblem(f"This Excel workbook cannot be read (its part “{info.filename}” is damaged). Open it in Excel, "
                          "save it again as .xlsx, or save it as CSV UTF-8.") from None
    return found


def _xlsx_budget_check(data: bytes) -> None:
    """Refuse, before any of it is unpacked for reading, a workbook that would cost more than a
    spreadsheet of data (module docstring). The sizes are the ZIP's own; Python's zipfile never unpacks a
    part beyond its stated size, so they bound what the reader can get."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except (zipfile.BadZipFile, ValueError, EOFError):
        raise FileProblem("This file is neither CSV nor a readable XLSX workbook. Upload a CSV (UTF-8) or an Excel workbook (.xlsx).")
    names = {info.filename for info in infos}
    if "xl/workbook.xml" not in names:
        raise FileProblem("This is a ZIP archive but not an Excel workbook. Upload a CSV (UTF-8) or an Excel workbook (.xlsx).")
    if len(infos) > MAX_XLSX_PARTS:
        raise FileProblem(f"This workbook is made of {len(infos):,} parts, far more than a spreadsheet of data; it is refused unread. "
                          "Copy the data into a new workbook, or save it as CSV UTF-8.")
    unpacked = sum(info.file_size for info in infos)
    if unpacked > MAX_XLSX_UNPACKED_BYTES:
        raise FileProblem(f"This workbook unpacks to {_size(unpacked)}, more than the {_size(MAX_XLSX_UNPACKED_BYTES)} allowed. "
                          "Split it into smaller files.")
    for info in [None, *infos]:  # the whole file, then each large part
        packed, size, what = (len(data), unpacked, "This workbook") if info is None else (
            info.compress_size, info.file_size, f"Its part “{info.filename}”")
        if size > RATIO_FLOOR_BYTES and size > MAX_XLSX_RATIO * max(packed, 1):
            raise FileProblem(f"{what} unpacks from {_size(packed)} to {_size(size)} ({size // max(packed, 1):,} to 1), far more than "
                              "a spreadsheet of data ever compresses; it is refused unread. If it is a genuine workbook, save it "
                              "again from Excel, or save it as CSV UTF-8.")
    sheets = [name for name in names if re.fullmatch(r"xl/worksheets/[^/]+\.xml", name)]
    if len(sheets) > MAX_XLSX_SHEETS:
        raise FileProblem(f"This workbook has {len(sheets)} worksheets; at most {MAX_XLSX_SHEETS} are accepted (only the first is read). "
                          "Copy the sheet with the data into a new workbook.")
    for info in infos:
        if info.filename.endswith((".xml", ".rels")):
            if info.filename == "xl/sharedStrings.xml":
                _xml_scan(archive, info, count="si", limit=MAX_SHARED_STRINGS)
            else:
                _xml_scan(archive, info)


def _cells_problem() -> FileProblem:
    return FileProblem(f"The first worksheet has more than {MAX_XLSX_CELLS:,} cells (a file of at most {MAX_ROWS:,} rows of "
                       f"{MAX_COLUMNS} columns has fewer); often a stray value far to the right or formatting applied to whole "
                       "rows. Copy the data into a new workbook, or save it as CSV UTF-8.")


def _formula_problem(cells: list[str], more: int) -> FileProblem:
    listed = ", ".join(cells) + (f" and {more} more" if more else "")
    return FileProblem(
        f"This workbook contains formulas (cells {listed}). Formulas are not imported — their results can be stale or depend "
        "on other sheets — so nothing was imported. Replace them by their values (copy the cells, then Paste Special → "
        "Values) and upload the file again."
    )


def xlsx_table(data: bytes) -> Table:
    """The first worksheet. Cells holding formulas make the whole file refused (see _formula_problem): the rows
    stop at the first one, the rest of the sheet is scanned only to say how many there are."""
    import openpyxl
    from openpyxl.utils import get_column_letter

    _xlsx_budget_check(data)
    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    except Exception as exc:  # openpyxl raises many types for damaged files
        raise FileProblem(f"This Excel workbook cannot be read ({type(exc).__name__}). Open it in Excel, save it again as .xlsx, "
                          "or save it as CSV UTF-8.") from None
    sheet = workbook.worksheets[0] if workbook.worksheets else None
    if sheet is None:
        raise FileProblem("This workbook has no worksheet.")
    estimate = min((sheet.max_row or 2) - 1, MAX_ROWS)  # the sheet's claim, for the progress bar only
    sheet.reset_dimensions()  # rows as they are in the file, never padded to the claimed size

    def rows():
        formulas: list[str] = []
        formula_count = cells_read = number = 0
        for cells in sheet.iter_rows():
            number += 1
            cells_read += len(cells)
            if cells_read > MAX_XLSX_CELLS:
                workbook.close()
                raise _cells_problem()
            if number - 1 > MAX_ROWS:
                workbook.close()
                raise FileProblem(f"The file has more than {MAX_ROWS:,} rows. Split it into smaller files.")
            values = []
            for index, cell in enumerate(cells):
                if getattr(cell, "data_type", None) == "f":
                    formula_count += 1
                    if len(formulas) < 5:
                        formulas.append(f"{get_column_letter(index + 1)}{number}")
                values.append(getattr(cell, "value", None))
            if not formulas:
                yield number, [cell_text(v) for v in values]
        workbook.close()
        if formulas:
            raise _formula_problem(formulas, formula_count - len(formulas))

    return Table("xlsx", None, max(estimate, 1), rows())


def open_table(data: bytes) -> Table:
    return xlsx_table(data) if detect_format(data) == "xlsx" else csv_table(data)


def _sheet(table: Table) -> Sheet:
    """The client import's view of a table: the first row is the header (COLUMNS), blank rows are skipped."""
    first = next(table.rows, None)
    if first is None:
        raise FileProblem("The file is empty. Upload a CSV or XLSX file with a header row and at least one row of data.")
    number, header = first
    while header and not header[-1]:
        header.pop()
    if number != 1 or not header:
        raise FileProblem("The first row of the first worksheet is empty: it must be the header (download the template).")
    columns, ignored = _columns(header)

    def rows():
        for number, cells in table.rows:
            if any(cells):
                yield number, _row_dict(number, cells, columns, len(header))

    return Sheet(table.format, header, columns, ignored, table.delimiter, table.row_estimate, rows())


def open_file(data: bytes) -> Sheet:
    return _sheet(open_table(data))


def check_size(data: bytes) -> None:
    if len(data) > MAX_FILE_BYTES:
        raise FileProblem(f"The file is {len(data) / (1024 * 1024):.1f} MB; the limit is {limit_label()}. Split it into smaller files.")


def check_upload(data: bytes) -> Sheet:
    """The file as a whole (the review task's first step): size, type, encoding, the XLSX budget, the
    header. Whether any row follows is for the reader of `rows` to find out."""
    check_size(data)
    return open_file(data)
