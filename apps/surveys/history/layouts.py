"""The file layouts a response-history import reads (issue 20 item 6): this product's own and the response
exports of Qualtrics, SurveyMonkey, Formbricks and Delighted, as their documentation and exported files show them.

- **Generic** (our template): one header row; `response_id` (optional), `email`, `submitted_at` (ISO 8601:
  `2024-03-31 14:05`, an offset such as `+02:00` wins over the stated zone), optional `touchpoint`, `segment`,
  `language`, then one column per question named by its key (`nps`) or its text.
- **Qualtrics** ("Export data" → CSV or Excel): row 1 the field names (`StartDate`, `EndDate`, `Status`,
  `Finished`, `RecordedDate`, `ResponseId`, `RecipientEmail`, `UserLanguage`, `Q1`, `Q1_NPS_GROUP`, …), row 2
  the question texts, row 3 (current exports) `{"ImportId":"QID1"}` cells — the date columns' carry the export's
  `timeZone`. Previews, tests and spam (`Status`) and unfinished responses (`Finished` = 0/False) are refused.
- **SurveyMonkey** ("All individual responses", expanded): row 1 `Respondent ID`, `Collector ID`, `Start Date`,
  `End Date`, `IP Address`, `Email Address`, `First Name`, `Last Name`, custom data, then the question texts; row 2
  sub-headers (`Response`, `Open-Ended Response`, or a choice per column: a multiple-choice question spreads over
  the columns after its text, whose row-1 cells are empty). Dates `MM/DD/YYYY HH:MM:SS AM`.
- **Formbricks** (Responses → Download, CSV or Excel): `No.`, `Response ID`, `Timestamp`
  (`YYYY-MM-DD HH:MM:SS`), `Finished` (Yes/No), `Survey ID`, `Formbricks ID (internal)`, `User ID`, `Notes`,
  `Tags`, metadata, then `1. <question headline>` (and `… - Option ID` columns, ignored), hidden fields (an
  `email` one) and `Verified Email`.
- **Delighted** (Responses → Export CSV): `Response ID`, `Score`, `Comment`, the person's `Email` and `Name`, a
  timestamp (`Response timestamp`, or `Created`/`Created at`: a date-time or Unix seconds), `Tags`, `Notes`,
  properties and additional questions by their text. `Score` answers the survey's first scored question and
  `Comment` its first free-text one.

What a layout decides: which header rows there are, which column holds the response id, the e-mail, the
time and the other roles, how its dates are written and which rows are not real responses. Questions are
matched to columns by key or text (any of the survey's languages); the lead can change every choice in
the review (`mapping`).
"""

from __future__ import annotations

import dataclasses
import datetime
import itertools
import json
import re
from collections.abc import Iterator
from zoneinfo import ZoneInfo

ROLES = ("response_id", "email", "submitted_at", "touchpoint", "segment", "language")
ROLE_LABELS = {"response_id": "Response id", "email": "E-mail", "submitted_at": "Answered at", "touchpoint": "Touchpoint (per row)",
               "segment": "Segment (per row)", "language": "Language"}
TOKEN_RE = re.compile(r"\{\{[^{}]*\}\}")
NUMBERED_RE = re.compile(r"^\d+\s*[.)]\s*")


def norm(text) -> str:
    """A header or question text as compared: case-folded, punctuation and spacing collapsed."""
    return " ".join(re.sub(r"[^\w]+", " ", TOKEN_RE.sub(" ", str(text or ""))).casefold().replace("_", " ").split())


@dataclasses.dataclass(frozen=True)
class Layout:
    key: str
    roles: dict[str, tuple[str, ...]]  # role → header names (normalised) that hold it, first match wins
    date_formats: tuple[str, ...] = ()  # strptime formats besides ISO 8601
    skip: str = ""  # how rows that are not real responses are told: "qualtrics" | "finished" | ""
    score_column: str = ""  # a column answering the first scored question (Delighted's "score")
    comment_column: str = ""  # a column answering the first free-text question


