"""Writes for building surveys: create from a kind's template, settings, the draft version's texts
and questions, publish, pause, resume, close, delete.

Rules applied here:
- a published SurveyVersion and its questions never change (the model refuses too): every content
  edit goes to the survey's one draft, created on the first edit by copying the live version's
  texts and questions (`draft_get_or_create`); responses stay pinned to the version they answered;
- publishing validates the draft (at least one question; in every language the survey offers, the
  title, every question's text and every option label) and changes nothing when it fails;
- writers of one survey are serialised by locking the survey row;
- settings, publish, pause, resume, close and delete are recorded in the audit log.
"""

from __future__ import annotations

import copy
import re
import secrets

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.text import slugify

from apps.core.events import survey_deleted
from apps.surveys import kinds, logic
from apps.surveys.builder.selectors import draft_of, publish_problem_messages, publish_problems, questions_of
from apps.surveys.models import (
    Invitation,
    KioskDevice,
    PublishedVersionIsImmutable,
    Question,
    QuestionType,
    Response,
    Survey,
    SurveyKind,
    SurveyVersion,
)
from apps.tenancy.models import Membership, Tenant
from apps.tenancy.services import audit_changes, audit_event_record

# Survey fields set by survey_create(**settings) and survey_update(**fields).
SETTINGS_FIELDS = ("opens_at", "closes_at", "trigger", "trigger_delay_minutes", "recurring_months", "recurring_segment",
                   "reminder_count", "reminder_interval_days", "invitation_valid_days", "web_link_enabled")
UPDATE_FIELDS = ("name", "touchpoint", "stage", "languages", "default_language", *SETTINGS_FIELDS)
TEXT_PARTS = ("title", "intro", "thanks")
KEY_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")


# --- helpers -------------------------------------------------------------------------------------

def _lock(survey: Survey) -> Survey:
    return Survey.objects.select_for_update().get(pk=survey.pk)


def _membership(acting_user) -> Membership | None:
    # A person's membership; an API key (or the system) publishes as nobody in particular.
    if acting_user is None or getattr(acting_user, "api_key", None) is not None or not getattr(acting_user, "is_authenticated", False):
        return None
    return Membership.objects.filter(user=acting_user).first()


def _languages(languages, default_language: str) -> list[str]:
    """The survey's languages without duplicates, the default first; at least one, all known."""
    langs = []
    for lang in languages or []:
        if lang not in langs:
            langs.append(lang)
    unknown = [lang for lang in langs if lang not in kinds.LANGUAGE_CODES]
    if unknown:
        raise ValidationError({"languages": f"Unknown language {', '.join(unknown)}; choose among {', '.join(kinds.LANGUAGE_CODES)}."})
    if not langs:
        raise ValidationError({"languages": "Offer at least one language."})
    if default_language not in langs:
        raise ValidationError({"default_language": "The default language must be one of the survey's languages."})
    return [default_language, *[lang for lang in langs if lang != default_language]]


def _check_name(name: str, exclude_pk=None) -> None:
    clash = Survey.objects.filter(name__iexact=name)
    if exclude_pk:
        clash = clash.exclude(pk=exclude_pk)
    if clash.exists():
        raise ValidationError({"name": "A survey with this name already exists."})


def _strip(value):
    return value.strip() if isinstance(value, str) else value


def _audit_value(value):
    if hasattr(value, "uuid"):
        return str(value)
    if isinstance(value, list):
        return ", ".join(map(str, value))
    return None if value is None else str(value)


def _check_editable(version: SurveyVersion) -> None:
    if version.published_at is not None:
        raise PublishedVersionIsImmutable(f"{version} is published and cannot change; edit the survey's draft.")


# --- surveys -------------------------------------------------------------------------------------

