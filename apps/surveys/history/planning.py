"""Deciding every row of a response-history import, and writing the accepted ones in bulk.

The review and the apply run the same `plan_rows`: the review only counts, the apply hands each accepted row to a
writer that flushes a batch of responses (and their answers) at a time, inside the apply's one transaction, and
compares the plan's digest with the reviewed one at the end (a difference rolls everything back and the job
returns to review). Memory stays bounded by the batch and the set of keys seen.

Row rules (also on the upload page):
- the time is required, read in the stated zone unless it carries an offset; a time in the future is refused;
- the e-mail, when there is one, must be a contact of this workspace (matched case-insensitively); its client,
  the client's segment and the contact's hidden fields are the response's, as for an invitation made now; a row
  without an e-mail is an anonymous response;
- each mapped cell must answer its question as the version asks it: a score within the scale (a leading number
  is read: "9 - Very likely" is 9), a choice among the options (by value or label in any of the survey's
  languages; several separated by ";" or ","), a text of at most 5,000 characters; a row answering nothing is
  refused; the version's logic applies (answers to questions it would not have shown are dropped);
- `touchpoint` and `segment` columns, when mapped, must name existing ones; otherwise the job's touchpoint (or the
  survey's) and the client's segment are used, and the stage is the survey's or the touchpoint's only one;
- a row is identified by its source's response id (else by its e-mail, time and answers): a row met before in the
  file is refused as a duplicate, one imported before is counted as already imported and left as it is.
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import json
import re
from collections.abc import Callable
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db.models import Count

from apps.clients.models import Contact, Segment
from apps.core.dates import local_day
from apps.journeys.models import Stage, StageTouchpoint
from apps.surveys.attributes import invitation_attributes
from apps.surveys.history.layouts import ROLE_LABELS, Header, date_hint, norm, not_a_response, parse_moment, skip_columns
from apps.surveys.logic import question_choice_values, question_scale
from apps.surveys.models import Answer, Question, QuestionType, Response, ResponseImport
from apps.surveys.respond.services import SCALE_TYPES, TEXT_MAX, answers_validate, response_scores
from apps.touchpoints.models import Touchpoint

BATCH_SIZE = 1000
PROGRESS_EVERY = 1000
KEY_PREFIX = "imp:"
LEADING_NUMBER = re.compile(r"^\s*(-?\d+)(?:[.,]0+)?(?:\s*[-–—:]\s*.*|\s.*)?$")


class RowRejected(Exception):
    pass


@dataclasses.dataclass
class Snapshot:
    """What rows are matched against, loaded once (a few queries whatever the file's size)."""

    contacts: dict[str, Contact]
    touchpoints: dict[str, int]
    segments: dict[str, int]
    stage_of_touchpoint: dict[int, int]
    journey_of_stage: dict[int, int]
    imported_keys: set[str]


def load_snapshot(job: ResponseImport) -> Snapshot:
    contacts = {}
    for contact in Contact.objects.exclude(email="").select_related("client__segment", "client__owner__user"):
        contacts[contact.email.strip().lower()] = contact
    placed = (StageTouchpoint.objects.values("touchpoint_id").annotate(stages=Count("stage_id", distinct=True)))
    single = {row["touchpoint_id"] for row in placed if row["stages"] == 1}
    stage_of_touchpoint = dict(StageTouchpoint.objects.filter(touchpoint_id__in=single).values_list("touchpoint_id", "stage_id"))
    keys = Response.objects.filter(survey_id=job.survey_id, submission_key__startswith=KEY_PREFIX).values_list("submission_key", flat=True)
    return Snapshot(
        contacts=contacts,
        touchpoints={norm(name): pk for pk, name in Touchpoint.objects.values_list("pk", "name")},
        segments={norm(name): pk for pk, name in Segment.objects.values_list("pk", "name")},
        stage_of_touchpoint=stage_of_touchpoint,
        journey_of_stage=dict(Stage.objects.values_list("pk", "journey_id")),
        imported_keys=set(keys.iterator(chunk_size=5000)),
    )


# --- the mapping ----------------------------------------------------------------------------------

def mapping_problem(mapping: dict[str, int], questions: list[Question], width: int) -> str:
    """Why the mapping cannot import anything (empty when it can)."""
    if "submitted_at" not in mapping:
        return "Choose the column that holds when each response was given (Answered at)."
    if not any(f"q:{q.key}" in mapping for q in questions):
        return "Choose the column of at least one question."
    seen: dict[int, str] = {}
    for name, index in mapping.items():
        if not isinstance(index, int) or not 0 <= index < width:
            return f"{_name(name)}: the file has no such column."
        if index in seen:
            return f"One column cannot hold both {_name(seen[index])} and {_name(name)}."
        seen[index] = name
    return ""


def _name(name: str) -> str:
    return f"question “{name[2:]}”" if name.startswith("q:") else ROLE_LABELS.get(name, name)


# --- typed cells ----------------------------------------------------------------------------------

def _choices(question: Question) -> dict[str, str]:
    """norm(value or label in any language) → value."""
    options = question.options
    items = options if isinstance(options, list) else (options.get("choices", []) if isinstance(options, dict) else [])
    found: dict[str, str] = {}
    for item in items:
        if not isinstance(item, dict) or "value" not in item:
            continue
        value = str(item["value"])
        found.setdefault(norm(value), value)
        labels = item.get("label") or {}
        for label in (labels.values() if isinstance(labels, dict) else [labels]):
            if norm(label):
                found.setdefault(norm(label), value)
    return found


class QuestionReader:
    """Reads a question's cells (its column, or a SurveyMonkey group of columns) into the raw answer
    `answers_validate` checks."""

    def __init__(self, question: Question, columns: list[int]):
        self.question = question
        self.columns = columns
        self.choices = _choices(question) if question.type in (QuestionType.SINGLE_CHOICE, QuestionType.MULTI_CHOICE) else {}
        self.scale = question_scale(question) if question.type in SCALE_TYPES else None
        self.allowed = question_choice_values(question)

    def read(self, cells: list[str]):
        texts = [cells[i] for i in self.columns if i < len(cells) and cells[i]]
        if not texts:
            return None
        key = self.question.key
        if self.scale is not None:
            match = LEADING_NUMBER.match(texts[0])
            low, high = self.scale
            if match is None:
                raise RowRejected(f"{key}: “{texts[0]}” is not a score from {low} to {high}")
            number = int(match.group(1))
            if not low <= number <= high:
                raise RowRejected(f"{key}: {number} is outside the scale {low}–{high}")
            return number
        if self.question.type == QuestionType.TEXT:
            text = texts[0]
            if len(text) > TEXT_MAX:
                raise RowRejected(f"{key}: the text has {len(text):,} characters; at most {TEXT_MAX:,} are kept")
            return text
        if self.question.type == QuestionType.SINGLE_CHOICE:
            return self._choice(texts[0])
        parts = texts if len(texts) > 1 else self._split(texts[0])
        return [self._choice(part) for part in parts]

    def _split(self, text: str) -> list[str]:
        if norm(text) in self.choices:
            return [text]
        separator = ";" if ";" in text else ","
        return [part.strip() for part in text.split(separator) if part.strip()]

    def _choice(self, text: str) -> str:
        value = self.choices.get(norm(text))
        if value is None:
            offered = ", ".join(self.allowed[:8]) + ("…" if len(self.allowed) > 8 else "")
            raise RowRejected(f"{self.question.key}: “{text[:80]}” is not one of the options ({offered})")
        return value


# --- the plan ---------------------------------------------------------------------------------------

@dataclasses.dataclass
class Plan:
    rows_total: int = 0
    to_create: int = 0
    unchanged: int = 0
    anonymous: int = 0
    rejections: list[dict] = dataclasses.field(default_factory=list)
    first_day: datetime.date | None = None
    last_day: datetime.date | None = None
    digest: str = ""

    @property
    def rejected(self) -> int:
        return len(self.rejections)

    def summary(self) -> dict:
        return {"anonymous": self.anonymous, "first_day": self.first_day.isoformat() if self.first_day else "",
                "last_day": self.last_day.isoformat() if self.last_day else ""}


class Planner:
    def __init__(self, *, job: ResponseImport, header: Header, questions: list[Question], snapshot: Snapshot,
                 now: datetime.datetime, tenant_zone: str):
        self.job = job
        self.header = header
        self.layout = header.layout
        self.snap = snapshot
        self.now = now
        self.zone = ZoneInfo(job.time_zone)
        self.tenant_zone = tenant_zone
        self.questions = questions
        self.survey = job.survey
        mapping = job.mapping
        self.role = {role: mapping[role] for role in ("response_id", "email", "submitted_at", "touchpoint", "segment", "language")
                     if role in mapping}
        self.readers = [QuestionReader(q, header.groups.get(mapping[f"q:{q.key}"], [mapping[f"q:{q.key}"]]))
                        for q in questions if f"q:{q.key}" in mapping]
        self.skip = skip_columns(header)
        self.languages = set(self.survey.languages or [self.survey.default_language])
        default_touchpoint = job.touchpoint_id or self.survey.touchpoint_id
        self.default_touchpoint = default_touchpoint
        self.plan = Plan()
        self.seen: dict[str, int] = {}
        self._digest = hashlib.sha256()

    def _cell(self, cells: list[str], role: str) -> str:
        index = self.role.get(role)
        return cells[index] if index is not None and index < len(cells) else ""

    def _note(self, item) -> None:
        self._digest.update(json.dumps(item, default=str).encode())
        self._digest.update(b"\n")

    def row(self, number: int, cells: list[str]) -> Response | None:
        """The response a row makes (unsaved, its answers in `_answers`), or None (refused or already imported)."""
        self.plan.rows_total += 1
        email = self._cell(cells, "email").strip()
        try:
            response, key = self._decide(cells, email.lower())
        except RowRejected as exc:
            self.plan.rejections.append({"row": number, "email": email[:254], "reason": str(exc)})
            self._note(["reject", number, str(exc)])
            return None
        self.seen[key] = number
        if key in self.snap.imported_keys:
            self.plan.unchanged += 1
            self._note(["unchanged", number, key])
            return None
        self.plan.to_create += 1
        if response.contact_id is None:
            self.plan.anonymous += 1
        day = response.local_day
        self.plan.first_day = min(self.plan.first_day or day, day)
        self.plan.last_day = max(self.plan.last_day or day, day)
        self._note(["create", number, key, response.contact_id, response.touchpoint_id, response.segment_id])
        return response

    def _decide(self, cells: list[str], email: str) -> tuple[Response, str]:
        if self.skip:
            why = not_a_response(self.layout, {name: cells[i] if i < len(cells) else "" for name, i in self.skip.items()})
            if why:
                raise RowRejected(f"{why}: not imported")
        moment = self._moment(cells)
        contact = None
        if email:
            try:
                validate_email(email)
            except ValidationError:
                raise RowRejected(f"“{email}” is not a valid e-mail address") from None
            contact = self.snap.contacts.get(email)
            if contact is None:
                raise RowRejected(f"no contact with the e-mail {email} in this workspace (import the contacts first: Clients → Import)")
        raw = {}
        for reader in self.readers:
            value = reader.read(cells)
            if value is not None:
                raw[reader.question.key] = value
        if not raw:
            raise RowRejected("the row answers none of the mapped questions")
        try:
            cleaned = answers_validate(self.questions, raw, partial=True)
        except ValidationError as exc:
            first = next(iter(exc.message_dict.items()))
            raise RowRejected(f"{first[0]}: {' '.join(first[1])}") from None
        if not cleaned:
            raise RowRejected("the row answers only questions this version would not have shown")
        key = self._key(cells, email, moment, cleaned)
        if key in self.seen:
            raise RowRejected(f"the same response as row {self.seen[key]} (a duplicate row)")
        return self._response(cells, contact, moment, cleaned, key), key

    def _moment(self, cells: list[str]) -> datetime.datetime:
        text = self._cell(cells, "submitted_at").strip()
        if not text:
            raise RowRejected("no date: when the response was given is required")
        try:
            moment = parse_moment(text, self.layout, self.zone)
        except (ValueError, OverflowError, OSError):
            raise RowRejected(f"“{text[:40]}” is not a date and time (use {date_hint(self.layout)})") from None
        if moment > self.now:
            raise RowRejected(f"{text} is in the future: only past responses can be imported")
        return moment

    def _key(self, cells, email: str, moment: datetime.datetime, cleaned: dict) -> str:
        source_id = self._cell(cells, "response_id").strip()
        if source_id:
            basis = f"{self.layout.key}:id:{source_id}"
        else:
            basis = json.dumps([email, moment.astimezone(datetime.UTC).isoformat(), sorted(cleaned.items())], default=str)
        return KEY_PREFIX + hashlib.sha256(basis.encode()).hexdigest()[:60]

    def _response(self, cells, contact: Contact | None, moment: datetime.datetime, cleaned: dict, key: str) -> Response:
        touchpoint_id = self.default_touchpoint
        name = self._cell(cells, "touchpoint").strip()
        if name:
            touchpoint_id = self.snap.touchpoints.get(norm(name))
            if touchpoint_id is None:
                raise RowRejected(f"touchpoint: no touchpoint is named “{name[:80]}”")
        client = contact.client if contact is not None else None
        segment_id = client.segment_id if client is not None else None
        name = self._cell(cells, "segment").strip()
        if name:
            segment_id = self.snap.segments.get(norm(name))
            if segment_id is None:
                raise RowRejected(f"segment: no segment is named “{name[:80]}”")
        language = self._cell(cells, "language").strip().lower().replace("_", "-").split("-")[0]
        language = language if language in self.languages else self.survey.default_language
        stage_id = self.survey.stage_id or self.snap.stage_of_touchpoint.get(touchpoint_id)
        response = Response(
            tenant_id=self.job.tenant_id, survey_id=self.survey.pk, version_id=self.job.version_id, channel=Response.Channel.IMPORT,
            language=language, submitted_at=moment, local_day=local_day(self.tenant_zone, moment), submission_key=key,
            client_id=client.pk if client else None, contact_id=contact.pk if contact else None, touchpoint_id=touchpoint_id,
            stage_id=stage_id, journey_id=self.snap.journey_of_stage.get(stage_id) if stage_id else None, segment_id=segment_id,
            attributes=invitation_attributes(client=client, contact=contact), **response_scores(self.survey, self.questions, cleaned),
        )
        response._answers = cleaned
        return response

    def finish(self) -> Plan:
        self.plan.digest = self._digest.hexdigest()
        return self.plan


def plan_rows(planner: Planner, *, write: Callable[[Response], None] | None = None,
              progress: Callable[[int], None] | None = None) -> Plan:
    for number, cells in planner.header.rows:
        if not any(cells):
            continue
        response = planner.row(number, cells)
        if response is not None and write is not None:
            write(response)
        if progress and planner.plan.rows_total % PROGRESS_EVERY == 0:
            progress(planner.plan.rows_total)
    return planner.finish()


class Writer:
    """Collects accepted rows and writes them a batch at a time (call inside the apply's transaction)."""

    def __init__(self, questions: list[Question], tenant_id: int):
        self.by_key = {q.key: q for q in questions}
        self.tenant_id = tenant_id
        self.batch: list[Response] = []
        self.written = 0
        self.days: set[datetime.date] = set()
        self.journeys: set[tuple[int, int]] = set()
        self.earliest: datetime.datetime | None = None
        self.commented: int = 0

    def __call__(self, response: Response) -> None:
        self.batch.append(response)
        if len(self.batch) >= BATCH_SIZE:
            self.flush()

    def flush(self) -> None:
        if not self.batch:
            return
        Response.objects.bulk_create(self.batch)
        answers = [Answer(tenant_id=self.tenant_id, response_id=r.pk, question_id=self.by_key[key].pk, value=value)
                   for r in self.batch for key, value in r._answers.items()]
        Answer.objects.bulk_create(answers, batch_size=5000)
        for r in self.batch:
            self.days.add(r.local_day)
            if r.client_id and r.journey_id:
                self.journeys.add((r.client_id, r.journey_id))
            self.earliest = min(self.earliest or r.submitted_at, r.submitted_at)
            self.commented += bool(r.comment)
        self.written += len(self.batch)
        self.batch = []