GENERIC = Layout("generic", {
    "response_id": ("response id", "id"),
    "email": ("email", "e mail", "email address", "e mail address", "contact email"),
    "submitted_at": ("submitted at", "answered at", "responded at", "date", "timestamp", "created at"),
    "touchpoint": ("touchpoint",),
    "segment": ("segment",),
    "language": ("language",),
})
LAYOUTS = {
    "generic": GENERIC,
    "qualtrics": Layout("qualtrics", {
        "response_id": ("responseid", "response id"),
        "email": ("recipientemail", "recipient email"),
        "submitted_at": ("recordeddate", "recorded date", "enddate", "end date"),
        "language": ("userlanguage", "user language"),
    }, skip="qualtrics"),
    "surveymonkey": Layout("surveymonkey", {
        "response_id": ("respondent id",),
        "email": ("email address", "email"),
        "submitted_at": ("end date", "date modified"),
    }, date_formats=("%m/%d/%Y %I:%M:%S %p", "%m/%d/%Y %H:%M:%S", "%m/%d/%Y %I:%M %p", "%m/%d/%Y %H:%M")),
    "formbricks": Layout("formbricks", {
        "response_id": ("response id",),
        "email": ("verified email", "email"),
        "submitted_at": ("timestamp",),
        "language": ("language",),
    }, skip="finished"),
    "delighted": Layout("delighted", {
        "response_id": ("response id",),
        "email": ("email", "email address", "person email"),
        "submitted_at": ("response timestamp", "created", "created at", "date"),
    }, date_formats=("%Y-%m-%d %H:%M:%S %z", "%m/%d/%Y %H:%M:%S", "%m/%d/%Y %H:%M"), score_column="score", comment_column="comment"),
}
LAYOUT_LABELS = {"generic": "this product's layout", "qualtrics": "a Qualtrics export", "surveymonkey": "a SurveyMonkey export",
                 "formbricks": "a Formbricks export", "delighted": "a Delighted export"}
# Columns the vendors write that never answer a question (not offered for mapping by default).
METADATA = {
    "qualtrics": {"startdate", "enddate", "status", "ipaddress", "progress", "duration in seconds", "finished", "recordeddate",
                  "responseid", "recipientlastname", "recipientfirstname", "recipientemail", "externalreference",
                  "locationlatitude", "locationlongitude", "distributionchannel", "userlanguage"},
    "surveymonkey": {"respondent id", "collector id", "start date", "end date", "ip address", "email address", "first name",
                     "last name", "custom data 1", "custom data"},
    "formbricks": {"no", "response id", "timestamp", "finished", "survey id", "formbricks id internal", "user id", "notes", "tags",
                   "quotas", "verified email"},
    "delighted": {"response id", "email", "name", "response timestamp", "created", "created at", "updated", "updated at", "tags",
                  "notes", "person id"},
}


def detect(names: set[str]) -> str:
    """The layout a header's normalised names point to (generic when none does)."""
    if "responseid" in names and names & {"recordeddate", "enddate"}:
        return "qualtrics"
    if "respondent id" in names and "collector id" in names:
        return "surveymonkey"
    if {"response id", "timestamp", "finished"} <= names:
        return "formbricks"
    if "score" in names and names & {"response timestamp", "created", "created at", "updated"}:
        return "delighted"
    return "generic"


@dataclasses.dataclass
class Header:
    """What the header rows say: the layout, each column's label and the texts a question may match, the
    column groups (a SurveyMonkey multiple choice spreads over several), the zone the file declares."""

    layout: Layout
    labels: list[str]
    texts: list[set[str]]
    groups: dict[int, list[int]]
    declared_zone: str
    rows: Iterator[tuple[int, list[str]]]
    delimiter: str = ""

    @property
    def width(self) -> int:
        return len(self.labels)


def _peek(rows: Iterator) -> tuple[tuple[int, list[str]] | None, Iterator]:
    first = next(rows, None)
    return first, (itertools.chain([first], rows) if first is not None else rows)


