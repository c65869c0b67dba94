"""Reads for the survey builder: lists with their counts in a constant number of queries, a
survey's versions, what a draft would change against the live version, and what is missing
before a version can be published."""

from __future__ import annotations

import dataclasses
from datetime import datetime

from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet

from apps.surveys import kinds
from apps.surveys.attributes import known_tokens, unknown_tokens
from apps.surveys.logic import condition_words, logic_problems
from apps.surveys.models import Question, Response, Survey, SurveyVersion


def survey_is_open(survey: Survey, now: datetime) -> bool:
    """May respondents answer (and invitations go out) now? Live, with a published version, and
    within its open/close dates (opens_at inclusive, closes_at exclusive)."""
    return (survey.status == Survey.Status.LIVE and survey.current_version_id is not None
            and (survey.opens_at is None or survey.opens_at <= now)
            and (survey.closes_at is None or now < survey.closes_at))


def version_languages(survey: Survey, version: SurveyVersion) -> list[str]:
    """The survey's languages that this version has texts for, the default first (a language added
    to a live survey is offered once a version with its texts is published)."""
    texts = version.texts or {}
    langs = [lang for lang in (survey.languages or [survey.default_language]) if lang in texts]
    return langs or list(texts)[:1] or [survey.default_language]


def _response_count():
    return Count("responses", filter=Q(responses__is_bot=False), distinct=True)


def survey_list() -> QuerySet[Survey]:
    """Surveys with their links, live version, the responses counted (bots excluded) and whether a
    draft is pending: one query however many surveys."""
    drafts = SurveyVersion.objects.filter(survey=OuterRef("pk"), published_at__isnull=True)
    return (Survey.objects.select_related("touchpoint", "stage__journey", "current_version", "recurring_segment")
            .annotate(response_count=_response_count(), has_draft=Exists(drafts))
            .order_by("name"))


def survey_detail() -> QuerySet[Survey]:
    return Survey.objects.select_related("touchpoint", "stage__journey", "current_version", "recurring_segment")


def questions_of(version: SurveyVersion | None) -> list[Question]:
    if version is None:
        return []
    return list(Question.objects.filter(version=version).order_by("order", "id"))


def draft_of(survey: Survey) -> SurveyVersion | None:
    return SurveyVersion.objects.filter(survey=survey, published_at__isnull=True).first()


def version_list(survey: Survey) -> QuerySet[SurveyVersion]:
    """A survey's versions, newest first, with who published them and their response counts."""
    return (SurveyVersion.objects.filter(survey=survey)
            .select_related("survey", "published_by__user")
            .annotate(response_count=_response_count(), question_count=Count("questions", distinct=True))
            .order_by("-number"))


def version_with_questions() -> QuerySet[SurveyVersion]:
    return SurveyVersion.objects.select_related("survey", "published_by__user").prefetch_related(
        Prefetch("questions", queryset=Question.objects.order_by("order", "id")))


def survey_has_responses(survey: Survey) -> bool:
    return Response.objects.filter(survey=survey).exists()


# --- publishing ----------------------------------------------------------------------------------

def _label_sets(question: Question) -> list[tuple[str, dict]]:
    """(what, {lang: text}) for every option label a question carries."""
    options = question.options
    if question.type in kinds.CHOICE_TYPES:
        return [(f"choice {i}", c.get("label") or {}) for i, c in enumerate(options or [], start=1) if isinstance(c, dict)]
    if not isinstance(options, dict):
        return []
    return [(name.replace("_", " "), options[name]) for name in ("min_label", "max_label") if options.get(name)]


def publish_problems(survey: Survey, version: SurveyVersion, questions: list[Question] | None = None) -> dict[str, list[str]]:
    """What stops `version` being published, per language (and "" for the version as a whole):
    at least one question; its logic sound (apps/surveys/logic.py `logic_problems`); in every language the survey
    offers, the title, every question's text and every option label, and every ending's thanks."""
    questions = questions_of(version) if questions is None else questions
    problems: dict[str, list[str]] = {}
    if not questions:
        problems[""] = ["Add at least one question."]
    for q in questions:
        if q.type in kinds.CHOICE_TYPES and len(q.options or []) < 2:
            problems.setdefault("", []).append(f"Question {q.order} (“{q.key}”) needs at least two choices.")
    problems[""] = problems.get("", []) + logic_problems(questions, version.endings) + piping_problems(version, questions)
    if not problems[""]:
        del problems[""]
    for lang in survey.languages or [survey.default_language]:
        missing = []
        texts = (version.texts or {}).get(lang) or {}
        if not (texts.get("title") or "").strip():
            missing.append("the title")
        for q in questions:
            name = f"question {q.order} (“{q.key}”)"
            if not ((q.text or {}).get(lang) or "").strip():
                missing.append(f"the text of {name}")
            for what, labels in _label_sets(q):
                value = labels.get(lang) if isinstance(labels, dict) else None
                if not (value or "").strip():
                    missing.append(f"the {what} label of {name}")
        for ending in version.endings or []:
            if not (((ending.get("texts") or {}).get(lang) or {}).get("thanks") or "").strip():
                missing.append(f"the thank-you text of the ending “{ending['key']}”")
        if missing:
            problems[lang] = missing
    return problems


