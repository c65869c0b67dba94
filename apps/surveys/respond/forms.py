"""The respondent's form: one field per question of a version, every message in the respondent's
language, plus what an anonymous form carries (a signed stamp, a honeypot).

Templates do not render Django widgets: `form.items()` gives, per question, what the page draws
(native radio groups in a fieldset with a legend, end labels, checkboxes, a textarea) with the
current value and the error, so that the markup stays accessible and identical with and without
JavaScript.
"""

from __future__ import annotations

import dataclasses
import secrets
import time

from django import forms
from django.core import signing

from apps.surveys.attributes import pipe
from apps.surveys.i18n import localized, ui_text
from apps.surveys.models import Question, QuestionType
from apps.surveys.respond.services import SCALE_TYPES, TEXT_MAX, question_scale, score_question

STAMP_SALT = "cxm.surveys.respond.stamp"
HONEYPOT_FIELD = "website"
END_LABEL_KEYS = {QuestionType.NPS: "nps", QuestionType.CSAT: "csat", QuestionType.CES: "ces", QuestionType.RATING: "rating"}


def field_name(question: Question) -> str:
    return f"q_{question.key}"


def stamp_make(*, now: float | None = None) -> str:
    """A signed form stamp: a fresh submission key (a double submit of one rendered form lands once)
    and the time the form was rendered (a submit within seconds of it is a bot's)."""
    return signing.dumps({"k": secrets.token_urlsafe(24), "t": round(now if now is not None else time.time(), 3)}, salt=STAMP_SALT)


def stamp_read(value: str) -> dict | None:
    """{"k": submission key, "t": render time} of a genuine stamp, or None. No expiry: no time limits."""
    try:
        data = signing.loads(value or "", salt=STAMP_SALT)
    except signing.BadSignature:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("k"), str) or not isinstance(data.get("t"), int | float):
        return None
    return data


@dataclasses.dataclass(frozen=True)
class Choice:
    value: str
    label: str
    checked: bool
    input_id: str


@dataclasses.dataclass(frozen=True)
class QuestionItem:
    """What the template draws for one question."""

    question: Question
    name: str
    html_id: str
    kind: str  # scale | smiley | single | multi | text
    text: str
    required: bool
    choices: list[Choice]
    low_label: str
    high_label: str
    value: str
    errors: list[str]
    wide: bool  # 0–10: eleven options


