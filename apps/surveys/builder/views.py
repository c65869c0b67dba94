"""Survey builder pages: the list and the versions (everyone), the editor and its actions (CX leads
and admins), the preview exactly as respondents see it.

Editing a live survey edits its draft: the editor shows the draft if there is one, else the live
version; the first change (texts, a question added, edited, moved or deleted) creates the draft by
copying the live version, so the live version and its responses never change. Reordering works
without JavaScript: "Move up" / "Move down" are plain POST forms, and after the redirect the same
button has focus again.
"""

import functools
import zoneinfo
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from apps.core.forms import add_service_errors
from apps.surveys import kinds, logic
from apps.surveys.builder import selectors, services
from apps.surveys.builder.forms import EndingForm, MoveForm, QuestionForm, SurveyCreateForm, SurveyFilter, SurveySettingsForm, TextsForm
from apps.surveys.i18n import ui_text, ui_texts
from apps.surveys.models import Question, QuestionType, Survey, SurveyVersion
from apps.surveys.respond.flow import step_post, step_start
from apps.tenancy.models import EVERYONE, LEADS
from apps.tenancy.permissions import tenant_role_required

FOCUS_KEY = "surveys_editor_focus"


def in_tenant_time_zone(view):
    """Dates on these pages are read and shown in the workspace's time zone."""
    @functools.wraps(view)
    def wrapped(request, *args, **kwargs):
        with timezone.override(zoneinfo.ZoneInfo(request.tenant.time_zone)):
            return view(request, *args, **kwargs)
    return wrapped


def _survey(uuid) -> Survey:
    return get_object_or_404(selectors.survey_detail(), uuid=uuid)


def _editable_question(survey_uuid, uuid) -> Question:
    """A question of the survey's draft or live version (an old version's question is a 404 here)."""
    question = get_object_or_404(Question.objects.select_related("version__survey"), uuid=uuid, version__survey__uuid=survey_uuid)
    version = question.version
    if version.published_at is not None and version.pk != version.survey.current_version_id:
        raise Http404
    return question


def _to_editor(request, survey, focus: str = "", anchor: str = ""):
    if focus:
        request.session[FOCUS_KEY] = focus
    response = redirect("surveys:edit", tenant_slug=request.tenant.slug, uuid=survey.uuid)
    if anchor:
        response["Location"] += f"#{anchor}"
    return response


def _service(request, form, call):
    """Run a service call; its ValidationError goes onto the form. Returns the result or None."""
    try:
        return call()
    except ValidationError as exc:
        add_service_errors(form, exc)
        return None


# --- list and create -----------------------------------------------------------------------------

@tenant_role_required(EVERYONE)
def survey_list_view(request, tenant_slug):
    filterset = SurveyFilter(request.GET or None, queryset=selectors.survey_list())
    valid = filterset.is_valid() if filterset.is_bound else True
    context = {"filter_form": filterset.form, "surveys": filterset.qs if valid else Survey.objects.none(),
               "filtered": filterset.is_bound}
    return render(request, "surveys/builder/list.html", context, status=200 if valid else 400)


@tenant_role_required(LEADS)
def survey_create_view(request, tenant_slug):
    initial = {"default_language": request.tenant.locale,
               "languages": list(dict.fromkeys([request.tenant.locale, "en" if request.tenant.locale != "en" else "fr"]))}
    form = SurveyCreateForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        survey = _service(request, form, lambda: services.survey_create(tenant=request.tenant, acting_user=request.user,
                                                                        **form.cleaned_data))
        if survey is not None:
            messages.success(request, f"Survey “{survey.name}” created from the {survey.get_kind_display()} template. "
                                      "Check its questions, then preview and publish it.")
            return _to_editor(request, survey)
    return render(request, "surveys/builder/create.html", {"form": form}, status=400 if form.errors else 200)


# --- the editor ----------------------------------------------------------------------------------

