"""Respondent pages (issue 5 items 11–13; DESIGN.md flow 2): global routes, no login, no cookies.

- `/s/<token>/`: an invitation's link. The token's SHA-256 finds the invitation and its tenant
  (`*_including_cross_tenant`); everything after runs in `tenant_context(invitation.tenant)`. GET
  and HEAD never consume the token nor record anything (mail scanners open links): they only mark it
  opened, once. A score clicked in the e-mail (`?score=N`) is shown selected and *posted by the page
  itself* (`record_score`, static/js/respond.js; without JavaScript, one button): recorded at once as a
  response holding that score (`score_only`), which the respondent may change or complete with the
  form until the link expires (services.response_submit). A submitted form is stored once (the
  invitation row is locked and the database allows one response per invitation); every later submit
  shows "already recorded". Rate-limited per IP (views and submits together, counted before the token
  is looked up).
- `/w/<web_token>/`: the public web link (anonymous), `?embed=1` for a minimal page that other sites
  may frame. Rate-limited per IP; a honeypot field and a too-fast submit flag the response as a
  bot's (stored apart, never counted); a signed stamp's submission key makes a double submit land once.
- `/k/<key>/`: a kiosk device's page, three large smileys; rate-limited per device.

Unknown or tampered links answer one generic 404 page, expired or closed ones the same page with
410, and nothing is stored. Forms are CSRF-exempt on purpose: there is no session or login to
protect (the pages set no cookie, and the embedded form must work inside another site's frame);
the link's token, the kiosk key and the signed stamp are the capabilities. Responses carry
`Referrer-Policy: no-referrer` and `Cache-Control: no-store`, and the token is kept out of the logs
(the request logger's path is redacted below; Django's 4xx warnings are not written for them).
"""

from __future__ import annotations

import re
import time
from urllib.parse import urlencode

from django.conf import settings
from django.core.exceptions import ValidationError
from django.dispatch import receiver
from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from apps.core import ratelimit
from apps.core.ratelimit import client_ip
from apps.surveys.attributes import pipe, pipe_values
from apps.surveys.i18n import LANGUAGE_NAMES, localized, negotiate_language, survey_languages, ui_text, ui_texts
from apps.surveys.kiosks.services import kiosk_seen
from apps.surveys.logic import ending_for
from apps.surveys.models import KioskDevice, QuestionType, Response, Survey
from apps.surveys.respond.flow import Step, step_again, step_post, step_start
from apps.surveys.respond.forms import ResponseForm, field_name, preselect_from_query, stamp_make, stamp_read
from apps.surveys.respond.selectors import (
    LinkState,
    invitation_for_respondent,
    invitation_get_by_token_including_cross_tenant,
    invitation_state,
    invitation_version,
    kiosk_get_by_key_including_cross_tenant,
    response_answers,
    score_only_response,
    survey_get_by_web_token_including_cross_tenant,
    survey_is_open_now,
    version_questions,
)
from apps.surveys.respond.services import invitation_mark_opened, response_submit
from apps.tenancy.context import tenant_context

try:
    from csp.decorators import csp_replace
except ImportError:  # pragma: no cover - django-csp is a dependency
    csp_replace = None

# Anonymous submits faster than this after the form was rendered are a bot's.
MIN_FILL_SECONDS = 2.0
RATE_WINDOW_SECONDS = 60
PUBLIC_PATH_RE = re.compile(r"(^|\s)/(s|w|k)/[^/?#\s]+")


# --- logging: the token never reaches a log line -------------------------------------------------

def redact_public_path(path: str) -> str:
    """"GET /s/<token>/?lang=fr" → "GET /s/<redacted>/?lang=fr" (also for /w/ and /k/)."""
    return PUBLIC_PATH_RE.sub(lambda m: f"{m.group(1)}/{m.group(2)}/<redacted>", path)


try:
    from django_structlog import signals as structlog_signals

    @receiver(structlog_signals.bind_extra_request_metadata)
    @receiver(structlog_signals.bind_extra_request_finished_metadata)
    def _redact_respondent_tokens(sender, request, logger, log_kwargs, **kwargs):
        if isinstance(log_kwargs.get("request"), str):
            log_kwargs["request"] = redact_public_path(log_kwargs["request"])
