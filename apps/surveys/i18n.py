"""Respondent-facing words in every language of settings.LANGUAGES, and the choice of language.

Respondents never log in and may speak any of the survey's languages, so their pages do not go
through Django's gettext catalogues (which follow the admin's locale): every string a respondent
can read is here, keyed, in en, fr, de, nl and es. Survey texts themselves (title, questions,
choices) live on the SurveyVersion and its Questions, per language.

`ui_text(lang, key)` falls back to English for a language without the key (a test asserts none is
missing); an unknown key is a programming error and raises KeyError.

`negotiate_language(survey, request)`: `?lang=` (or the form's hidden `lang` on POST) → the
browser's Accept-Language (by quality, a regional tag matching its base language) → the survey's
default language; only ever one of the survey's own languages.
"""

from __future__ import annotations

from django.conf import settings

KNOWN_LANGUAGES = tuple(code for code, _ in settings.LANGUAGES)
LANGUAGE_NAMES = dict(settings.LANGUAGES)  # each in its own language ("Français", "Deutsch", …)

UI_TEXT: dict[str, dict[str, str]] = {
    "en": {
        "submit": "Submit",
        "next": "Next",
        "back": "Back",
        "page_of": "Page {page} of {count}",
        "send": "Send",
        "language": "Language",
        "optional": "optional",
        "survey_from": "A short survey from {org}",
        "required": "Please answer this question.",
        "invalid_choice": "Please choose one of the options.",
        "too_long": "Please keep your answer under {max} characters.",
        "error_summary_title": "Please check your answers",
        "form_stale": "Something went wrong with the form. Please check your answers and submit again.",
        "choose_all": "Choose all that apply.",
        "score_click_pending": "Your score: {score}. Press “Record my score” to send it, or change it and answer the rest below.",
        "score_click_button": "Record my score",
        "score_recorded": "Thank you: your score of {score} is recorded. You may change it or tell us more below, then press Submit.",
        "score_click_invalid": "That score is not on this survey’s scale. Choose one below.",
        "thanks_title": "Thank you!",
        "thanks_body": "Your answer has been recorded.",
        "already_recorded_title": "Your answer is already recorded",
        "already_recorded_body": "Thank you: we received your answer earlier. There is nothing more to do.",
        "unavailable_title": "This survey link is not available",
        "unavailable_body": ("The link may have expired, the survey may be closed, or the address may be incomplete. "
                             "Nothing was recorded. If you received the link by e-mail, you can simply ignore it."),
        "rate_limited_title": "Too many answers at once",
        "rate_limited_body": "Please wait a minute, then try again. Nothing was recorded this time.",
        "honeypot_label": "Leave this field empty",
        "next_person": "Next person",
        "kiosk_resets": "This screen starts again in a few seconds.",
        "kiosk_thanks_body": "Your feedback helps us improve.",
        "nps_low": "Not at all likely",
        "nps_high": "Extremely likely",
        "csat_low": "Very dissatisfied",
        "csat_high": "Very satisfied",
        "ces_low": "Strongly disagree",
        "ces_high": "Strongly agree",
        "rating_low": "Lowest",
        "rating_high": "Highest",
        "smiley_1": "Unhappy",
        "smiley_2": "Neutral",
        "smiley_3": "Happy",
        "optout_title": "Stop receiving surveys",
        "optout_body": "Do you no longer want to receive survey invitations from {org}?",
        "optout_confirm": "Stop sending me surveys",
        "optout_done_title": "You will not receive surveys any more",
        "optout_done_body": "{org} will not send you survey invitations from now on.",
        "optout_link": "Unsubscribe from surveys",
    },
    "fr": {
        "submit": "Envoyer",
        "next": "Suivant",
        "back": "Retour",
        "page_of": "Page {page} sur {count}",
        "send": "Envoyer",
        "language": "Langue",
        "optional": "facultatif",
        "survey_from": "Une courte enquête de {org}",
        "required": "Veuillez répondre à cette question.",
        "invalid_choice": "Veuillez choisir l’une des options.",
        "too_long": "Veuillez limiter votre réponse à {max} caractères.",
        "error_summary_title": "Veuillez vérifier vos réponses",
        "form_stale": "Un problème est survenu avec le formulaire. Vérifiez vos réponses et envoyez-les à nouveau.",
        "choose_all": "Cochez toutes les réponses qui s’appliquent.",
        "score_click_pending": ("Votre note : {score}. Cliquez sur « Enregistrer ma note » pour l’envoyer, "
                                "ou modifiez-la et répondez à la suite ci-dessous."),
        "score_click_button": "Enregistrer ma note",
        "score_recorded": ("Merci : votre note de {score} est enregistrée. Vous pouvez la modifier ou nous en dire plus "
                           "ci-dessous, puis cliquer sur Envoyer."),
        "score_click_invalid": "Cette note ne figure pas sur l’échelle de ce questionnaire. Choisissez-en une ci-dessous.",
        "thanks_title": "Merci !",
        "thanks_body": "Votre réponse a bien été enregistrée.",
        "already_recorded_title": "Votre réponse est déjà enregistrée",
        "already_recorded_body": "Merci : nous avons déjà reçu votre réponse. Vous n’avez rien d’autre à faire.",
        "unavailable_title": "Ce lien d’enquête n’est pas disponible",
        "unavailable_body": ("Le lien a peut-être expiré, l’enquête est peut-être clôturée, ou l’adresse est incomplète. "
                             "Rien n’a été enregistré. Si vous avez reçu ce lien par e-mail, vous pouvez simplement l’ignorer."),
        "rate_limited_title": "Trop de réponses en même temps",
        "rate_limited_body": "Veuillez patienter une minute, puis réessayer. Rien n’a été enregistré cette fois-ci.",
        "honeypot_label": "Laissez ce champ vide",
        "next_person": "Personne suivante",
        "kiosk_resets": "Cet écran recommence dans quelques secondes.",
        "kiosk_thanks_body": "Votre avis nous aide à nous améliorer.",
        "nps_low": "Pas du tout probable",
        "nps_high": "Extrêmement probable",
        "csat_low": "Très insatisfait",
        "csat_high": "Très satisfait",
        "ces_low": "Pas du tout d’accord",
        "ces_high": "Tout à fait d’accord",
        "rating_low": "Le plus bas",
        "rating_high": "Le plus haut",
        "smiley_1": "Mécontent",
        "smiley_2": "Neutre",
        "smiley_3": "Content",
        "optout_title": "Ne plus recevoir d’enquêtes",
        "optout_body": "Vous ne souhaitez plus recevoir d’invitations à des enquêtes de {org} ?",
        "optout_confirm": "Ne plus m’envoyer d’enquêtes",
        "optout_done_title": "Vous ne recevrez plus d’enquêtes",
        "optout_done_body": "{org} ne vous enverra plus d’invitations à des enquêtes.",
        "optout_link": "Se désabonner des enquêtes",
    },
    "de": {
        "submit": "Absenden",
        "next": "Weiter",
        "back": "Zurück",
        "page_of": "Seite {page} von {count}",
        "send": "Senden",
        "language": "Sprache",
        "optional": "optional",
        "survey_from": "Eine kurze Umfrage von {org}",
        "required": "Bitte beantworten Sie diese Frage.",
        "invalid_choice": "Bitte wählen Sie eine der Optionen.",
        "too_long": "Bitte fassen Sie Ihre Antwort in höchstens {max} Zeichen.",
        "error_summary_title": "Bitte prüfen Sie Ihre Antworten",
        "form_stale": "Mit dem Formular ist etwas schiefgegangen. Bitte prüfen Sie Ihre Antworten und senden Sie sie erneut.",
        "choose_all": "Wählen Sie alle zutreffenden Antworten.",
        "score_click_pending": ("Ihre Bewertung: {score}. Klicken Sie auf „Bewertung speichern“, um sie zu senden, "
                                "oder ändern Sie sie und beantworten Sie unten den Rest."),
        "score_click_button": "Bewertung speichern",
        "score_recorded": ("Danke: Ihre Bewertung {score} ist gespeichert. Sie können sie ändern oder uns unten mehr sagen "
                           "und dann auf Absenden klicken."),
        "score_click_invalid": "Diese Bewertung liegt nicht auf der Skala dieser Umfrage. Wählen Sie unten eine aus.",
        "thanks_title": "Vielen Dank!",
        "thanks_body": "Ihre Antwort wurde gespeichert.",
        "already_recorded_title": "Ihre Antwort ist bereits gespeichert",
        "already_recorded_body": "Vielen Dank: Wir haben Ihre Antwort bereits erhalten. Sie müssen nichts weiter tun.",
        "unavailable_title": "Dieser Umfragelink ist nicht verfügbar",
        "unavailable_body": ("Der Link ist vielleicht abgelaufen, die Umfrage beendet oder die Adresse unvollständig. "
                             "Es wurde nichts gespeichert. Wenn Sie den Link per E-Mail erhalten haben, können Sie ihn einfach ignorieren."),
        "rate_limited_title": "Zu viele Antworten auf einmal",
        "rate_limited_body": "Bitte warten Sie eine Minute und versuchen Sie es dann erneut. Diesmal wurde nichts gespeichert.",
        "honeypot_label": "Dieses Feld bitte leer lassen",
        "next_person": "Nächste Person",
        "kiosk_resets": "Dieser Bildschirm beginnt in wenigen Sekunden von vorn.",
        "kiosk_thanks_body": "Ihre Rückmeldung hilft uns, besser zu werden.",
        "nps_low": "Überhaupt nicht wahrscheinlich",
        "nps_high": "Äußerst wahrscheinlich",
        "csat_low": "Sehr unzufrieden",
        "csat_high": "Sehr zufrieden",
        "ces_low": "Stimme überhaupt nicht zu",
        "ces_high": "Stimme voll und ganz zu",
        "rating_low": "Niedrigste",
        "rating_high": "Höchste",
        "smiley_1": "Unzufrieden",
        "smiley_2": "Neutral",
        "smiley_3": "Zufrieden",
        "optout_title": "Keine Umfragen mehr erhalten",
        "optout_body": "Möchten Sie keine Umfrage-Einladungen von {org} mehr erhalten?",
        "optout_confirm": "Keine Umfragen mehr senden",
        "optout_done_title": "Sie erhalten keine Umfragen mehr",
        "optout_done_body": "{org} sendet Ihnen ab jetzt keine Umfrage-Einladungen mehr.",
        "optout_link": "Von Umfragen abmelden",
    },
    "nl": {
        "submit": "Versturen",
        "next": "Volgende",
        "back": "Vorige",
        "page_of": "Pagina {page} van {count}",
        "send": "Versturen",
        "language": "Taal",
        "optional": "optioneel",
        "survey_from": "Een korte enquête van {org}",
        "required": "Beantwoord deze vraag.",
        "invalid_choice": "Kies een van de opties.",
        "too_long": "Houd uw antwoord korter dan {max} tekens.",
        "error_summary_title": "Controleer uw antwoorden",
        "form_stale": "Er ging iets mis met het formulier. Controleer uw antwoorden en verstuur ze opnieuw.",
        "choose_all": "Kies alles wat van toepassing is.",
        "score_click_pending": "Uw score: {score}. Klik op ‘Score opslaan’ om hem te versturen, of pas hem aan en beantwoord de rest hieronder.",
        "score_click_button": "Score opslaan",
        "score_recorded": ("Bedankt: uw score van {score} is opgeslagen. U kunt hem aanpassen of ons hieronder meer vertellen "
                           "en dan op Versturen klikken."),
        "score_click_invalid": "Die score staat niet op de schaal van deze enquête. Kies er hieronder een.",
        "thanks_title": "Bedankt!",
        "thanks_body": "Uw antwoord is opgeslagen.",
        "already_recorded_title": "Uw antwoord is al opgeslagen",
        "already_recorded_body": "Bedankt: we hebben uw antwoord al ontvangen. U hoeft verder niets te doen.",
        "unavailable_title": "Deze enquêtelink is niet beschikbaar",
        "unavailable_body": ("De link is misschien verlopen, de enquête is misschien gesloten, of het adres is onvolledig. "
                             "Er is niets opgeslagen. Hebt u de link per e-mail ontvangen, dan kunt u hem gewoon negeren."),
        "rate_limited_title": "Te veel antwoorden tegelijk",
        "rate_limited_body": "Wacht een minuut en probeer het dan opnieuw. Er is deze keer niets opgeslagen.",
        "honeypot_label": "Laat dit veld leeg",
        "next_person": "Volgende persoon",
        "kiosk_resets": "Dit scherm begint over enkele seconden opnieuw.",
        "kiosk_thanks_body": "Uw feedback helpt ons beter te worden.",
        "nps_low": "Helemaal niet waarschijnlijk",
        "nps_high": "Zeer waarschijnlijk",
        "csat_low": "Zeer ontevreden",
        "csat_high": "Zeer tevreden",
        "ces_low": "Helemaal mee oneens",
        "ces_high": "Helemaal mee eens",
        "rating_low": "Laagste",
        "rating_high": "Hoogste",
        "smiley_1": "Ontevreden",
        "smiley_2": "Neutraal",
        "smiley_3": "Tevreden",
        "optout_title": "Geen enquêtes meer ontvangen",
        "optout_body": "Wilt u geen uitnodigingen voor enquêtes van {org} meer ontvangen?",
        "optout_confirm": "Stuur mij geen enquêtes meer",
        "optout_done_title": "U ontvangt geen enquêtes meer",
        "optout_done_body": "{org} stuurt u vanaf nu geen uitnodigingen voor enquêtes meer.",
        "optout_link": "Afmelden voor enquêtes",
    },
    "es": {
        "submit": "Enviar",
        "next": "Siguiente",
        "back": "Atrás",
        "page_of": "Página {page} de {count}",
        "send": "Enviar",
        "language": "Idioma",
        "optional": "opcional",
        "survey_from": "Una breve encuesta de {org}",
        "required": "Responda a esta pregunta, por favor.",
        "invalid_choice": "Elija una de las opciones, por favor.",
        "too_long": "Su respuesta debe tener menos de {max} caracteres.",
        "error_summary_title": "Revise sus respuestas, por favor",
        "form_stale": "Algo salió mal con el formulario. Revise sus respuestas y envíelas de nuevo.",
        "choose_all": "Elija todas las que correspondan.",
        "score_click_pending": "Su puntuación: {score}. Pulse «Guardar mi puntuación» para enviarla, o cámbiela y responda al resto abajo.",
        "score_click_button": "Guardar mi puntuación",
        "score_recorded": "Gracias: su puntuación de {score} ha quedado registrada. Puede cambiarla o contarnos más abajo y pulsar Enviar.",
        "score_click_invalid": "Esa puntuación no está en la escala de esta encuesta. Elija una abajo.",
        "thanks_title": "¡Gracias!",
        "thanks_body": "Su respuesta ha quedado registrada.",
        "already_recorded_title": "Su respuesta ya está registrada",
        "already_recorded_body": "Gracias: ya recibimos su respuesta. No tiene que hacer nada más.",
        "unavailable_title": "Este enlace de encuesta no está disponible",
        "unavailable_body": ("Puede que el enlace haya caducado, que la encuesta esté cerrada o que la dirección esté incompleta. "
                             "No se ha registrado nada. Si recibió el enlace por correo electrónico, puede ignorarlo."),
        "rate_limited_title": "Demasiadas respuestas a la vez",
        "rate_limited_body": "Espere un minuto y vuelva a intentarlo. Esta vez no se ha registrado nada.",
        "honeypot_label": "Deje este campo vacío",
        "next_person": "Siguiente persona",
        "kiosk_resets": "Esta pantalla volverá a empezar en unos segundos.",
        "kiosk_thanks_body": "Su opinión nos ayuda a mejorar.",
        "nps_low": "Nada probable",
        "nps_high": "Extremadamente probable",
        "csat_low": "Muy insatisfecho",
        "csat_high": "Muy satisfecho",
        "ces_low": "Totalmente en desacuerdo",
        "ces_high": "Totalmente de acuerdo",
        "rating_low": "Mínimo",
        "rating_high": "Máximo",
        "smiley_1": "Insatisfecho",
        "smiley_2": "Neutral",
        "smiley_3": "Satisfecho",
        "optout_title": "Dejar de recibir encuestas",
        "optout_body": "¿Ya no desea recibir invitaciones a encuestas de {org}?",
        "optout_confirm": "No enviarme más encuestas",
        "optout_done_title": "Ya no recibirá encuestas",
        "optout_done_body": "{org} no le enviará más invitaciones a encuestas.",
        "optout_link": "Darse de baja de las encuestas",
    },
}