def _question_rows(questions, languages):
    """One row per question, with the flow: the page it starts, and its rule in words."""
    rows = []
    pages = logic.page_numbers(questions)
    by_key = {q.key: q for q in questions}
    for i, q in enumerate(questions):
        rows.append({"q": q, "dom_id": f"q-{q.uuid}", "is_first": i == 0, "is_last": i == len(questions) - 1,
                     "missing": [lang for lang in languages if not (q.text or {}).get(lang)],
                     "text": (q.text or {}).get(languages[0]) or next(iter((q.text or {}).values()), ""),
                     "page": pages[q.key], "page_start": i == 0 or q.new_page,
                     "rule": logic.condition_words(q.show_if, by_key, languages[0])})
    return rows


def _ending_rows(version, questions, languages):
    by_key = {q.key: q for q in questions}
    return [{"ending": ending, "rule": logic.condition_words(ending.get("when"), by_key, languages[0]),
             "thanks": ((ending.get("texts") or {}).get(languages[0]) or {}).get("thanks", "")}
            for ending in (version.endings if version is not None else []) or []]


def _resolve_focus(rows, focus: str) -> str:
    """The id to autofocus after a move: the button pressed, or, once the question reached the top
    or bottom (that button is disabled), the other one, or else the question itself."""
    if not focus:
        return ""
    base, _, button = focus.rpartition("-") if focus.endswith(("-up", "-down")) else (focus, "", "")
    row = next((r for r in rows if r["dom_id"] == base), None)
    if row is None:
        return ""
    if button == "up" and row["is_first"]:
        button = "" if row["is_last"] else "down"
    elif button == "down" and row["is_last"]:
        button = "" if row["is_first"] else "up"
    return f"{base}-{button}" if button else base


def _editor_context(request, survey, *, settings_form=None, texts_form=None, focus=""):
    draft = selectors.draft_of(survey)
    shown = draft or survey.current_version
    questions = selectors.questions_of(shown)
    languages = survey.languages or [survey.default_language]
    problems = selectors.publish_problems(survey, shown, questions) if draft is not None else {}
    rows = _question_rows(questions, languages)
    return {
        "endings": _ending_rows(shown, questions, languages),
        "page_count": max((row["page"] for row in rows), default=0),
        "survey": survey,
        "heading": f"Edit “{survey.name}”",
        "question_types": QuestionType.choices,
        "draft": draft,
        "shown": shown,
        "rows": rows,
        "focus": _resolve_focus(rows, focus),
        "languages": [(lang, kinds.LANGUAGE_NAMES[lang]) for lang in languages],
        "problems": selectors.publish_problem_messages(survey, problems),
        "has_responses": selectors.survey_has_responses(survey),
        "settings_form": settings_form or SurveySettingsForm(initial=SurveySettingsForm.initial_for(survey), auto_id="id_s_%s"),
        "texts_form": texts_form or TextsForm(initial=TextsForm.initial_for(shown.texts if shown else {}, languages),
                                              languages=languages, auto_id="id_t_%s"),
    }


@tenant_role_required(LEADS)
@in_tenant_time_zone
def survey_edit_view(request, tenant_slug, uuid):
    """GET: the editor. POST: the survey's settings."""
    survey = _survey(uuid)
    form = SurveySettingsForm(request.POST, auto_id="id_s_%s") if request.method == "POST" else None
    if form is not None and form.is_valid():
        saved = _service(request, form, lambda: services.survey_update(tenant=request.tenant, acting_user=request.user,
                                                                       survey=survey, **form.cleaned_data))
        if saved is not None:
            messages.success(request, "Settings saved.")
            return _to_editor(request, survey, anchor="settings-h")
        survey.refresh_from_db()
    focus = request.session.pop(FOCUS_KEY, "") if request.method == "GET" else ""
    context = _editor_context(request, survey, settings_form=form, focus=focus)
    return render(request, "surveys/builder/edit.html", context, status=400 if form is not None and form.errors else 200)


@require_POST
@tenant_role_required(LEADS)
@in_tenant_time_zone
def texts_update_view(request, tenant_slug, uuid):
    survey = _survey(uuid)
    languages = survey.languages or [survey.default_language]
    form = TextsForm(request.POST, languages=languages, auto_id="id_t_%s")
    if form.is_valid():
        saved = _service(request, form, lambda: services.version_texts_update(tenant=request.tenant, acting_user=request.user,
                                                                              survey=survey, texts=form.texts()))
        if saved is not None:
            messages.success(request, f"Texts saved in draft v{saved.number}.")
            return _to_editor(request, survey, anchor="texts-h")
    return render(request, "surveys/builder/edit.html", _editor_context(request, survey, texts_form=form), status=400)