except ImportError:  # pragma: no cover
    pass


# --- response helpers ----------------------------------------------------------------------------

def _embeddable(response):
    return response


if csp_replace is not None:
    _embeddable = xframe_options_exempt(csp_replace({"frame-ancestors": ["*"]})(_embeddable))
else:  # pragma: no cover
    _embeddable = xframe_options_exempt(_embeddable)


def _finish(response, *, embed: bool = False):
    """Headers of every respondent page; embed mode alone may be framed by other sites."""
    response["Referrer-Policy"] = "no-referrer"
    response["Cache-Control"] = "no-store"
    response["X-Robots-Tag"] = "noindex, nofollow"
    if response.status_code >= 400:
        # Django would log "Not Found: /s/<token>/": the path holds a secret, and a wrong link is
        # not a server problem. (Counted by the request log, whose path is redacted above.)
        response._has_been_logged = True
    return _embeddable(response) if embed else response


def _languages(request, langs: list[str], current: str, extra: dict | None = None) -> list[dict]:
    rows = []
    for code in langs:
        query = {"lang": code, **(extra or {})}
        rows.append({"code": code, "name": LANGUAGE_NAMES.get(code, code), "current": code == current,
                     "url": f"{request.path}?{urlencode(query)}"})
    return rows


def _version_languages(survey: Survey, version) -> list[str]:
    try:
        from apps.surveys.builder.selectors import version_languages
    except ImportError:  # pragma: no cover
        return survey_languages(survey)
    return version_languages(survey, version)


def _texts(survey: Survey, version, lang: str, answers: dict | None = None, piping: dict | None = None) -> dict:
    """Title, intro and thanks in `lang`, their {{tokens}} piped (apps/surveys/attributes.py); with the submitted
    `answers`, the ending of their branch (logic.ending_for) replaces the title and thanks it has."""
    texts = version.texts or {}
    chosen = texts.get(lang) or texts.get(survey.default_language) or next(iter(texts.values()), {}) or {}
    result = {key: localized(chosen.get(key, ""), lang) for key in ("title", "intro", "thanks")}
    ending = ending_for(version.endings, answers) if answers is not None else None
    if ending is not None:
        own = ending.get("texts") or {}
        parts = own.get(lang) or own.get(survey.default_language) or next(iter(own.values()), {}) or {}
        result |= {key: parts[key] for key in ("title", "thanks") if parts.get(key)}
    return {key: pipe(value, piping) for key, value in result.items()}


def _page(request, template: str, context: dict, *, status: int = 200, embed: bool = False):
    lang = context["lang"]
    base = {"t": ui_texts(lang), "embed": embed, "languages": [], "org": ""}
    return _finish(render(request, template, {**base, **context}, status=status), embed=embed)


def _unavailable(request, *, survey: Survey | None = None, status: int, embed: bool = False, org: str = ""):
    """The one generic page for unknown, tampered, expired and closed links."""
    lang = negotiate_language(survey, request)
    return _page(request, "respond/unavailable.html", {"lang": lang, "org": org}, status=status, embed=embed)


def _rate_limited(request, *, lang: str, embed: bool = False, org: str = ""):
    response = _page(request, "respond/rate_limited.html", {"lang": lang, "org": org}, status=429, embed=embed)
    response["Retry-After"] = str(ratelimit.retry_after(RATE_WINDOW_SECONDS))
    return response


def over_rate_limit(scope: str, ident: str, limit: int) -> bool:
    """Count one request for (scope, ident) in the current minute (apps/core/ratelimit.py); True past `limit`."""
    return ratelimit.hit(f"respond:{scope}", ident, limit=limit, window=RATE_WINDOW_SECONDS)


def reset_rate_limit(scope: str, ident: str) -> None:
    ratelimit.reset(f"respond:{scope}", ident, window=RATE_WINDOW_SECONDS)


def _step_context(step: Step, lang: str) -> dict:
    """What a page of the flow draws: its questions, the other pages' answers (hidden), Back/Next or Submit."""
    form = step.form
    return {"step": step, "form": form, "items": form.items(), "summary": form.error_summary() if form.is_bound else [],
            "progress": ui_text(lang, "page_of", page=step.page, count=step.page_count) if step.page_count > 1 else ""}


