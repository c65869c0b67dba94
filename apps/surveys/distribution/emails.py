"""Survey e-mails (invitation, reminder, test) in the invitation's language, text and HTML.

The survey's own title and intro come from its version's `texts`; the e-mail's own words (greeting,
buttons, the opt-out line) are below in every language the product speaks (settings.LANGUAGES); the
scale ends and the opt-out page share the respondent pages' strings (apps/surveys/i18n.py `ui_text`).
Links carry `TOKEN_PLACEHOLDER`, replaced by the token at SMTP time.
For NPS and CSAT surveys the first question is embedded as a row of score links, each opening the
survey with that score selected (`?score=N`); the page records it at once by posting it itself (never on the GET,
which link scanners make too) — apps/surveys/respond/views.py.
"""

from __future__ import annotations

import dataclasses
import html as html_lib
import re

import nh3
from django.template.loader import render_to_string
from django.utils import formats, translation
from django.utils.html import escape
from django.utils.safestring import mark_safe

from apps.core.text import render_text
from apps.messaging.models import OutboundEmail
from apps.messaging.services import sender_name
from apps.surveys.attributes import pipe, pipe_values
from apps.surveys.i18n import ui_text
from apps.surveys.models import Invitation, QuestionType, Survey, SurveyVersion
from apps.tenancy.models import Tenant

TEXT = {
    "en": {
        "hello": "Hello {name},", "hello_anonymous": "Hello,",
        "intro": "{sender} would value your feedback. It takes about a minute.",
        "reminder": "A short reminder: {sender} would still value your answer. Your link is below.",
        "reminder_subject": "Reminder: {title}",
        "click_score": "Click your answer to start:", "start": "Start the survey",
        "copy_link": "If the buttons do not work, copy this link into your browser:",
        "valid_until": "This link is personal and works until {date}.",
        "optout": "Do not want survey e-mails from {sender}? Unsubscribe:",
        "test_banner": "TEST E-MAIL — its links open the preview; no answer is recorded.",
    },
    "fr": {
        "hello": "Bonjour {name},", "hello_anonymous": "Bonjour,",
        "intro": "{sender} aimerait connaître votre avis. Cela prend environ une minute.",
        "reminder": "Un petit rappel : {sender} aimerait toujours connaître votre avis. Votre lien se trouve ci-dessous.",
        "reminder_subject": "Rappel : {title}",
        "click_score": "Cliquez sur votre réponse pour commencer :", "start": "Répondre à l’enquête",
        "copy_link": "Si les boutons ne fonctionnent pas, copiez ce lien dans votre navigateur :",
        "valid_until": "Ce lien est personnel et reste valable jusqu’au {date}.",
        "optout": "Vous ne souhaitez plus recevoir d’enquêtes de {sender} ? Se désinscrire :",
        "test_banner": "E-MAIL DE TEST — ses liens ouvrent l’aperçu ; aucune réponse n’est enregistrée.",
    },
    "de": {
        "hello": "Hallo {name},", "hello_anonymous": "Hallo,",
        "intro": "{sender} freut sich über Ihr Feedback. Es dauert etwa eine Minute.",
        "reminder": "Eine kurze Erinnerung: {sender} freut sich weiterhin über Ihre Antwort. Ihr Link steht unten.",
        "reminder_subject": "Erinnerung: {title}",
        "click_score": "Klicken Sie auf Ihre Antwort, um zu beginnen:", "start": "Zur Umfrage",
        "copy_link": "Wenn die Schaltflächen nicht funktionieren, kopieren Sie diesen Link in Ihren Browser:",
        "valid_until": "Dieser Link ist persönlich und gilt bis {date}.",
        "optout": "Sie möchten keine Umfragen mehr von {sender} erhalten? Abmelden:",
        "test_banner": "TEST-E-MAIL — die Links öffnen die Vorschau; es wird keine Antwort gespeichert.",
    },
    "nl": {
        "hello": "Hallo {name},", "hello_anonymous": "Hallo,",
        "intro": "{sender} hoort graag uw mening. Het duurt ongeveer een minuut.",
        "reminder": "Een korte herinnering: {sender} hoort nog steeds graag uw antwoord. Uw link staat hieronder.",
        "reminder_subject": "Herinnering: {title}",
        "click_score": "Klik op uw antwoord om te beginnen:", "start": "Naar de enquête",
        "copy_link": "Werken de knoppen niet? Kopieer dan deze link naar uw browser:",
        "valid_until": "Deze link is persoonlijk en werkt tot {date}.",
        "optout": "Wilt u geen enquêtes meer ontvangen van {sender}? Afmelden:",
        "test_banner": "TEST-E-MAIL — de links openen de voorvertoning; er wordt geen antwoord opgeslagen.",
    },
    "es": {
        "hello": "Hola, {name}:", "hello_anonymous": "Hola:",
        "intro": "A {sender} le gustaría conocer su opinión. Solo le llevará un minuto.",
        "reminder": "Un breve recordatorio: a {sender} le seguiría gustando conocer su respuesta. Su enlace está abajo.",
        "reminder_subject": "Recordatorio: {title}",
        "click_score": "Haga clic en su respuesta para empezar:", "start": "Responder a la encuesta",
        "copy_link": "Si los botones no funcionan, copie este enlace en su navegador:",
        "valid_until": "Este enlace es personal y funciona hasta el {date}.",
        "optout": "¿No desea recibir más encuestas de {sender}? Darse de baja:",
        "test_banner": "CORREO DE PRUEBA: sus enlaces abren la vista previa; no se guarda ninguna respuesta.",
    },
}


