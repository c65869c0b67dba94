"""The respondent's way through a version's pages, on the server (issue 20 item 1; the rules: apps/surveys/logic.py).

Every page is a plain form post: the answers of the other pages travel in hidden inputs under their own field
names, the page number in `page`, and "Back" is a submit button (`nav=back`) that keeps what the page held without
checking it. So the flow works without JavaScript, on the kiosk and in the embed, and stores nothing before the
last page: the response is written once, by `response_submit`, which checks every answer and the logic again.
"""

from __future__ import annotations

import dataclasses

from django.http import QueryDict

from apps.surveys.logic import Flow
from apps.surveys.models import Question, QuestionType
from apps.surveys.respond.forms import ResponseForm, field_name
from apps.surveys.respond.services import answers_clean_lenient


@dataclasses.dataclass
class Step:
    """One page to draw, or (`answers` set) the finished form to submit."""

    page: int
    page_count: int
    form: ResponseForm
    carried: list[tuple[str, str]]  # (field name, value): the answers of the other pages, as hidden inputs
    has_previous: bool
    has_next: bool  # a later page may follow (the respondent's answers decide whether it is shown)
    answers: dict | None = None

    @property
    def finished(self) -> bool:
        return self.answers is not None


def raw_answers(data: QueryDict, questions: list[Question]) -> dict:
    """{question key: posted value} (a list for multiple choice), non-empty ones only."""
    raw = {}
    for question in questions:
        name = field_name(question)
        if question.type == QuestionType.MULTI_CHOICE:
            values = [v for v in data.getlist(name) if v]
            if values:
                raw[question.key] = values
        elif (data.get(name) or "").strip():
            raw[question.key] = data.get(name)
    return raw


def _page_number(value, count: int) -> int:
    try:
        page = int(value)
    except (TypeError, ValueError):
        return 1
    return min(max(page, 1), max(count, 1))


def _step(flow: Flow, page: int, raw: dict, known: dict, form: ResponseForm) -> Step:
    pages = flow.pages
    shown = {q.key for q in flow.shown(known)}
    carried = []
    for question in flow.questions:
        key = question.key
        if key in raw and key in shown and pages[key] != page:
            values = raw[key] if isinstance(raw[key], list) else [raw[key]]
            carried += [(field_name(question), str(value)) for value in values]
    return Step(page=page, page_count=flow.page_count, form=form, carried=carried,
                has_previous=flow.previous_page(page, known) is not None, has_next=page < flow.page_count)


def step_start(questions: list[Question], *, language: str, preselect: dict | None = None, **form_kwargs) -> Step:
    """The first page, nothing answered yet (`preselect`: a score clicked in the e-mail, or the one it recorded)."""
    flow = Flow(questions)
    page = flow.first_page()
    known = dict(preselect or {})
    form = ResponseForm(questions=flow.page_questions(page, known), language=language, preselect=preselect, **form_kwargs)
    return _step(flow, page, {}, known, form)


def step_post(data: QueryDict, questions: list[Question], *, language: str, **form_kwargs) -> Step:
    """What a posted page leads to: the same page with its errors, the next (or previous) page, or the finished
    answers (`Step.answers`) when the last page with a question to show validated."""
    flow = Flow(questions)
    raw = raw_answers(data, questions)
    known = flow.shown_answers(answers_clean_lenient(questions, raw))
    page = _page_number(data.get("page"), flow.page_count)
    if data.get("nav") == "back":
        target = flow.previous_page(page, known) or page
        form = ResponseForm(questions=flow.page_questions(target, known), language=language, preselect=raw, **form_kwargs)
        return _step(flow, target, raw, known, form)
    page_questions = flow.page_questions(page, known)
    form = ResponseForm(data, questions=page_questions, language=language, **form_kwargs)
    if not form.is_valid():
        return _step(flow, page, raw, known, form)
    on_page = {q.key for q in page_questions}
    answers = flow.shown_answers({**{k: v for k, v in known.items() if k not in on_page}, **form.answers()})
    following = flow.next_page(page, answers)
    if following is None:
        step = _step(flow, page, raw, answers, form)
        step.answers = answers
        return step
    form = ResponseForm(questions=flow.page_questions(following, answers), language=language, preselect=raw, **form_kwargs)
    return _step(flow, following, raw, answers, form)


def step_again(data: QueryDict, questions: list[Question], *, language: str, **form_kwargs) -> Step:
    """The posted page again, its answers checked (the caller adds why it is shown again: a stale form)."""
    flow = Flow(questions)
    raw = raw_answers(data, questions)
    known = flow.shown_answers(answers_clean_lenient(questions, raw))
    page = _page_number(data.get("page"), flow.page_count)
    form = ResponseForm(data, questions=flow.page_questions(page, known), language=language, **form_kwargs)
    form.is_valid()
    return _step(flow, page, raw, known, form)