def _form_context(request, *, survey: Survey, version, lang: str, step: Step, action: str, embed: bool = False,
                  stamp: str = "", honeypot: bool = False, notice: str = "", extra_query: dict | None = None,
                  piping: dict | None = None) -> dict:
    langs = _version_languages(survey, version)
    return {
        "lang": lang, "org": survey.tenant.name, "texts": _texts(survey, version, lang, piping=piping), **_step_context(step, lang),
        "action": action, "stamp": stamp, "honeypot": honeypot, "notice": notice,
        "languages": _languages(request, langs, lang, extra_query) if len(langs) > 1 else [],
    }


def _done(request, *, survey: Survey, version, lang: str, created: bool, embed: bool = False, answers: dict | None = None,
          piping: dict | None = None):
    texts = (_texts(survey, version, lang, answers if created else None, piping=piping) if version is not None
             else {"title": "", "thanks": ""})
    context = {"lang": lang, "org": survey.tenant.name, "created": created, "texts": texts}
    return _page(request, "respond/done.html", context, embed=embed)


def _add_submit_errors(form: ResponseForm, exc: ValidationError, lang: str) -> None:
    """The service's errors (keyed by question key) on the form, in the respondent's language (an error on another
    page's question, which only a tampered form can carry, is the form's). `form`: the last page's, bound."""
    if not hasattr(exc, "error_dict"):
        form.add_error(None, ui_text(lang, "form_stale"))
        return
    for key, errors in exc.error_dict.items():
        name = f"q_{key}"
        for error in errors:
            message = ui_text(lang, "required") if error.code == "required" else ui_text(lang, "invalid_choice")
            form.add_error(name if name in form.fields else None, message)


# --- /s/<token>/ -------------------------------------------------------------------------------

def invitation_requests_per_minute() -> int:
    """Views and submits of invitation links per IP and minute. Generous: a client's staff may share
    one address, and mail scanners open links too; enough to make guessing tokens pointless."""
    return int(getattr(settings, "SURVEY_INVITATION_REQUESTS_PER_MINUTE", 60))


@csrf_exempt
@require_http_methods(["GET", "HEAD", "POST"])
def invitation_respond_view(request, token):
    # Before the token is looked up: guessing links costs the same as answering them.
    if over_rate_limit("invitation", client_ip(request), invitation_requests_per_minute()):
        return _rate_limited(request, lang=negotiate_language(None, request))
    found = invitation_get_by_token_including_cross_tenant(token)
    if found is None:
        return _unavailable(request, status=404)
    with tenant_context(found.tenant):
        invitation = invitation_for_respondent(found.pk)
        survey = invitation.survey
        state = invitation_state(invitation, timezone.now())
        version = invitation_version(invitation)
        lang = negotiate_language(survey, request, available=_version_languages(survey, version) if version else None)
        piping = pipe_values(tenant=invitation.tenant, contact=invitation.contact, client=invitation.client,
                             touchpoint=invitation.interaction.touchpoint if invitation.interaction_id else survey.touchpoint)
        if state == LinkState.USED:
            return _done(request, survey=survey, version=version, lang=lang, created=False, piping=piping)
        if state != LinkState.OPEN:
            return _unavailable(request, survey=survey, status=410, org=survey.tenant.name)

        questions = version_questions(version)
        notice, record_score, status = "", None, 200
        if request.method == "POST" and "record_score" in request.POST:
            # The score clicked in the e-mail, posted by the landing page itself (or its button without JavaScript).
            clicked = preselect_from_query(questions, request.POST.get("record_score"))
            if not clicked:
                notice, status, preselect = ui_text(lang, "score_click_invalid"), 400, {}
            else:
                response_submit(tenant=invitation.tenant, version=version, answers=clicked, channel=Response.Channel.EMAIL,
                                language=lang, invitation=invitation, score_only=True)
                if request.headers.get("X-Requested-With") == "fetch":
                    return _finish(HttpResponse(status=204))
                preselect = clicked
                notice = ui_text(lang, "score_recorded", score=next(iter(clicked.values())))
            step = step_start(questions, language=lang, preselect=preselect, piping=piping)
        elif request.method == "POST":
            step = step_post(request.POST, questions, language=lang, piping=piping)
            if step.finished:
                try:
                    _, created = response_submit(tenant=invitation.tenant, version=version, answers=step.answers,
                                                 channel=Response.Channel.EMAIL, language=lang, invitation=invitation)
                except ValidationError as exc:
                    _add_submit_errors(step.form, exc, lang)
                else:
                    return _done(request, survey=survey, version=version, lang=lang, created=created, answers=step.answers,
                                 piping=piping)
            if step.form.is_bound:
                status = 400
        else:
            # A GET never records anything (link scanners open links): a score from the e-mail is shown selected and
            # posted by the page itself (respond.js), or by its one button without JavaScript.
            invitation_mark_opened(invitation=invitation)
            preselect = preselect_from_query(questions, request.GET.get("score"))
            recorded = score_only_response(invitation)
            if preselect:
                record_score = next(iter(preselect.values()))
                notice = ui_text(lang, "score_click_pending", score=record_score)
            elif recorded is not None:
                preselect = response_answers(recorded)
                notice = ui_text(lang, "score_recorded", score=next(iter(preselect.values()), ""))
            step = step_start(questions, language=lang, preselect=preselect, piping=piping)
        extra = {"score": request.GET["score"]} if request.GET.get("score", "").isdigit() else None
        context = _form_context(request, survey=survey, version=version, lang=lang, step=step, action=request.path,
                                notice=notice, extra_query=extra, piping=piping)
        if record_score is not None:
            context |= {"record_score": record_score, "record_done": ui_text(lang, "score_recorded", score=record_score)}
        return _page(request, "respond/form.html", context, status=status)


