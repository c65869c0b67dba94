"""The hostile world's payloads and the checks that find them live in an output (tests/test_hostile_world.py).

Every user- or respondent-controlled text holds `hostile_text(n, max_length)`: a formula prefix, a
number that keeps names unique, then as many of PIECES as fit (starting at a rotating piece, so short
fields see every piece across their rows). An output is hostile when a piece came through as markup
(an element or attribute parsed out of it), a template tag in it was evaluated, or a spreadsheet cell
starts with a formula prefix.
"""

from __future__ import annotations

import io
import json
from datetime import date
from html.parser import HTMLParser

PIECES = (
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    '"><img src=x onerror=alert(1)>',  # out of a double-quoted attribute
    "' onfocus=alert(1) autofocus x='",  # out of a single-quoted one (hx-vals='…')
    '<div hx-post="/hostile/post" hx-trigger="load" hx-vals=\'{"role":"admin"}\'>',
    '<p hx-get="/hostile/get" hx-trigger="load">',
    '<a href="https://evil.example/5">',
    "tt{{ 7*7 }}tt",
    "ss{% now 'Y' %}ss",
)
LONG_FORMULAS = ('=HYPERLINK("https://evil.example/f","x")', "+1", "@SUM(1)", "-1+1")
SHORT_FORMULAS = ("=1+1", "+1", "@SUM(1)", "-1+1")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
HOSTILE_HX_VALUES = {"/hostile/post", "/hostile/get"}


def evaluated_markers() -> tuple[str, ...]:
    """What PIECES' template tags become if a template engine runs them."""
    return ("tt49tt", f"ss{date.today():%Y}ss")


def hostile_text(n: int, max_length: int | None) -> str:
    formulas = LONG_FORMULAS if max_length is None or max_length >= 120 else SHORT_FORMULAS
    text = f"{formulas[n % len(formulas)]} #{n} "
    for i in range(len(PIECES)):
        piece = PIECES[(n + i) % len(PIECES)]
        if max_length is not None and len(text) + len(piece) > max_length:
            continue
        text += piece
    return text[:max_length] if max_length else text


class _Finder(HTMLParser):
    """Elements and attributes that came from a payload; plotly HTML in the charts' JSON."""

    JSON_TYPES = {"application/json", "application/ld+json"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self._script: dict | None = None
        self._script_text: list[str] = []

    def handle_starttag(self, tag, attrs):
        values = {name: value or "" for name, value in attrs}
        for name, value in values.items():
            if name.startswith("on"):
                self.problems.append(f"<{tag} {name}={value!r}>")
            if name.removeprefix("data-").startswith("hx-") and value in HOSTILE_HX_VALUES:
                self.problems.append(f"<{tag} {name}={value!r}> (htmx attribute from a payload)")
            if name in ("href", "src", "action", "formaction", "xlink:href") and value.startswith("https://evil.example"):
                self.problems.append(f"<{tag} {name}={value!r}>")
        for name, value in values.items():  # a chart's figure (data-figure) or any other JSON in a data- attribute
            if name.startswith("data-") and value.lstrip()[:1] in ("{", "["):
                self._check_json(value, f"<{tag} {name}>")
        if tag == "img" and values.get("src") == "x":
            self.problems.append("<img src=x> (an element from a payload)")
        if tag == "script":
            self._script, self._script_text = values, []

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag == "script":
            self.handle_endtag(tag)

    def handle_data(self, data):
        if self._script is not None:
            self._script_text.append(data)

    def handle_endtag(self, tag):
        if tag != "script" or self._script is None:
            return
        attrs, text = self._script, "".join(self._script_text)
        self._script = None
        if attrs.get("type", "").lower() in self.JSON_TYPES:
            self._check_json(text, f"JSON script {attrs.get('id')!r}")
            return
        if "alert(1)" in text:
            self.problems.append(f"<script> from a payload: {text[:60]!r}")
        elif "src" not in attrs and "nonce" not in attrs and text.strip():
            self.problems.append(f"inline <script> without a nonce: {text[:60]!r}")


    def _check_json(self, text: str, where: str):
        """Plotly draws `<a href>` (and other tags) in a figure's strings as HTML: a payload's must arrive escaped."""
        try:
            data = json.loads(text)
        except ValueError:
            return
        for string in _strings(data):
            if '<a href="https://evil.example' in string.replace("'", '"'):
                self.problems.append(f"plotly HTML link in {where}: {string[:80]!r}")


def _strings(data):
    if isinstance(data, str):
        yield data
    elif isinstance(data, dict):
        for key, value in data.items():
            yield from _strings(key)
            yield from _strings(value)
    elif isinstance(data, list):
        for value in data:
            yield from _strings(value)


def html_problems(html: str) -> list[str]:
    finder = _Finder()
    finder.feed(html)
    finder.close()
    return finder.problems + text_problems(html)


def text_problems(text: str) -> list[str]:
    return [f"template tag evaluated: {marker!r}" for marker in evaluated_markers() if marker in text]


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def cell_problem(value) -> str | None:
    if isinstance(value, str) and value.startswith(FORMULA_STARTS) and not _is_number(value):
        return f"formula cell {value[:40]!r}"
    return None


def csv_cells(body: str) -> list[str]:
    import csv

    return [value for row in csv.reader(io.StringIO(body.removeprefix("\ufeff"))) for value in row]


def xlsx_cells(data: bytes) -> tuple[list, list[str]]:
    """(every cell's value, problems of cells typed as formulas)."""
    import openpyxl

    values, problems = [], []
    for sheet in openpyxl.load_workbook(io.BytesIO(data)).worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                if cell.data_type == "f":
                    problems.append(f"formula-typed cell {cell.coordinate}: {str(cell.value)[:40]!r}")
                values.append(cell.value)
    return values, problems