@transaction.atomic
def survey_create(*, tenant: Tenant, acting_user, name: str, kind: str, languages, default_language: str,
                  touchpoint=None, stage=None, include_follow_up: bool = True, **settings) -> Survey:
    """Create a survey and its draft v1 from the kind's template, worded in each of its languages
    with the tenant's name filled in. `settings` are any of SETTINGS_FIELDS."""
    unknown = set(settings) - set(SETTINGS_FIELDS)
    if unknown:
        raise ValidationError({k: "This field cannot be set." for k in unknown})
    if kind not in SurveyKind.values:
        raise ValidationError({"kind": f"Choose a kind among {', '.join(SurveyKind.values)}."})
    langs = _languages(languages, default_language)
    survey = Survey(tenant=tenant, name=(name or "").strip(), kind=kind, languages=langs, default_language=default_language,
                    touchpoint=touchpoint, stage=stage, web_token=secrets.token_urlsafe(16), **settings)
    _check_name(survey.name)
    survey.full_clean()
    survey.save()
    content = kinds.template_version_content(kind, company=tenant.name, languages=langs, include_follow_up=include_follow_up)
    version = SurveyVersion(tenant=tenant, survey=survey, number=1, texts=content["texts"])
    version.full_clean()
    version.save()
    for order, q in enumerate(content["questions"], start=1):
        question = Question(tenant=tenant, version=version, order=order, key=q["key"], type=q["type"], text=q["text"],
                            options=q["options"], required=q["required"])
        question.full_clean()
        question.save()
    audit_event_record(tenant=tenant, acting_user=acting_user, action="survey.created", target=survey,
                       changes={"kind": [None, kind], "languages": [None, ", ".join(langs)]})
    return survey


@transaction.atomic
def survey_update(*, tenant: Tenant, acting_user, survey: Survey, **fields) -> Survey:
    """Change the survey's settings (only the keys given). A language added gets the standard
    wording in the draft where the kind's template has it; it is offered to respondents once a
    version with its texts is published."""
    unknown = set(fields) - set(UPDATE_FIELDS)
    if unknown:
        raise ValidationError({k: "This field cannot be changed." for k in unknown})
    survey = _lock(survey)
    before = {k: _audit_value(getattr(survey, k)) for k in fields}
    old_languages = list(survey.languages or [])
    for key, value in fields.items():
        setattr(survey, key, _strip(value))
    if "languages" in fields or "default_language" in fields:
        survey.languages = _languages(survey.languages, survey.default_language)
    if "name" in fields:
        _check_name(survey.name, exclude_pk=survey.pk)
    survey.full_clean()
    changes = audit_changes(before, {k: _audit_value(getattr(survey, k)) for k in fields})
    if changes:
        survey.save()
        audit_event_record(tenant=tenant, acting_user=acting_user, action="survey.updated", target=survey, changes=changes)
    added = [lang for lang in survey.languages if lang not in old_languages]
    if added:
        _fill_languages(tenant=tenant, acting_user=acting_user, survey=survey, languages=added)
    return survey


def _fill_languages(*, tenant, acting_user, survey: Survey, languages: list[str]) -> None:
    """Give the draft the standard wording for newly offered languages, where it has none yet."""
    draft = draft_get_or_create(tenant=tenant, acting_user=acting_user, survey=survey)
    template = kinds.template_version_content(survey.kind, company=tenant.name, languages=languages)
    texts = copy.deepcopy(draft.texts or {})
    for lang in languages:
        if not texts.get(lang):
            texts[lang] = template["texts"][lang]
    if texts != draft.texts:
        draft.texts = texts
        draft.save(update_fields=["texts", "updated_at"])
    for question in questions_of(draft):
        standard = kinds.standard_question(question.type, question.key, company=tenant.name, languages=languages)
        if standard is None:
            continue
        text, options = dict(question.text or {}), copy.deepcopy(question.options)
        for lang in languages:
            if not text.get(lang) and standard["text"].get(lang):
                text[lang] = standard["text"][lang]
            if isinstance(options, dict):
                for name, labels in standard["options"].items():
                    if lang in labels and not (options.get(name) or {}).get(lang):
                        options.setdefault(name, {})[lang] = labels[lang]
        if text != question.text or options != question.options:
            question.text, question.options = text, options
            question.save(update_fields=["text", "options"])