# --- /w/<web_token>/ ---------------------------------------------------------------------------

def web_submits_per_minute() -> int:
    return int(getattr(settings, "SURVEY_WEB_SUBMITS_PER_MINUTE", 20))


@csrf_exempt
@require_http_methods(["GET", "HEAD", "POST"])
def web_respond_view(request, web_token):
    embed = request.GET.get("embed") == "1" or request.POST.get("embed") == "1"
    found = survey_get_by_web_token_including_cross_tenant(web_token)
    if found is None:
        return _unavailable(request, status=404, embed=embed)
    with tenant_context(found.tenant):
        survey = Survey.objects.select_related("current_version", "tenant", "touchpoint").get(pk=found.pk)
        version = survey.current_version
        if version is None or not version.is_published or not survey_is_open_now(survey, timezone.now()):
            return _unavailable(request, survey=survey, status=410, embed=embed, org=survey.tenant.name)
        lang = negotiate_language(survey, request, available=_version_languages(survey, version))
        questions = version_questions(version)
        action = request.path + ("?embed=1" if embed else "")
        extra = {"embed": "1"} if embed else None
        piping = pipe_values(tenant=survey.tenant, touchpoint=survey.touchpoint)
        anonymous = {"anonymous": True, "honeypot": True, "piping": piping}
        if request.method == "POST":
            if over_rate_limit("web", client_ip(request), web_submits_per_minute()):
                return _rate_limited(request, lang=lang, embed=embed, org=survey.tenant.name)
            stamp = stamp_read(request.POST.get("stamp", ""))
            if stamp is None:
                step = step_again(request.POST, questions, language=lang, **anonymous)
                step.form.add_error(None, ui_text(lang, "form_stale"))
            else:
                step = step_post(request.POST, questions, language=lang, **anonymous)
            if stamp is not None and step.finished:
                bot_reason = ""
                if step.form.honeypot_filled:
                    bot_reason = "honeypot"
                elif time.time() - stamp["t"] < MIN_FILL_SECONDS:
                    bot_reason = "submitted too fast"
                channel = Response.Channel.EMBED if embed else Response.Channel.WEB
                try:
                    _, created = response_submit(tenant=survey.tenant, version=version, answers=step.answers, channel=channel,
                                                 language=lang, submission_key=stamp["k"], is_bot=bool(bot_reason),
                                                 bot_reason=bot_reason)
                except ValidationError as exc:
                    _add_submit_errors(step.form, exc, lang)
                else:
                    return _done(request, survey=survey, version=version, lang=lang, created=created, embed=embed,
                                 answers=step.answers, piping=piping)
            # Keep the stamp of this rendering (its key makes a retry land once); a broken one is replaced.
            new_stamp = request.POST.get("stamp") if stamp is not None else stamp_make()
            context = _form_context(request, survey=survey, version=version, lang=lang, step=step, action=action, embed=embed,
                                    stamp=new_stamp, honeypot=True, extra_query=extra, piping=piping)
            return _page(request, "respond/form.html", context, status=400 if step.form.is_bound else 200, embed=embed)
        step = step_start(questions, language=lang, **anonymous)
        context = _form_context(request, survey=survey, version=version, lang=lang, step=step, action=action, embed=embed,
                                stamp=stamp_make(), honeypot=True, extra_query=extra, piping=piping)
        return _page(request, "respond/form.html", context, embed=embed)