def _texts_to_pipe(version: SurveyVersion, questions: list[Question]):
    """(where, text) of every respondent-facing text a {{token}} may sit in."""
    for lang, parts in (version.texts or {}).items():
        for part in ("title", "intro", "thanks"):
            yield f"the {part} ({lang})", (parts or {}).get(part) or ""
    for q in questions:
        for lang, text in (q.text or {}).items():
            yield f"question {q.order} (“{q.key}”, {lang})", text
        for what, labels in _label_sets(q):
            for lang, text in (labels or {}).items() if isinstance(labels, dict) else ():
                yield f"the {what} label of question {q.order} ({lang})", text
    for ending in version.endings or []:
        for lang, parts in (ending.get("texts") or {}).items():
            for part in ("title", "thanks"):
                yield f"the ending “{ending['key']}” ({lang})", (parts or {}).get(part) or ""


def piping_problems(version: SurveyVersion, questions: list[Question]) -> list[str]:
    """A {{token}} that names nothing (apps/surveys/attributes.py), where it is."""
    candidates = [(where, text) for where, text in _texts_to_pipe(version, questions) if isinstance(text, str) and "{{" in text]
    if not candidates:
        return []
    known = known_tokens()
    usable = ", ".join(f"{{{{{token}}}}}" for token in sorted(known))
    problems = []
    for where, text in candidates:
        for token in unknown_tokens(text, known):
            problems.append(f"{where[0].upper()}{where[1:]} uses {token}, which names nothing: use {usable}, "
                            "with a fallback word if you like ({{contact.first_name|there}}).")
    return list(dict.fromkeys(problems))


def publish_problem_messages(survey: Survey, problems: dict[str, list[str]]) -> list[str]:
    messages = list(problems.get("", []))
    for lang in survey.languages or []:
        if problems.get(lang):
            messages.append(f"{kinds.LANGUAGE_NAMES.get(lang, lang)} ({lang}) is missing {'; '.join(problems[lang])}.")
    return messages


# --- what a draft changes ------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Change:
    kind: str  # "added", "removed", "changed", "moved", "texts"
    key: str
    detail: str


def _describe_options(q: Question) -> str:
    if q.type in kinds.CHOICE_TYPES:
        return ", ".join(v for v, _ in kinds.choice_list(q, next(iter(q.text), "en")))
    return str(q.options)


def lang_of(question: Question) -> str:
    return next(iter(question.text or {}), "en")


def version_changes(old: SurveyVersion | None, new: SurveyVersion, old_questions=None, new_questions=None) -> list[Change]:
    """What publishing `new` changes for respondents compared with `old` (the live version):
    questions added, removed, changed (type, text per language, options, required), moved; and
    the title/intro/thanks texts per language."""
    new_questions = questions_of(new) if new_questions is None else new_questions
    if old is None:
        return [Change("added", q.key, f"{q.get_type_display()}: {q.text.get(next(iter(q.text), ''), '')}") for q in new_questions]
    old_questions = questions_of(old) if old_questions is None else old_questions
    before = {q.key: q for q in old_questions}
    after = {q.key: q for q in new_questions}
    changes = []
    for lang in sorted(set(old.texts or {}) | set(new.texts or {})):
        for part in ("title", "intro", "thanks"):
            a = ((old.texts or {}).get(lang) or {}).get(part, "")
            b = ((new.texts or {}).get(lang) or {}).get(part, "")
            if a != b:
                changes.append(Change("texts", part, f"{lang}: “{a}” → “{b}”"))
    for key, q in after.items():
        if key not in before:
            changes.append(Change("added", key, f"{q.get_type_display()}: {q.text.get(next(iter(q.text), ''), '')}"))
            continue
        p = before[key]
        if p.type != q.type:
            changes.append(Change("changed", key, f"type {p.get_type_display()} → {q.get_type_display()}"))
        for lang in sorted(set(p.text) | set(q.text)):
            if p.text.get(lang, "") != q.text.get(lang, ""):
                changes.append(Change("changed", key, f"text ({lang}): “{p.text.get(lang, '')}” → “{q.text.get(lang, '')}”"))
        if p.options != q.options:
            changes.append(Change("changed", key, "answer options"))
        if p.required != q.required:
            changes.append(Change("changed", key, "now required" if q.required else "now optional"))
        if p.new_page != q.new_page:
            changes.append(Change("changed", key, "now starts a page" if q.new_page else "no longer starts a page"))
        if (p.show_if or {}) != (q.show_if or {}):
            changes.append(Change("changed", key, "its rule: " + (condition_words(q.show_if, after, lang_of(q)) or "always shown")))
    if (old.endings or []) != (new.endings or []):
        changes.append(Change("changed", "", "Endings: " + (", ".join(e["key"] for e in new.endings or []) or "none")))
    for key, q in before.items():
        if key not in after:
            changes.append(Change("removed", key, f"{q.get_type_display()}: {q.text.get(next(iter(q.text), ''), '')}"))
    old_order = [k for k in (q.key for q in old_questions) if k in after]
    new_order = [k for k in (q.key for q in new_questions) if k in before]
    if old_order != new_order:
        changes.append(Change("moved", "", "Questions are in a new order: " + ", ".join(new_order)))
    return changes