def ui_text(lang: str, key: str, **params) -> str:
    """The respondent-facing string `key` in `lang` (English if that language lacks it), with
    `{name}` placeholders filled from `params`."""
    text = UI_TEXT.get(lang, {}).get(key)
    if text is None:
        text = UI_TEXT["en"][key]  # KeyError: an unknown key is a bug, not a fallback
    return text.format(**params) if params else text


def ui_texts(lang: str) -> dict[str, str]:
    """Every string in `lang` (English filling gaps): for templates, `{{ t.submit }}`."""
    return {**UI_TEXT["en"], **UI_TEXT.get(lang, {})}


def survey_languages(survey) -> list[str]:
    """The survey's languages, its default first; all known languages when there is no survey."""
    if survey is None:
        return list(KNOWN_LANGUAGES)
    default = survey.default_language if survey.default_language in KNOWN_LANGUAGES else "en"
    langs = [code for code in (survey.languages or []) if code in KNOWN_LANGUAGES and code != default]
    return [default, *dict.fromkeys(langs)]


def parse_accept_language(header: str) -> list[str]:
    """Language tags of an Accept-Language header, best first (ties keep their order), lower case."""
    ranked = []
    for position, part in enumerate((header or "")[:500].split(",")):
        tag, _, params = part.strip().partition(";")
        tag = tag.strip().lower()
        if not tag or tag == "*":
            continue
        quality = 1.0
        params = params.strip()
        if params.startswith("q="):
            try:
                quality = float(params[2:])
            except ValueError:
                continue
        if quality <= 0:
            continue
        ranked.append((-quality, position, tag))
    return [tag for _, _, tag in sorted(ranked)]