def _qualtrics_zone(cells: list[str]) -> str:
    for cell in cells:
        if cell.startswith("{"):
            try:
                zone = json.loads(cell).get("timeZone", "")
            except (ValueError, AttributeError):
                continue
            if zone:
                return str(zone)
    return ""


def read_header(rows: Iterator[tuple[int, list[str]]], *, layout: str) -> Header:
    """Read the header rows off a table's rows (`layout` "auto" detects it); raise ValueError with the reason."""
    first = next(rows, None)
    while first is not None and not any(first[1]):
        first = next(rows, None)
    if first is None:
        raise ValueError("The file is empty. Upload a CSV or XLSX file with a header row and at least one row of data.")
    header = list(first[1])
    while header and not header[-1]:
        header.pop()
    names = [norm(h) for h in header]
    key = detect(set(names)) if layout == "auto" else layout
    chosen = LAYOUTS[key]
    texts = [{n} if n else set() for n in names]
    labels = [h or f"Column {i + 1}" for i, h in enumerate(header)]
    groups = {i: [i] for i in range(len(header))}
    declared_zone = ""
    if key == "qualtrics":
        second, rows = _peek(rows)
        if second is not None and _is_qualtrics_label_row(second[1], names):
            next(rows)
            for i, text in enumerate(second[1][:len(header)]):
                if text and norm(text) != names[i]:
                    texts[i].add(norm(text))
                    labels[i] = f"{header[i]} — {text}"
            third, rows = _peek(rows)
            if third is not None and any(c.startswith('{"ImportId"') or c.startswith("{'ImportId'") for c in third[1]):
                next(rows)
                declared_zone = _qualtrics_zone(third[1])
    elif key == "surveymonkey":
        second, rows = _peek(rows)
        if second is not None and _is_monkey_subheader(second[1], names):
            next(rows)
            sub = list(second[1])
            while sub and not sub[-1]:
                sub.pop()
            width = max(len(header), len(sub))
            header += [""] * (width - len(header))
            sub += [""] * (width - len(sub))
            labels = [h or f"Column {i + 1}" for i, h in enumerate(header)]
            texts = [{norm(h)} if h else set() for h in header]
            groups, owner = {}, None
            for i in range(width):
                if header[i]:
                    owner = i
                    groups[i] = [i]
                elif owner is not None and sub[i]:
                    groups[owner].append(i)
                    labels[i] = f"↳ {sub[i]}"
    elif key == "formbricks":
        for i, h in enumerate(header):
            stripped = NUMBERED_RE.sub("", h)
            if stripped != h:
                texts[i].add(norm(stripped))
    return Header(chosen, labels, texts, groups, declared_zone, rows)


def _is_qualtrics_label_row(cells: list[str], names: list[str]) -> bool:
    """Row 2 of a Qualtrics export holds the labels: "Response ID" under ResponseId."""
    if "responseid" not in names:
        return False
    index = names.index("responseid")
    return index < len(cells) and norm(cells[index]) == "response id"


def _is_monkey_subheader(cells: list[str], names: list[str]) -> bool:
    """Row 2 of a SurveyMonkey export: no respondent id under "Respondent ID", sub-headers further right."""
    index = names.index("respondent id") if "respondent id" in names else 0
    return (index >= len(cells) or not cells[index]) and any(cells)


# --- the proposed mapping ---------------------------------------------------------------------------

def question_texts(question) -> set[str]:
    found = {norm(question.key)}
    for text in (question.text or {}).values():
        if norm(text):
            found.add(norm(text))
    return found