class ResponseForm(forms.Form):
    def __init__(self, data=None, *, questions: list[Question], language: str, preselect: dict | None = None,
                 anonymous: bool = False, honeypot: bool = False, piping: dict | None = None, **kwargs):
        super().__init__(data, **kwargs)
        self.questions = questions
        self.language = language
        self.piping = piping  # the respondent's values of {{tokens}} (apps/surveys/attributes.py)
        self.preselect = preselect or {}
        messages = {"required": ui_text(language, "required"), "invalid_choice": ui_text(language, "invalid_choice"),
                    "invalid": ui_text(language, "invalid_choice"), "max_length": ui_text(language, "too_long", max=TEXT_MAX)}
        for question in questions:
            self.fields[field_name(question)] = self._field(question, messages)
        self.fields["lang"] = forms.CharField(required=False, widget=forms.HiddenInput)
        if anonymous:
            self.fields["stamp"] = forms.CharField(required=False, widget=forms.HiddenInput)
        if honeypot:
            self.fields[HONEYPOT_FIELD] = forms.CharField(required=False, max_length=500)

    def _field(self, question: Question, messages: dict) -> forms.Field:
        common = {"required": question.required, "error_messages": messages}
        if question.type in SCALE_TYPES:
            low, high = question_scale(question)
            return forms.TypedChoiceField(choices=[(str(i), str(i)) for i in range(low, high + 1)], coerce=int, empty_value=None,
                                          widget=forms.RadioSelect, **common)
        if question.type == QuestionType.SINGLE_CHOICE:
            return forms.ChoiceField(choices=self._choices(question), widget=forms.RadioSelect, **common)
        if question.type == QuestionType.MULTI_CHOICE:
            return forms.MultipleChoiceField(choices=self._choices(question), widget=forms.CheckboxSelectMultiple, **common)
        return forms.CharField(max_length=TEXT_MAX, widget=forms.Textarea, strip=True, **common)

    def _choices(self, question: Question) -> list[tuple[str, str]]:
        options = question.options
        items = options if isinstance(options, list) else (options.get("choices", []) if isinstance(options, dict) else [])
        return [(str(item["value"]), pipe(localized(item.get("label", item["value"]), self.language), self.piping))
                for item in items if isinstance(item, dict) and "value" in item]

    def answers(self) -> dict:
        """{question key: value} of the answered questions (for response_submit)."""
        result = {}
        for question in self.questions:
            value = self.cleaned_data.get(field_name(question))
            if value not in (None, "", []):
                result[question.key] = value
        return result

    @property
    def honeypot_filled(self) -> bool:
        return bool(self.is_bound and (self.data.get(HONEYPOT_FIELD) or "").strip())

    def error_summary(self) -> list[tuple[str, str, str]]:
        """(anchor id, question text, message) per question in error, in page order."""
        rows = []
        for item in self.items():
            for message in item.errors:
                anchor = item.choices[0].input_id if item.choices else item.html_id
                rows.append((anchor, item.text, message))
        return rows

    def items(self) -> list[QuestionItem]:
        return [self._item(q) for q in self.questions]

    def _current(self, question: Question, name: str):
        if self.is_bound:
            return self.data.getlist(name) if question.type == QuestionType.MULTI_CHOICE else self.data.get(name, "")
        if question.key in self.preselect:
            value = self.preselect[question.key]
            if question.type == QuestionType.MULTI_CHOICE:
                return [str(v) for v in value] if isinstance(value, list) else [str(value)]
            return str(value)
        return [] if question.type == QuestionType.MULTI_CHOICE else ""

    def _item(self, question: Question) -> QuestionItem:
        name = field_name(question)
        html_id = f"id_{name}"
        current = self._current(question, name)
        selected = {str(v) for v in current} if isinstance(current, list) else {str(current)}
        lang = self.language
        low_label = high_label = ""
        if question.type == QuestionType.SMILEY:
            kind = "smiley"
            choices = [(str(i), ui_text(lang, f"smiley_{i}")) for i in (1, 2, 3)]
        elif question.type in SCALE_TYPES:
            kind = "scale"
            low, high = question_scale(question)
            choices = [(str(i), str(i)) for i in range(low, high + 1)]
            options = question.options if isinstance(question.options, dict) else {}
            base = END_LABEL_KEYS.get(question.type, "rating")
            low_label = localized(options.get("min_label"), lang) or ui_text(lang, f"{base}_low")
            high_label = localized(options.get("max_label"), lang) or ui_text(lang, f"{base}_high")
        elif question.type == QuestionType.SINGLE_CHOICE:
            kind, choices = "single", self._choices(question)
        elif question.type == QuestionType.MULTI_CHOICE:
            kind, choices = "multi", self._choices(question)
        else:
            kind, choices = "text", []
        errors = list(self.errors.get(name, [])) if self.is_bound else []
        return QuestionItem(
            question=question, name=name, html_id=html_id, kind=kind, text=pipe(localized(question.text, lang), self.piping),
            required=question.required,
            choices=[Choice(value=v, label=label, checked=v in selected, input_id=f"{html_id}_{i}") for i, (v, label) in enumerate(choices)],
            low_label=low_label, high_label=high_label, value=current if isinstance(current, str) and kind == "text" else "",
            errors=errors, wide=len(choices) > 7,
        )


def preselect_from_query(questions: list[Question], raw_score: str | None) -> dict:
    """?score=N from the e-mail's buttons (or the landing page's post of it): {the first scored question's key: N} if
    N is on its scale, else {}. A GET only shows it selected; the page posts it to record it (views)."""
    if raw_score is None or not raw_score.strip().lstrip("-").isdigit() or len(raw_score) > 4:
        return {}
    question = score_question(questions)
    if question is None:
        return {}
    low, high = question_scale(question)
    score = int(raw_score)
    return {question.key: score} if low <= score <= high else {}
