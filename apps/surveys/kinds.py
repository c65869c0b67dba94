"""Survey kinds: the standard questions of each, correctly worded in every language we offer
(settings.LANGUAGES: en, fr, de, nl, es), and the shape of a question's `options`.

`{company}` in a text is the tenant's name; it is filled in when a version is created from a
template (`template_version_content`), so stored texts are final, per language.

Options, per question type (Question.options):
- nps, csat, ces: {"min_label": {lang: str}, "max_label": {lang: str}} (the end labels; the respondent
  page and the e-mail's buttons show them);
- smiley: {} (the three faces carry their own translated names);
- rating: {"min": int, "max": int, "min_label": {lang: str}, "max_label": {lang: str}};
- single_choice, multi_choice: [{"value": "price", "label": {lang: str}}, …] (a list, at least two);
- text: {}.
The helpers at the bottom (`scale_range`, `point_labels`, `end_labels`, `choice_list`) read them.
"""

from __future__ import annotations

from django.conf import settings

from apps.surveys.models import SCALES, QuestionType, SurveyKind

LANGUAGE_CODES = [code for code, _ in settings.LANGUAGES]
LANGUAGE_NAMES = dict(settings.LANGUAGES)

SCORED_TYPES = frozenset(SCALES)  # nps, csat, ces, smiley
CHOICE_TYPES = frozenset({QuestionType.SINGLE_CHOICE, QuestionType.MULTI_CHOICE})
END_LABEL_TYPES = frozenset({QuestionType.NPS, QuestionType.CSAT, QuestionType.CES, QuestionType.RATING})
RATING_BOUNDS = (0, 10)  # a rating question's min and max lie within these

# --- standard wording ----------------------------------------------------------------------------

NPS_LABELS = {
    "min_label": {"en": "Not at all likely", "fr": "Pas du tout probable", "de": "Überhaupt nicht wahrscheinlich",
                  "nl": "Helemaal niet waarschijnlijk", "es": "Nada probable"},
    "max_label": {"en": "Extremely likely", "fr": "Extrêmement probable", "de": "Äußerst wahrscheinlich",
                  "nl": "Zeer waarschijnlijk", "es": "Extremadamente probable"},
}

# The standard name of every point, low to high (the end labels are the first and last; the smiley
# names are those the respondent pages show under the faces).
POINT_LABELS = {
    QuestionType.CSAT: {
        "en": ["Very unsatisfied", "Unsatisfied", "Neutral", "Satisfied", "Very satisfied"],
        "fr": ["Très insatisfait", "Insatisfait", "Neutre", "Satisfait", "Très satisfait"],
        "de": ["Sehr unzufrieden", "Unzufrieden", "Neutral", "Zufrieden", "Sehr zufrieden"],
        "nl": ["Zeer ontevreden", "Ontevreden", "Neutraal", "Tevreden", "Zeer tevreden"],
        "es": ["Muy insatisfecho", "Insatisfecho", "Neutral", "Satisfecho", "Muy satisfecho"],
    },
    QuestionType.CES: {
        "en": ["Strongly disagree", "Disagree", "Somewhat disagree", "Neither agree nor disagree", "Somewhat agree", "Agree",
               "Strongly agree"],
        "fr": ["Pas du tout d'accord", "Pas d'accord", "Plutôt pas d'accord", "Ni d'accord ni pas d'accord", "Plutôt d'accord",
               "D'accord", "Tout à fait d'accord"],
        "de": ["Stimme überhaupt nicht zu", "Stimme nicht zu", "Stimme eher nicht zu", "Weder noch", "Stimme eher zu", "Stimme zu",
               "Stimme voll und ganz zu"],
        "nl": ["Helemaal mee oneens", "Mee oneens", "Enigszins mee oneens", "Niet mee eens, niet mee oneens", "Enigszins mee eens",
               "Mee eens", "Helemaal mee eens"],
        "es": ["Totalmente en desacuerdo", "En desacuerdo", "Algo en desacuerdo", "Ni de acuerdo ni en desacuerdo", "Algo de acuerdo",
               "De acuerdo", "Totalmente de acuerdo"],
    },
    QuestionType.SMILEY: {
        "en": ["Unhappy", "Neutral", "Happy"],
        "fr": ["Mécontent", "Neutre", "Content"],
        "de": ["Unzufrieden", "Neutral", "Zufrieden"],
        "nl": ["Ontevreden", "Neutraal", "Tevreden"],
        "es": ["Insatisfecho", "Neutral", "Satisfecho"],
    },
}