@transaction.atomic
def survey_delete(*, tenant: Tenant, acting_user, survey: Survey) -> None:
    """Delete a survey that never got a response, with its versions, invitations and kiosks."""
    survey = _lock(survey)
    if Response.objects.filter(survey=survey).exists():
        raise ValidationError("This survey has responses: close it instead (responses are never deleted with their survey).",
                              code="survey_has_responses")
    audit_event_record(tenant=tenant, acting_user=acting_user, action="survey.deleted", target=survey)
    # The survey points at its live version and invitations at theirs (both PROTECT): unhook first.
    Survey.objects.filter(pk=survey.pk).update(current_version=None)
    Invitation.objects.filter(survey=survey).delete()
    KioskDevice.objects.filter(survey=survey).delete()
    Survey.objects.filter(pk=survey.pk).delete()
    survey_deleted.send(sender=Survey, tenant=tenant, survey_id=survey.pk)  # metrics: its funnel rows go


def _set_status(*, tenant, acting_user, survey: Survey, allowed_from, to: str, action: str, error: str) -> Survey:
    survey = _lock(survey)
    if survey.status not in allowed_from:
        raise ValidationError({"status": error})
    if to == Survey.Status.LIVE and survey.current_version_id is None:
        raise ValidationError({"status": "Publish the survey first."})
    old = survey.status
    survey.status = to
    survey.save(update_fields=["status", "updated_at"])
    audit_event_record(tenant=tenant, acting_user=acting_user, action=action, target=survey, changes={"status": [old, to]})
    return survey


@transaction.atomic
def survey_pause(*, tenant: Tenant, acting_user, survey: Survey) -> Survey:
    """Stop a live survey for a while: no invitations go out and links do not accept answers."""
    return _set_status(tenant=tenant, acting_user=acting_user, survey=survey, allowed_from={Survey.Status.LIVE},
                       to=Survey.Status.PAUSED, action="survey.paused", error="Only a live survey can be paused.")


@transaction.atomic
def survey_resume(*, tenant: Tenant, acting_user, survey: Survey) -> Survey:
    """Make a paused (or closed) survey live again."""
    return _set_status(tenant=tenant, acting_user=acting_user, survey=survey,
                       allowed_from={Survey.Status.PAUSED, Survey.Status.CLOSED}, to=Survey.Status.LIVE,
                       action="survey.resumed", error="Only a paused or closed survey can be resumed.")


@transaction.atomic
def survey_close(*, tenant: Tenant, acting_user, survey: Survey) -> Survey:
    """Close a survey: it stops collecting answers (its responses stay)."""
    return _set_status(tenant=tenant, acting_user=acting_user, survey=survey,
                       allowed_from={Survey.Status.DRAFT, Survey.Status.LIVE, Survey.Status.PAUSED}, to=Survey.Status.CLOSED,
                       action="survey.closed", error="This survey is already closed.")


# --- versions ------------------------------------------------------------------------------------

@transaction.atomic
def draft_get_or_create(*, tenant: Tenant, acting_user, survey: Survey) -> SurveyVersion:
    """The survey's draft version; the first edit after a publish creates it by copying the live
    version's texts and questions (same keys, so metrics follow a question across versions)."""
    survey = _lock(survey)
    draft = draft_of(survey)
    if draft is not None:
        return draft
    source = survey.current_version or SurveyVersion.objects.filter(survey=survey).order_by("-number").first()
    number = (SurveyVersion.objects.filter(survey=survey).aggregate(n=Max("number"))["n"] or 0) + 1
    draft = SurveyVersion(tenant=tenant, survey=survey, number=number, texts=copy.deepcopy(source.texts) if source else {},
                          endings=copy.deepcopy(source.endings) if source else [])
    draft.full_clean()
    draft.save()
    for q in questions_of(source):
        Question(tenant=tenant, version=draft, order=q.order, key=q.key, type=q.type, text=copy.deepcopy(q.text),
                 options=copy.deepcopy(q.options), required=q.required, new_page=q.new_page, show_if=copy.deepcopy(q.show_if)).save()
    return draft