def text(lang: str, key: str, **params) -> str:
    """One e-mail or opt-out page string in `lang` (English when the language is unknown)."""
    return TEXT.get(lang, TEXT["en"])[key].format(**params)


@dataclasses.dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str


def _texts(version: SurveyVersion, language: str, default_language: str) -> dict:
    texts = version.texts or {}
    return {**(texts.get(default_language) or {}), **{k: v for k, v in (texts.get(language) or {}).items() if v}}


def _localized(value, language: str, default_language: str) -> str:
    if isinstance(value, dict):
        return value.get(language) or value.get(default_language) or next(iter(value.values()), "")
    return value or ""


def _embedded_question(version: SurveyVersion, language: str, default_language: str, link, piping: dict | None = None) -> dict | None:
    """The first question as score links, for NPS and CSAT questions (`link(score)` builds each URL)."""
    first = version.questions.order_by("order").first()
    if first is None or first.type not in (QuestionType.NPS, QuestionType.CSAT):
        return None
    low, high = (0, 10) if first.type == QuestionType.NPS else (1, 5)
    options = first.options if isinstance(first.options, dict) else {}
    prefix = "nps" if first.type == QuestionType.NPS else "csat"
    return {
        "text": pipe(_localized(first.text, language, default_language), piping),
        "scores": [{"value": n, "url": link(n)} for n in range(low, high + 1)],
        "low_label": _localized(options.get("min_label"), language, default_language) or ui_text(language, f"{prefix}_low"),
        "high_label": _localized(options.get("max_label"), language, default_language) or ui_text(language, f"{prefix}_high"),
    }


# --- the e-mail's own words per survey and language (issue 20 item 3) ------------------------------------

EMAIL_PARTS = {"subject": 200, "intro": 4000, "button": 60, "reminder_subject": 200, "reminder_intro": 4000}
HTML_PARTS = ("intro", "reminder_intro")
INTRO_TAGS = {"p", "br", "b", "strong", "i", "em", "u", "a", "ul", "ol", "li"}


def sanitize_html(value: str) -> str:
    """What a lead writes into an e-mail's intro, reduced to paragraphs, line breaks, emphasis, lists and http(s) or
    mailto links (nh3/ammonia: every other tag, attribute, style and script is dropped; links get rel=noopener)."""
    return nh3.clean(value or "", tags=INTRO_TAGS, attributes={"a": {"href"}}, url_schemes={"http", "https", "mailto"},
                     link_rel="noopener noreferrer").strip()


def html_text(value: str) -> str:
    """The plain-text version of sanitised HTML (the e-mail's text part)."""
    value = re.sub(r"(?i)<br\s*/?>|</p>|</li>", "\n", value or "")
    value = re.sub(r"(?i)<li>", "- ", value)
    plain = html_lib.unescape(nh3.clean(value, tags=set()))
    return re.sub(r"\n{3,}", "\n\n", plain).strip()


def email_defaults(*, tenant: Tenant, survey: Survey, version: SurveyVersion | None, language: str) -> dict[str, str]:
    """What each part says when the survey does not set it (the product's words, the version's title)."""
    texts = _texts(version, language, survey.default_language) if version is not None else {}
    title = texts.get("title") or survey.name
    sender = sender_name(tenant)
    return {"subject": title, "intro": text(language, "intro", sender=sender), "button": text(language, "start"),
            "reminder_subject": text(language, "reminder_subject", title=title), "reminder_intro": text(language, "reminder", sender=sender)}