QUESTION_TEXTS = {
    SurveyKind.NPS: {
        "en": "How likely is it that you would recommend {company} to a friend or colleague?",
        "fr": "Quelle est la probabilité que vous recommandiez {company} à un ami ou à un collègue ?",
        "de": "Wie wahrscheinlich ist es, dass Sie {company} einem Freund oder Kollegen weiterempfehlen?",
        "nl": "Hoe waarschijnlijk is het dat u {company} zou aanbevelen aan een vriend of collega?",
        "es": "¿Qué probabilidad hay de que recomiende {company} a un amigo o colega?",
    },
    SurveyKind.CSAT: {
        "en": "How satisfied were you with the service you received from {company}?",
        "fr": "Dans quelle mesure avez-vous été satisfait du service fourni par {company} ?",
        "de": "Wie zufrieden waren Sie mit dem Service von {company}?",
        "nl": "Hoe tevreden was u over de service van {company}?",
        "es": "¿En qué medida quedó satisfecho con el servicio recibido de {company}?",
    },
    SurveyKind.CES: {
        "en": "{company} made it easy for me to handle my issue.",
        "fr": "{company} m'a facilité le traitement de ma demande.",
        "de": "{company} hat es mir leicht gemacht, mein Anliegen zu erledigen.",
        "nl": "{company} maakte het mij gemakkelijk om mijn vraag af te handelen.",
        "es": "{company} me facilitó la gestión de mi problema.",
    },
    SurveyKind.SMILEY: {
        "en": "How was your experience today?",
        "fr": "Comment s'est passée votre expérience aujourd'hui ?",
        "de": "Wie war Ihre Erfahrung heute?",
        "nl": "Hoe was uw ervaring vandaag?",
        "es": "¿Cómo fue su experiencia hoy?",
    },
    SurveyKind.ENPS: {
        "en": "How likely is it that you would recommend {company} as a place to work?",
        "fr": "Quelle est la probabilité que vous recommandiez {company} comme lieu de travail ?",
        "de": "Wie wahrscheinlich ist es, dass Sie {company} als Arbeitgeber weiterempfehlen?",
        "nl": "Hoe waarschijnlijk is het dat u {company} zou aanbevelen als werkgever?",
        "es": "¿Qué probabilidad hay de que recomiende {company} como lugar para trabajar?",
    },
}

# CES 2.0 asks for agreement with a statement: the intro says so.
CES_INTRO = {
    "en": "Please say how much you agree or disagree with the following statement.",
    "fr": "Indiquez dans quelle mesure vous êtes d'accord ou non avec l'affirmation suivante.",
    "de": "Bitte geben Sie an, inwieweit Sie der folgenden Aussage zustimmen.",
    "nl": "Geef aan in hoeverre u het eens of oneens bent met de volgende stelling.",
    "es": "Indique en qué medida está de acuerdo o en desacuerdo con la siguiente afirmación.",
}

REASON_TEXT = {
    "en": "What is the main reason for your score?",
    "fr": "Quelle est la principale raison de votre note ?",
    "de": "Was ist der Hauptgrund für Ihre Bewertung?",
    "nl": "Wat is de belangrijkste reden voor uw score?",
    "es": "¿Cuál es el motivo principal de su puntuación?",
}

TITLES = {
    "en": "Your feedback on {company}",
    "fr": "Votre avis sur {company}",
    "de": "Ihre Meinung zu {company}",
    "nl": "Uw mening over {company}",
    "es": "Su opinión sobre {company}",
}
ENPS_TITLES = {
    "en": "Working at {company}",
    "fr": "Travailler chez {company}",
    "de": "Arbeiten bei {company}",
    "nl": "Werken bij {company}",
    "es": "Trabajar en {company}",
}
INTROS = {
    "en": "It takes less than a minute.",
    "fr": "Cela prend moins d'une minute.",
    "de": "Das dauert weniger als eine Minute.",
    "nl": "Dit duurt minder dan een minuut.",
    "es": "Le llevará menos de un minuto.",
}
THANKS = {
    "en": "Thank you for your feedback.",
    "fr": "Merci pour votre avis.",
    "de": "Vielen Dank für Ihr Feedback.",
    "nl": "Bedankt voor uw feedback.",
    "es": "Gracias por su opinión.",
}

# The scored question's type and key per kind (eNPS is an NPS question asked of employees).
KIND_QUESTION = {
    SurveyKind.NPS: (QuestionType.NPS, "nps"),
    SurveyKind.CSAT: (QuestionType.CSAT, "csat"),
    SurveyKind.CES: (QuestionType.CES, "ces"),
    SurveyKind.SMILEY: (QuestionType.SMILEY, "smiley"),
    SurveyKind.ENPS: (QuestionType.NPS, "enps"),
}
REASON_KEY = "reason"


def _scale_options(qtype: str) -> dict:
    if qtype == QuestionType.NPS:
        return {key: dict(labels) for key, labels in NPS_LABELS.items()}
    if qtype in (QuestionType.CSAT, QuestionType.CES):
        points = POINT_LABELS[qtype]
        return {"min_label": {lang: labels[0] for lang, labels in points.items()},
                "max_label": {lang: labels[-1] for lang, labels in points.items()}}
    return {}