@transaction.atomic
def version_texts_update(*, tenant: Tenant, acting_user, survey: Survey, texts: dict) -> SurveyVersion:
    """Set the draft's title, intro and thanks per language: {lang: {"title": …, "intro": …, "thanks": …}}."""
    draft = draft_get_or_create(tenant=tenant, acting_user=acting_user, survey=survey)
    if not isinstance(texts, dict):
        raise ValidationError({"texts": "Give the texts per language."})
    merged = copy.deepcopy(draft.texts or {})
    for lang, parts in texts.items():
        if lang not in kinds.LANGUAGE_CODES:
            raise ValidationError({"texts": f"Unknown language “{lang}”."})
        if not isinstance(parts, dict) or set(parts) - set(TEXT_PARTS):
            raise ValidationError({"texts": f"Give {', '.join(TEXT_PARTS)} for each language."})
        merged.setdefault(lang, {})
        for part, value in parts.items():
            if not isinstance(value, str):
                raise ValidationError({"texts": f"{lang} {part}: give a text."})
            merged[lang][part] = value.strip()
    if merged != draft.texts:
        draft.texts = merged
        draft.full_clean()
        draft.save(update_fields=["texts", "updated_at"])
    return draft


@transaction.atomic
def version_endings_update(*, tenant: Tenant, acting_user, survey: Survey, endings) -> SurveyVersion:
    """Replace the draft's endings (apps/surveys/logic.py): [{"key", "when", "texts": {lang: {"title", "thanks"}}}].
    The shape is checked here; what their rules read is checked on publish."""
    draft = draft_get_or_create(tenant=tenant, acting_user=acting_user, survey=survey)
    try:
        cleaned = logic.endings_clean(endings, survey.languages or [survey.default_language])
    except logic.LogicError as exc:
        raise ValidationError({"endings": str(exc)}) from None
    if cleaned != draft.endings:
        draft.endings = cleaned
        draft.save(update_fields=["endings", "updated_at"])
    return draft


def _clean_show_if(raw) -> dict:
    try:
        return logic.condition_clean(raw)
    except logic.LogicError as exc:
        raise ValidationError({"show_if": str(exc)}) from None


def _rename_in_rules(version: SurveyVersion, old: str, new: str) -> None:
    """A question's key changed: the draft's rules that read it follow (its questions' and its endings')."""
    def renamed(condition):
        rules = (condition or {}).get("rules") or []
        if not any(rule.get("question") == old for rule in rules):
            return None
        return {**condition, "rules": [{**rule, "question": new} if rule.get("question") == old else rule for rule in rules]}

    for other in Question.objects.filter(version=version).exclude(show_if={}):
        changed = renamed(other.show_if)
        if changed is not None:
            other.show_if = changed
            other.save(update_fields=["show_if"])
    endings = [{**ending, "when": renamed(ending.get("when")) or ending.get("when", {})} for ending in version.endings or []]
    if endings != (version.endings or []):
        version.endings = endings
        version.save(update_fields=["endings", "updated_at"])


@transaction.atomic
def survey_publish(*, tenant: Tenant, acting_user, survey: Survey) -> SurveyVersion:
    """Publish the draft: it becomes immutable and the survey's current version; a never-published
    survey goes live (a paused or closed one keeps its status). Validates first and changes nothing
    when something is missing: errors per language ({lang: [message]}, "questions": [...])."""
    survey = _lock(survey)
    draft = draft_of(survey)
    if draft is None:
        raise ValidationError({"version": "There is no draft to publish: edit the survey first."})
    questions = questions_of(draft)
    problems = publish_problems(survey, draft, questions)
    if problems:
        errors = {}
        if problems.get(""):
            errors["questions"] = problems[""]
        for lang in survey.languages:
            if problems.get(lang):
                errors[lang] = publish_problem_messages(survey, {lang: problems[lang]})
        raise ValidationError(errors)
    previous = survey.current_version
    draft.published_at = timezone.now()
    draft.published_by = _membership(acting_user)
    draft.save(update_fields=["published_at", "published_by", "updated_at"])
    old_status = survey.status
    survey.current_version = draft
    if survey.status == Survey.Status.DRAFT:
        survey.status = Survey.Status.LIVE
    survey.save(update_fields=["current_version", "status", "updated_at"])
    changes = {"version": [previous.number if previous else None, draft.number]}
    if old_status != survey.status:
        changes["status"] = [old_status, survey.status]
    audit_event_record(tenant=tenant, acting_user=acting_user, action="survey.published", target=survey, changes=changes)
    return draft


# --- questions (of the draft) --------------------------------------------------------------------