def _own_words(survey: Survey, language: str) -> dict[str, str]:
    own = (survey.email_texts or {}).get(language) or {}
    return {part: value for part, value in own.items() if part in EMAIL_PARTS and isinstance(value, str) and value.strip()}


def render_survey_email(*, tenant: Tenant, invitation: Invitation | None, kind: str, survey: Survey | None = None,
                        version: SurveyVersion | None = None, language: str | None = None, preview_url: str = "",
                        recipient_name: str = "", contact=None) -> RenderedEmail:
    """Subject, text and HTML of an invitation, reminder or test e-mail.

    Invitations and reminders link to the respondent page through TOKEN_PLACEHOLDER; a test e-mail
    (no invitation) links to `preview_url` instead, so it can never record an answer; its `contact` (if given)
    lends their name and attributes to the greeting and the {{tokens}}. The survey's own words (`email_texts`)
    replace the defaults part by part; their {{tokens}} are piped, the intro's values escaped before it is
    sanitised again.
    """
    from apps.surveys.distribution.services import TOKEN_PLACEHOLDER, invitation_url, optout_url

    if invitation is not None:
        survey, version, language = invitation.survey, invitation.version, invitation.language
        recipient_name = invitation.contact.name if invitation.contact is not None else ""
        piping = pipe_values(tenant=tenant, contact=invitation.contact, client=invitation.client,
                             touchpoint=invitation.interaction.touchpoint if invitation.interaction_id else survey.touchpoint)

        def link(score=None):
            return invitation_url(TOKEN_PLACEHOLDER, score=score)

        unsubscribe = optout_url(TOKEN_PLACEHOLDER)
    else:
        def link(score=None):
            return preview_url if score is None else f"{preview_url}?score={score}"

        unsubscribe = preview_url
        piping = pipe_values(tenant=tenant, contact=contact, touchpoint=survey.touchpoint)  # a test: a contact's, else the fallbacks
        recipient_name = contact.name if contact is not None else recipient_name
    language = language or survey.default_language
    sender = sender_name(tenant)
    texts = {key: pipe(value, piping) for key, value in _texts(version, language, survey.default_language).items()}
    title = texts.get("title") or survey.name
    defaults = email_defaults(tenant=tenant, survey=survey, version=version, language=language)
    defaults = {part: pipe(value, piping) for part, value in defaults.items()}
    own = _own_words(survey, language)
    reminder = kind == OutboundEmail.Kind.REMINDER
    lead_part = "reminder_intro" if reminder else "intro"
    if lead_part in own:
        escaped = {key: escape(value) for key, value in piping.items()}
        lead_html = mark_safe(sanitize_html(pipe(own[lead_part], escaped)))  # noqa: S308 - sanitised just now (nh3)
    else:
        lead_html = escape(defaults[lead_part])
    subject_part = "reminder_subject" if reminder else "subject"
    subject = pipe(own[subject_part], piping) if subject_part in own else defaults[subject_part]
    with translation.override(language):
        valid_until = formats.date_format(invitation.expires_at, "DATE_FORMAT") if invitation is not None and invitation.expires_at else ""
        context = {
            "lang": language,
            "title": title,
            "survey_intro": texts.get("intro", ""),
            "hello": text(language, "hello", name=recipient_name) if recipient_name else text(language, "hello_anonymous"),
            "lead": html_text(lead_html), "lead_html": lead_html,
            "question": _embedded_question(version, language, survey.default_language, link, piping),
            "click_score": text(language, "click_score"),
            "start": pipe(own["button"], piping) if "button" in own else defaults["button"],
            "url": link(),
            "copy_link": text(language, "copy_link"),
            "valid_until": text(language, "valid_until", date=valid_until) if valid_until else "",
            "optout": text(language, "optout", sender=sender),
            "optout_url": unsubscribe,
            "test_banner": text(language, "test_banner") if kind == OutboundEmail.Kind.TEST else "",
            "sender": sender,
        }
        body_text = render_text("surveys/email/survey.txt", context)
        body_html = render_to_string("surveys/email/survey.html", context)
    if kind == OutboundEmail.Kind.TEST:
        subject = f"[TEST] {subject}"
    return RenderedEmail(subject=subject, text=body_text, html=body_html)