@tenant_role_required(LEADS)
def question_create_view(request, tenant_slug, uuid):
    survey = _survey(uuid)
    languages = survey.languages or [survey.default_language]
    qtype = request.GET.get("type") if request.GET.get("type") in dict(QuestionForm.base_fields["type"].choices) else "single_choice"
    readable = selectors.questions_of(selectors.draft_of(survey) or survey.current_version)
    form = QuestionForm(request.POST or None, languages=languages, initial={"type": qtype, "required": True}, readable=readable)
    if request.method == "POST" and form.is_valid():
        question = _service(request, form, lambda: services.question_create(tenant=request.tenant, acting_user=request.user,
                                                                            survey=survey, **form.service_kwargs()))
        if question is not None:
            messages.success(request, f"Question “{question.key}” added to draft v{question.version.number}.")
            return _to_editor(request, survey, focus=f"q-{question.uuid}")
    context = {"survey": survey, "form": form, "question": None}
    return render(request, "surveys/builder/question.html", context, status=400 if form.errors else 200)


@tenant_role_required(LEADS)
def question_edit_view(request, tenant_slug, survey_uuid, uuid):
    question = _editable_question(survey_uuid, uuid)
    survey = question.version.survey
    languages = survey.languages or [survey.default_language]
    readable = [q for q in selectors.questions_of(question.version) if q.order < question.order]
    form = QuestionForm(request.POST or None, languages=languages, question=question, readable=readable,
                        initial=QuestionForm.initial_for(question, languages))
    if request.method == "POST" and form.is_valid():
        def save():
            target = services.draft_question_for(tenant=request.tenant, acting_user=request.user, survey=survey, question=question)
            form.question = target
            return services.question_update(tenant=request.tenant, acting_user=request.user, question=target, **form.service_kwargs())
        saved = _service(request, form, save)
        if saved is not None:
            messages.success(request, f"Question “{saved.key}” saved in draft v{saved.version.number}.")
            return _to_editor(request, survey, focus=f"q-{saved.uuid}")
    context = {"survey": survey, "form": form, "question": question}
    return render(request, "surveys/builder/question.html", context, status=400 if form.errors else 200)


@require_POST
@tenant_role_required(LEADS)
def question_delete_view(request, tenant_slug, survey_uuid, uuid):
    question = _editable_question(survey_uuid, uuid)
    survey = question.version.survey
    try:
        target = services.draft_question_for(tenant=request.tenant, acting_user=request.user, survey=survey, question=question)
        services.question_delete(tenant=request.tenant, acting_user=request.user, question=target)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"Question “{question.key}” deleted from the draft.")
    return _to_editor(request, survey, anchor="questions-h")


@require_POST
@tenant_role_required(LEADS)
def question_move_view(request, tenant_slug, survey_uuid, uuid):
    question = _editable_question(survey_uuid, uuid)
    survey = question.version.survey
    form = MoveForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Say which way to move the question: up or down.")
        return _to_editor(request, survey)
    direction = form.cleaned_data["direction"]
    target = services.draft_question_for(tenant=request.tenant, acting_user=request.user, survey=survey, question=question)
    count = Question.objects.filter(version=target.version).count()
    to_order = target.order - 1 if direction == "up" else target.order + 1
    if 1 <= to_order <= count:
        services.question_move(tenant=request.tenant, acting_user=request.user, question=target, to_order=to_order)
        messages.success(request, f"Moved question “{target.key}” to position {to_order} of {count}.")
    return _to_editor(request, survey, focus=f"q-{target.uuid}-{direction}")


# --- endings ------------------------------------------------------------------------------------

def _ending_form_page(request, survey, form, ending_key, status=200):
    context = {"survey": survey, "form": form, "ending_key": ending_key,
               "heading": f"Ending “{ending_key}”" if ending_key else "New ending"}
    return render(request, "surveys/builder/ending.html", context, status=status)