def _clean_text(text, field: str = "text") -> dict:
    if not isinstance(text, dict):
        raise ValidationError({field: "Give the text per language, e.g. {\"en\": \"…\"}."})
    unknown = [k for k in text if k not in kinds.LANGUAGE_CODES]
    if unknown:
        raise ValidationError({field: f"Unknown language {', '.join(map(str, unknown))}."})
    if any(not isinstance(v, str) for v in text.values()):
        raise ValidationError({field: "Each language's text must be a string."})
    return {k: v.strip() for k, v in text.items() if v.strip()}


def _clean_options(qtype: str, options):
    """Check and normalise a question's options for its type (kinds.py describes the shapes)."""
    if qtype in kinds.CHOICE_TYPES:
        if options in (None, {}):
            return []
        if not isinstance(options, list):
            raise ValidationError({"options": "Give the choices as a list of {\"value\", \"label\": {lang: text}}."})
        seen, cleaned = set(), []
        for choice in options:
            if not isinstance(choice, dict):
                raise ValidationError({"options": "Each choice is {\"value\", \"label\": {lang: text}}."})
            label = _clean_text(choice.get("label") or {}, "options")
            value = str(choice.get("value") or "").strip() or slugify(next(iter(label.values()), ""))[:40]
            if not value or not KEY_RE.match(value):
                raise ValidationError({"options": f"Choice value “{value}”: use lowercase letters, digits, - or _."})
            if value in seen:
                raise ValidationError({"options": f"The choice value “{value}” appears twice."})
            seen.add(value)
            cleaned.append({"value": value, "label": label})
        return cleaned
    options = options or {}
    if not isinstance(options, dict):
        raise ValidationError({"options": "Give the options as an object."})
    cleaned = {}
    if qtype == QuestionType.RATING:
        try:
            low, high = int(options.get("min", 1)), int(options.get("max", 5))
        except (TypeError, ValueError):
            raise ValidationError({"options": "A rating's min and max are whole numbers."}) from None
        lo_bound, hi_bound = kinds.RATING_BOUNDS
        if not (lo_bound <= low < high <= hi_bound):
            raise ValidationError({"options": f"A rating goes from a min to a higher max, within {lo_bound}–{hi_bound}."})
        cleaned.update(min=low, max=high)
    if qtype in kinds.END_LABEL_TYPES:
        for name in ("min_label", "max_label"):
            if options.get(name):
                cleaned[name] = _clean_text(options[name], "options")
    if qtype == QuestionType.TEXT and options.get("multiline") is not None:
        cleaned["multiline"] = bool(options["multiline"])
    return cleaned


def _questions(version: SurveyVersion) -> list[Question]:
    return list(Question.objects.filter(version=version).order_by("order", "id"))


def _renumber(rows: list[Question]) -> None:
    for position, row in enumerate(rows, start=1):
        if row.order != position:
            row.order = position
            row.save(update_fields=["order"])


def _free_key(version: SurveyVersion, qtype: str) -> str:
    taken = set(Question.objects.filter(version=version).values_list("key", flat=True))
    base = {QuestionType.TEXT: "comment", QuestionType.SINGLE_CHOICE: "choice", QuestionType.MULTI_CHOICE: "choices"}.get(qtype, qtype)
    if base not in taken:
        return base
    n = 2
    while f"{base}-{n}" in taken:
        n += 1
    return f"{base}-{n}"


def _check_key(version: SurveyVersion, key: str, exclude_pk=None) -> None:
    if not KEY_RE.match(key):
        raise ValidationError({"key": "Use lowercase letters, digits, - or _ (at most 40), starting with a letter or digit."})
    clash = Question.objects.filter(version=version, key=key)
    if exclude_pk:
        clash = clash.exclude(pk=exclude_pk)
    if clash.exists():
        raise ValidationError({"key": f"Another question of this survey already has the key “{key}”."})