def _build_templates() -> dict:
    templates = {}
    for kind in SurveyKind:
        questions = []
        if kind in KIND_QUESTION:
            qtype, key = KIND_QUESTION[kind]
            questions.append({"key": key, "type": qtype, "text": dict(QUESTION_TEXTS[kind]), "options": _scale_options(qtype),
                              "required": True})
            questions.append({"key": REASON_KEY, "type": QuestionType.TEXT, "text": dict(REASON_TEXT), "options": {},
                              "required": False, "follow_up": True})
        titles = ENPS_TITLES if kind == SurveyKind.ENPS else TITLES
        intros = CES_INTRO if kind == SurveyKind.CES else INTROS
        texts = {lang: {"title": titles[lang], "intro": intros[lang], "thanks": THANKS[lang]} for lang in LANGUAGE_CODES}
        templates[kind.value] = {"texts": texts, "questions": questions}
    return templates


# kind → {"texts": {lang: {title, intro, thanks}}, "questions": [{key, type, text{lang}, options, required[, follow_up]}]}.
# Custom starts empty (no questions); every other kind has its scored question and the optional
# follow-up "What is the main reason for your score?" (key "reason", not required).
SURVEY_TEMPLATES = _build_templates()


def _fill(value, company: str):
    """`{company}` → the tenant's name, through nested dicts and lists (other braces are left alone)."""
    if isinstance(value, str):
        return value.replace("{company}", company)
    if isinstance(value, dict):
        return {k: _fill(v, company) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, company) for v in value]
    return value


def _only(value, languages):
    if isinstance(value, dict) and value and set(value) <= set(LANGUAGE_CODES):
        return {lang: value[lang] for lang in languages if lang in value}
    if isinstance(value, dict):
        return {k: _only(v, languages) for k, v in value.items()}
    if isinstance(value, list):
        return [_only(v, languages) for v in value]
    return value


def template_version_content(kind: str, *, company: str, languages, include_follow_up: bool = True) -> dict:
    """The texts and questions a new survey of `kind` starts with, in `languages`, final (the
    company's name filled in): {"texts": {lang: {…}}, "questions": [{key, type, text, options, required}]}."""
    template = SURVEY_TEMPLATES[kind]
    questions = []
    for q in template["questions"]:
        if q.get("follow_up") and not include_follow_up:
            continue
        questions.append({k: _only(_fill(v, company), languages) for k, v in q.items() if k != "follow_up"})
    texts = {lang: _fill(template["texts"][lang], company) for lang in languages}
    return {"texts": texts, "questions": questions}


def standard_question(qtype: str, key: str, *, company: str, languages) -> dict | None:
    """The standard wording of a question of this type and key, if the templates have one (used to
    fill a language added later): {"text": {lang: …}, "options": …}."""
    for template in SURVEY_TEMPLATES.values():
        for q in template["questions"]:
            if q["type"] == qtype and q["key"] == key:
                return {"text": _only(_fill(q["text"], company), languages), "options": _only(_fill(q["options"], company), languages)}
    return None


def standard_options(qtype: str, languages) -> dict | list:
    """Default options for a new question of this type: the standard scale labels, or nothing."""
    if qtype == QuestionType.RATING:
        return {"min": 1, "max": 5}
    if qtype in CHOICE_TYPES:
        return []
    return _only(_scale_options(qtype), languages)


# --- reading options -----------------------------------------------------------------------------

def scale_range(question) -> tuple[int, int] | None:
    """(low, high) inclusive for scored and rating questions; None for the others."""
    if question.type in SCALES:
        return SCALES[question.type]
    if question.type == QuestionType.RATING:
        options = question.options if isinstance(question.options, dict) else {}
        return int(options.get("min", 1)), int(options.get("max", 5))
    return None


def point_labels(question, lang: str) -> dict[int, str]:
    """{point: label} for the points that have a label in `lang`: the two ends of a scale or rating
    (smileys: the standard name of each face)."""
    bounds = scale_range(question)
    options = question.options if isinstance(question.options, dict) else {}
    if bounds is None:
        return {}
    low, high = bounds
    if question.type == QuestionType.SMILEY and lang in POINT_LABELS[QuestionType.SMILEY]:
        return {low + i: label for i, label in enumerate(POINT_LABELS[QuestionType.SMILEY][lang])}
    ends = {}
    if (options.get("min_label") or {}).get(lang):
        ends[low] = options["min_label"][lang]
    if (options.get("max_label") or {}).get(lang):
        ends[high] = options["max_label"][lang]
    return ends


def end_labels(question, lang: str) -> tuple[str, str]:
    """The labels of the lowest and highest point in `lang` ("" where there is none)."""
    bounds = scale_range(question)
    if bounds is None:
        return "", ""
    labels = point_labels(question, lang)
    return labels.get(bounds[0], ""), labels.get(bounds[1], "")


def choice_list(question, lang: str) -> list[tuple[str, str]]:
    """[(value, label in lang)] of a choice question, in order."""
    if question.type not in CHOICE_TYPES or not isinstance(question.options, list):
        return []
    return [(c["value"], (c.get("label") or {}).get(lang, "")) for c in question.options]