@tenant_role_required(LEADS)
def ending_edit_view(request, tenant_slug, uuid, key=""):
    """Add an ending (no key) or edit one; saving replaces the draft's endings (services.version_endings_update)."""
    survey = _survey(uuid)
    languages = survey.languages or [survey.default_language]
    version = selectors.draft_of(survey) or survey.current_version
    endings = list((version.endings if version is not None else []) or [])
    current = next((e for e in endings if e["key"] == key), None)
    if key and current is None:
        raise Http404
    readable = selectors.questions_of(version)
    initial = EndingForm.initial_for(current, languages) if current else {}
    form = EndingForm(request.POST or None, languages=languages, readable=readable, ending=current, initial=initial)
    if request.method == "POST" and form.is_valid():
        ending = form.ending()
        if ending["key"] != key and any(e["key"] == ending["key"] for e in endings):
            form.add_error("key", "Another ending already has this key.")
        else:
            updated = [ending if e["key"] == key else e for e in endings] if current else [*endings, ending]
            saved = _service(request, form, lambda: services.version_endings_update(
                tenant=request.tenant, acting_user=request.user, survey=survey, endings=updated))
            if saved is not None:
                messages.success(request, f"Ending “{ending['key']}” saved in draft v{saved.number}.")
                return _to_editor(request, survey, anchor="endings-h")
    return _ending_form_page(request, survey, form, key, status=400 if form.errors else 200)


@require_POST
@tenant_role_required(LEADS)
def ending_delete_view(request, tenant_slug, uuid, key):
    survey = _survey(uuid)
    version = selectors.draft_of(survey) or survey.current_version
    endings = list((version.endings if version is not None else []) or [])
    if not any(e["key"] == key for e in endings):
        raise Http404
    saved = services.version_endings_update(tenant=request.tenant, acting_user=request.user, survey=survey,
                                            endings=[e for e in endings if e["key"] != key])
    messages.success(request, f"Ending “{key}” deleted from draft v{saved.number}.")
    return _to_editor(request, survey, anchor="endings-h")


# --- preview, publish, status --------------------------------------------------------------------

def _preview_version(survey: Survey, number: str):
    versions = list(SurveyVersion.objects.filter(survey=survey).order_by("-number"))
    if number:
        version = next((v for v in versions if str(v.number) == number), None)
    else:
        version = next((v for v in versions if v.published_at is None), None) or survey.current_version
    if version is None:
        raise Http404
    return version, versions


@csrf_exempt  # a preview's submit stores nothing: it only shows the respondent's validation
@tenant_role_required(EVERYONE)
def preview_view(request, tenant_slug, uuid):
    """The respondent page exactly as respondents get it (RESPONDENT's templates and form), for a
    version (?version=N; default: the draft, else the live one) in a language (?lang=; default:
    the survey's), under a bar to switch them and to send a test e-mail. Submitting validates like
    the real page and records nothing."""
    survey = _survey(uuid)
    version, versions = _preview_version(survey, request.GET.get("version", ""))
    languages = selectors.version_languages(survey, version)
    lang = request.GET.get("lang") if request.GET.get("lang") in languages else (
        survey.default_language if survey.default_language in languages else languages[0])
    questions = selectors.questions_of(version)
    step = step_post(request.POST, questions, language=lang) if request.method == "POST" else step_start(questions, language=lang)
    form = step.form
    notice = ""
    texts = (version.texts or {}).get(lang) or {}
    if step.finished:
        ending = logic.ending_for(version.endings, step.answers)
        notice = "Preview: these answers are valid. Nothing was recorded. " + (
            f"They end on “{ending['key']}”: {((ending.get('texts') or {}).get(lang) or {}).get('thanks', '')}" if ending
            else f"They end on the survey's thank-you message: {texts.get('thanks', '')}")
        step = step_start(questions, language=lang)
    query = {"version": version.number}
    context = {
        "survey": survey, "version": version, "versions": versions, "preview": True,
        "lang": lang, "org": request.tenant.name, "t": ui_texts(lang), "embed": False,
        "texts": {key: texts.get(key, "") for key in ("title", "intro", "thanks")},
        "step": step, "form": step.form, "items": step.form.items(), "summary": step.form.error_summary() if step.form.is_bound else [],
        "progress": ui_text(lang, "page_of", page=step.page, count=step.page_count) if step.page_count > 1 else "",
        "action": f"{request.path}?{urlencode({'lang': lang, **query})}", "stamp": "", "honeypot": False, "notice": notice,
        "languages": [{"code": code, "name": kinds.LANGUAGE_NAMES.get(code, code), "current": code == lang,
                       "url": f"{request.path}?{urlencode({'lang': code, **query})}"} for code in languages],
    }
    return render(request, "surveys/builder/preview.html", context, status=400 if form.is_bound and form.errors else 200)