@transaction.atomic
def question_create(*, tenant: Tenant, acting_user, survey: Survey, type: str, text: dict, key: str = "", options=None,
                    required: bool = True, order: int | None = None, new_page: bool = False, show_if=None) -> Question:
    """Add a question to the survey's draft at `order` (1..n+1; default: last); `new_page`, `show_if`: its logic
    (apps/surveys/logic.py; the rule's shape is checked here, what it reads on publish)."""
    draft = draft_get_or_create(tenant=tenant, acting_user=acting_user, survey=survey)
    if type not in QuestionType.values:
        raise ValidationError({"type": f"Choose a type among {', '.join(QuestionType.values)}."})
    key = (key or "").strip() or _free_key(draft, type)
    _check_key(draft, key)
    rows = _questions(draft)
    if order is not None and not 1 <= order <= len(rows) + 1:
        raise ValidationError({"order": f"Choose a position from 1 to {len(rows) + 1}."})
    cleaned_options = _clean_options(type, kinds.standard_options(type, survey.languages) if options is None else options)
    question = Question(tenant=tenant, version=draft, order=len(rows) + 1, key=key, type=type, text=_clean_text(text),
                        options=cleaned_options, required=bool(required), new_page=bool(new_page), show_if=_clean_show_if(show_if))
    question.full_clean(validate_constraints=False)
    question.save()
    if order is not None:
        rows.insert(order - 1, question)
        _renumber(rows)
    return question


@transaction.atomic
def question_update(*, tenant: Tenant, acting_user, question: Question, **fields) -> Question:
    """Change a draft question (any of type, key, text, options, required, order, new_page, show_if). A question of a
    published version raises PublishedVersionIsImmutable: edit the draft's copy (`draft_question_for`). A new key is
    followed by the draft's rules that read the old one."""
    unknown = set(fields) - {"type", "key", "text", "options", "required", "order", "new_page", "show_if"}
    if unknown:
        raise ValidationError({k: "This field cannot be changed." for k in unknown})
    _lock(question.version.survey)
    question = Question.objects.select_related("version__survey").get(pk=question.pk)
    _check_editable(question.version)
    if "type" in fields:
        if fields["type"] not in QuestionType.values:
            raise ValidationError({"type": f"Choose a type among {', '.join(QuestionType.values)}."})
        if fields["type"] != question.type and "options" not in fields:
            fields["options"] = kinds.standard_options(fields["type"], question.version.survey.languages)
        question.type = fields["type"]
    if "key" in fields:
        key = (fields["key"] or "").strip()
        _check_key(question.version, key, exclude_pk=question.pk)
        if key != question.key:
            _rename_in_rules(question.version, question.key, key)
        question.key = key
    if "text" in fields:
        question.text = _clean_text(fields["text"])
    if "options" in fields or "type" in fields:
        question.options = _clean_options(question.type, fields.get("options", question.options))
    if "required" in fields:
        question.required = bool(fields["required"])
    if "new_page" in fields:
        question.new_page = bool(fields["new_page"])
    if "show_if" in fields:
        question.show_if = _clean_show_if(fields["show_if"])
    question.full_clean(validate_constraints=False)
    question.save()
    if fields.get("order") is not None:
        question_move(tenant=tenant, acting_user=acting_user, question=question, to_order=fields["order"])
        question.refresh_from_db()
    return question


@transaction.atomic
def question_move(*, tenant: Tenant, acting_user, question: Question, to_order: int) -> Question:
    """Move a draft question to position `to_order` (1..n); the others shift."""
    _check_editable(question.version)
    rows = _questions(question.version)
    if not 1 <= to_order <= len(rows):
        raise ValidationError({"order": f"Choose a position from 1 to {len(rows)}."})
    rest = [r for r in rows if r.pk != question.pk]
    rest.insert(to_order - 1, next(r for r in rows if r.pk == question.pk))
    _renumber(rest)
    question.order = to_order
    return question


@transaction.atomic
def question_delete(*, tenant: Tenant, acting_user, question: Question) -> None:
    """Delete a draft question; the later ones move up."""
    _lock(question.version.survey)
    _check_editable(question.version)
    version = question.version
    question.delete()
    _renumber(_questions(version))


@transaction.atomic
def draft_question_for(*, tenant: Tenant, acting_user, survey: Survey, question: Question) -> Question:
    """The draft's copy of `question` (the same key), creating the draft if need be: the pages let a
    lead edit a live survey's question in place, while its published version stays untouched."""
    if question.version.published_at is None:
        return question
    draft = draft_get_or_create(tenant=tenant, acting_user=acting_user, survey=survey)
    copy_ = Question.objects.filter(version=draft, key=question.key).first()
    if copy_ is None:
        raise ValidationError("This question is no longer in the draft.")
    return copy_