def propose(header: Header, questions: list) -> dict[str, int]:
    """{role or "q:<key>": column index} from the header's names (module docstring)."""
    mapping: dict[str, int] = {}
    used: set[int] = set()
    layout = header.layout
    for role, names in layout.roles.items():
        for name in names:
            index = next((i for i, texts in enumerate(header.texts) if name in texts and i not in used), None)
            if index is not None:
                mapping[role] = index
                used.add(index)
                break
    metadata = METADATA.get(layout.key, set())
    for question in questions:
        wanted = question_texts(question)
        for i in header.groups:
            if i in used or header.texts[i] & metadata and not header.texts[i] & wanted:
                continue
            if header.texts[i] & wanted:
                mapping[f"q:{question.key}"] = i
                used.add(i)
                break
    for column, pick in ((layout.score_column, _first_scored), (layout.comment_column, _first_text)):
        if not column:
            continue
        question = pick(questions)
        index = next((i for i, texts in enumerate(header.texts) if column in texts and i not in used), None)
        if question is not None and index is not None and f"q:{question.key}" not in mapping:
            mapping[f"q:{question.key}"] = index
            used.add(index)
    return mapping


def _first_scored(questions):
    from apps.surveys.models import QuestionType

    return next((q for q in questions if q.type in (QuestionType.NPS, QuestionType.CSAT, QuestionType.CES, QuestionType.SMILEY)), None)


def _first_text(questions):
    from apps.surveys.models import QuestionType

    return next((q for q in questions if q.type == QuestionType.TEXT), None)


# --- row rules ------------------------------------------------------------------------------------

QUALTRICS_REFUSED = {"1": "a survey preview", "2": "a survey test", "8": "spam", "9": "a preview flagged as spam",
                     "12": "an imported response flagged as spam", "17": "an offline preview"}
FALSE_WORDS = {"0", "false", "no", "n", "f"}


def not_a_response(layout: Layout, cells: dict[str, str]) -> str:
    """Why a row is not a real response (empty when it is one): previews, tests, spam, unfinished answers."""
    finished = cells.get("finished", "")
    if layout.skip in ("qualtrics", "finished") and finished and finished.strip().casefold() in FALSE_WORDS:
        return f"an unfinished response (Finished = {finished})"
    if layout.skip == "qualtrics":
        status = cells.get("status", "").strip()
        word = status.casefold()
        if status in QUALTRICS_REFUSED:
            return f"{QUALTRICS_REFUSED[status]} (Status = {status})"
        if any(w in word for w in ("preview", "test", "spam")):
            return f"not a real response (Status = {status})"
    return ""


def skip_columns(header: Header) -> dict[str, int]:
    """The columns `not_a_response` reads."""
    found = {}
    for name in ("finished", "status"):
        index = next((i for i, texts in enumerate(header.texts) if name in texts), None)
        if index is not None:
            found[name] = index
    return found


EPOCH_RE = re.compile(r"^\d{9,11}(\.\d+)?$")


def parse_moment(text: str, layout: Layout, zone: ZoneInfo) -> datetime.datetime:
    """An aware datetime; a time without an offset is in `zone`, a date alone is noon there (its day stays its day
    in any zone a few hours away). ValueError when it cannot be read."""
    value = text.strip()
    if EPOCH_RE.match(value) and layout.key == "delighted":
        return datetime.datetime.fromtimestamp(float(value), tz=datetime.UTC)
    moment = None
    iso = value.replace("Z", "+00:00") if value.endswith("Z") else value
    try:
        moment = datetime.datetime.fromisoformat(iso)
        if len(value) == 10:  # a date alone
            moment = moment.replace(hour=12)
    except ValueError:
        for fmt in layout.date_formats:
            try:
                moment = datetime.datetime.strptime(value, fmt)
                break
            except ValueError:
                continue
    if moment is None:
        raise ValueError(value)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=zone)


def date_hint(layout: Layout) -> str:
    if layout.key == "surveymonkey":
        return "MM/DD/YYYY HH:MM:SS AM, as SurveyMonkey writes it"
    if layout.key == "delighted":
        return "YYYY-MM-DD HH:MM:SS or Unix seconds"
    return "YYYY-MM-DD HH:MM, e.g. 2024-03-31 14:05"