def _match(tag: str, available: list[str]) -> str | None:
    tag = (tag or "").strip().lower().replace("_", "-")
    if tag in available:
        return tag
    base = tag.split("-", 1)[0]
    return base if base in available else None


def negotiate_language(survey, request, *, available: list[str] | None = None) -> str:
    """?lang= (or the form's hidden `lang`) → Accept-Language → the survey's default language.
    `survey` may be None (a page before any survey is known): then any known language, English last.
    `available` narrows the survey's languages (e.g. to those its published version has texts for)."""
    available = [code for code in survey_languages(survey) if available is None or code in available] or survey_languages(survey)
    explicit = request.GET.get("lang") or (request.POST.get("lang") if request.method == "POST" else None)
    if explicit and (chosen := _match(explicit, available)):
        return chosen
    for tag in parse_accept_language(request.META.get("HTTP_ACCEPT_LANGUAGE", "")):
        if chosen := _match(tag, available):
            return chosen
    return available[0] if survey is not None else "en"


def localized(value, lang: str, fallback: str = "en") -> str:
    """A per-language text ({"en": …, "fr": …}) in `lang`, else the fallback language, else any."""
    if isinstance(value, str):
        return value
    if not isinstance(value, dict) or not value:
        return ""
    return value.get(lang) or value.get(fallback) or next((v for v in value.values() if v), "")