@tenant_role_required(LEADS)
def publish_view(request, tenant_slug, uuid):
    """GET: what publishing would change compared with the live version, and what is missing.
    POST: publish."""
    survey = _survey(uuid)
    errors = []
    if request.method == "POST":
        try:
            version = services.survey_publish(tenant=request.tenant, acting_user=request.user, survey=survey)
        except ValidationError as exc:
            errors = exc.messages
            survey = _survey(uuid)
        else:
            messages.success(request, f"Version {version.number} is published: respondents now answer it.")
            return _to_editor(request, survey)
    draft = selectors.draft_of(survey)
    context = {"survey": survey, "heading": f"Publish “{survey.name}”", "draft": draft, "errors": errors, "changes": [], "problems": []}
    if draft is not None:
        questions = selectors.questions_of(draft)
        context["changes"] = selectors.version_changes(survey.current_version, draft, new_questions=questions)
        if not errors:
            context["problems"] = selectors.publish_problem_messages(survey, selectors.publish_problems(survey, draft, questions))
    return render(request, "surveys/builder/publish.html", context, status=400 if errors else 200)


def _status_view(service, done: str):
    @require_POST
    @tenant_role_required(LEADS)
    def view(request, tenant_slug, uuid):
        survey = _survey(uuid)
        try:
            service(tenant=request.tenant, acting_user=request.user, survey=survey)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, done.format(name=survey.name))
        return _to_editor(request, survey)
    return view


survey_pause_view = _status_view(services.survey_pause, "“{name}” is paused: no invitations go out and links do not take answers.")
survey_resume_view = _status_view(services.survey_resume, "“{name}” is live again.")
survey_close_view = _status_view(services.survey_close, "“{name}” is closed.")


@require_POST
@tenant_role_required(LEADS)
def survey_delete_view(request, tenant_slug, uuid):
    survey = _survey(uuid)
    try:
        services.survey_delete(tenant=request.tenant, acting_user=request.user, survey=survey)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return _to_editor(request, survey)
    messages.success(request, f"Survey “{survey.name}” deleted.")
    return redirect("surveys:list", tenant_slug=tenant_slug)


# --- versions ------------------------------------------------------------------------------------

@tenant_role_required(EVERYONE)
def versions_view(request, tenant_slug, uuid):
    survey = _survey(uuid)
    return render(request, "surveys/builder/versions.html", {"survey": survey, "heading": f"Versions of “{survey.name}”",
                                                            "versions": selectors.version_list(survey)})


@tenant_role_required(EVERYONE)
def version_detail_view(request, tenant_slug, survey_uuid, uuid):
    version = get_object_or_404(selectors.version_with_questions(), uuid=uuid, survey__uuid=survey_uuid)
    survey = version.survey
    languages = [lang for lang in (survey.languages or []) if lang in (version.texts or {})] or list(version.texts or {})
    questions = list(version.questions.all())
    rows = [{"q": q, "texts": [(lang, (q.text or {}).get(lang, "")) for lang in languages],
             "choices": [(v, [(lang, kinds.choice_list(q, lang)[i][1]) for lang in languages]) for i, (v, _) in
                         enumerate(kinds.choice_list(q, languages[0] if languages else "en"))],
             "points": kinds.point_labels(q, languages[0]) if languages else {}} for q in questions]
    context = {"survey": survey, "heading": f"“{survey.name}”, version {version.number}", "version": version, "rows": rows,
               "languages": [(lang, kinds.LANGUAGE_NAMES.get(lang, lang)) for lang in languages],
               "texts": [(lang, (version.texts or {}).get(lang, {})) for lang in languages]}
    return render(request, "surveys/builder/version.html", context)