# --- /k/<key>/ ---------------------------------------------------------------------------------

def kiosk_submits_per_minute() -> int:
    return int(getattr(settings, "SURVEY_KIOSK_SUBMITS_PER_MINUTE", 30))


KIOSK_RESET_SECONDS = 5


@csrf_exempt
@require_http_methods(["GET", "HEAD", "POST"])
def kiosk_respond_view(request, key):
    found = kiosk_get_by_key_including_cross_tenant(key)
    if found is None:
        return _unavailable(request, status=404)
    with tenant_context(found.tenant):
        device = KioskDevice.objects.select_related("survey__current_version", "survey__tenant", "survey__touchpoint", "touchpoint",
                                                    "tenant").get(pk=found.pk)
        survey = device.survey
        version = survey.current_version
        if version is None or not version.is_published or not survey_is_open_now(survey, timezone.now()):
            return _unavailable(request, survey=survey, status=410, org=survey.tenant.name)
        kiosk_seen(kiosk=device)
        lang = negotiate_language(survey, request, available=_version_languages(survey, version))
        questions = version_questions(version)
        langs = _version_languages(survey, version)
        piping = pipe_values(tenant=device.tenant, touchpoint=device.touchpoint or survey.touchpoint)
        base = {"lang": lang, "org": survey.tenant.name, "texts": _texts(survey, version, lang, piping=piping),
                "languages": _languages(request, langs, lang) if len(langs) > 1 else [],
                "home_url": f"{request.path}?{urlencode({'lang': lang})}", "reset_seconds": KIOSK_RESET_SECONDS}
        if request.method == "POST":
            if over_rate_limit("kiosk", str(device.pk), kiosk_submits_per_minute()):
                return _rate_limited(request, lang=lang, org=survey.tenant.name)
            stamp = stamp_read(request.POST.get("stamp", ""))
            if stamp is None:
                step = step_again(request.POST, questions, language=lang, anonymous=True, piping=piping)
                step.form.add_error(None, ui_text(lang, "form_stale"))
            else:
                step = step_post(request.POST, questions, language=lang, anonymous=True, piping=piping)
            if stamp is not None and step.finished:
                try:
                    response_submit(tenant=device.tenant, version=version, answers=step.answers, channel=Response.Channel.KIOSK,
                                    language=lang, kiosk=device, submission_key=stamp["k"])
                except ValidationError as exc:
                    _add_submit_errors(step.form, exc, lang)
                else:
                    return _page(request, "respond/kiosk_thanks.html",
                                 base | {"texts": _texts(survey, version, lang, step.answers, piping=piping)})
            status = 400 if step.form.is_bound else 200
            stamp_value = request.POST.get("stamp") if stamp is not None else stamp_make()
        else:
            step = step_start(questions, language=lang, anonymous=True, piping=piping)
            status, stamp_value = 200, stamp_make()
        page_questions = step.form.questions
        one_tap = len(page_questions) == 1 and page_questions[0].type == QuestionType.SMILEY
        context = {**base, **_step_context(step, lang), "stamp": stamp_value, "one_tap": one_tap, "action": request.path,
                   "one_tap_name": field_name(page_questions[0]) if one_tap else ""}
        return _page(request, "respond/kiosk.html", context, status=status)
