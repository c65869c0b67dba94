"""Reads for the response pages, the responses API and the export.

Every function returns a queryset (or plain data) whose evaluation costs a fixed number of queries
whatever the number of rows: attribution through select_related, tags through one prefetch.
Score bands follow METRICS.md: NPS promoters 9–10, passives 7–8, detractors 0–6; CSAT 1–2 / 3 /
4–5 (top-2-box = satisfied); CES "easy" is 5–7; smiley sad = 1, neutral = 2, happy = 3.
"""

from __future__ import annotations

import dataclasses
import datetime

from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet

from apps.clients.models import Client, Contact, Segment
from apps.core.nlp import SENTIMENT_NEGATIVE, SENTIMENT_POSITIVE, sentiment_band
from apps.journeys.models import Journey, Stage
from apps.surveys.models import Answer, Question, Response, ResponseTag, ResponseTheme, Survey, Tag, Theme
from apps.surveys.responses.search import comment_search
from apps.surveys.responses.sequences import transition_q
from apps.tenancy.models import Membership
from apps.touchpoints.models import Touchpoint

# Public score-band keys (page filter) → (label, condition). Grouped by scale for the <select>.
SCORE_BANDS: dict[str, tuple[str, Q]] = {
    "nps_promoter": ("NPS promoters (9–10)", Q(nps__gte=9)),
    "nps_passive": ("NPS passives (7–8)", Q(nps__in=(7, 8))),
    "nps_detractor": ("NPS detractors (0–6)", Q(nps__lte=6)),
    "csat_low": ("CSAT 1–2 (dissatisfied)", Q(csat__lte=2)),
    "csat_mid": ("CSAT 3 (neutral)", Q(csat=3)),
    "csat_high": ("CSAT 4–5 (satisfied)", Q(csat__gte=4)),
    "ces_low": ("CES 1–4 (not easy)", Q(ces__lte=4)),
    "ces_high": ("CES 5–7 (easy)", Q(ces__gte=5)),
    "smiley_sad": ("Smiley: sad", Q(smiley=1)),
    "smiley_neutral": ("Smiley: neutral", Q(smiley=2)),
    "smiley_happy": ("Smiley: happy", Q(smiley=3)),
}
SCORE_BAND_GROUPS = [
    ("NPS", ["nps_promoter", "nps_passive", "nps_detractor"]),
    ("CSAT", ["csat_low", "csat_mid", "csat_high"]),
    ("CES", ["ces_low", "ces_high"]),
    ("Smiley", ["smiley_sad", "smiley_neutral", "smiley_happy"]),
]
# A comment's sentiment band (apps.core.nlp's cut-offs, the same for every language) → (label, condition).
SENTIMENT_BANDS: dict[str, tuple[str, Q]] = {
    "negative": ("Negative", Q(comment_sentiment__lte=SENTIMENT_NEGATIVE)),
    "neutral": ("Neutral", Q(comment_sentiment__gt=SENTIMENT_NEGATIVE, comment_sentiment__lt=SENTIMENT_POSITIVE)),
    "positive": ("Positive", Q(comment_sentiment__gte=SENTIMENT_POSITIVE)),
}
NPS_CATEGORIES = {"promoter": "nps_promoter", "passive": "nps_passive", "detractor": "nps_detractor"}
NOT_ATTRIBUTED = "none"  # an attribution filter's value for the responses without one
# Responses that answered a metric: what a tile's or a breakdown row's n counts (METRICS.md: a skipped answer is
# not in that metric's n). The dashboards' drill-down links filter the list with these.
ANSWERED = {"nps": "NPS", "csat": "CSAT", "ces": "CES", "smiley": "Smiley", "enps": "eNPS",
            "perception_gap": "NPS with a staff prediction (a perception-gap pair)"}
_ANSWERED_COLUMNS = {"perception_gap": ("nps", "predicted")}


@dataclasses.dataclass(frozen=True)
class SentimentBadge:
    """A comment's sentiment as the list and detail pages show it."""

    score: float
    band: str  # SENTIMENT_BANDS key
    label: str
    tone: str  # good / neutral / bad


SENTIMENT_TONES = {"negative": "bad", "neutral": "neutral", "positive": "good"}


def sentiment_badge(response: Response) -> SentimentBadge | None:
    band = sentiment_band(response.comment_sentiment)
    if band is None:
        return None
    return SentimentBadge(response.comment_sentiment, band, SENTIMENT_BANDS[band][0], SENTIMENT_TONES[band])


@dataclasses.dataclass(frozen=True)
class ScoreBadge:
    """One scored answer as the list and detail pages show it: a number, a word, a tone (good/neutral/bad)."""

    scale: str  # "NPS", "CSAT", "CES", "Smiley"
    value: int
    maximum: int
    label: str
    tone: str


def score_badges(response: Response) -> list[ScoreBadge]:
    badges = []
    if response.nps is not None:
        n = response.nps
        label, tone = ("Promoter", "good") if n >= 9 else ("Passive", "neutral") if n >= 7 else ("Detractor", "bad")
        badges.append(ScoreBadge("NPS", n, 10, label, tone))
    if response.csat is not None:
        c = response.csat
        label, tone = ("Satisfied", "good") if c >= 4 else ("Neutral", "neutral") if c == 3 else ("Dissatisfied", "bad")
        badges.append(ScoreBadge("CSAT", c, 5, label, tone))
    if response.ces is not None:
        e = response.ces
        label, tone = ("Easy", "good") if e >= 5 else ("Neutral", "neutral") if e == 4 else ("Hard", "bad")
        badges.append(ScoreBadge("CES", e, 7, label, tone))
    if response.smiley is not None:
        s = response.smiley
        label, tone = {1: ("Sad", "bad"), 2: ("Neutral", "neutral"), 3: ("Happy", "good")}[s]
        badges.append(ScoreBadge("Smiley", s, 3, label, tone))
    return badges


HAS_COMMENT = ~Q(comment="")
SCALE_MAXIMUM = {"nps": 10, "csat": 5, "ces": 7}


def _tags_prefetch() -> Prefetch:
    return Prefetch("response_tags", queryset=ResponseTag.objects.select_related("tag").order_by("tag__name"), to_attr="tag_links")


def _themes_prefetch() -> Prefetch:
    """The themes on each comment (people's removals left out), as `theme_list`."""
    return Prefetch("theme_links", queryset=ResponseTheme.objects.filter(present=True).select_related("theme").order_by("theme__name"),
                    to_attr="theme_list")


def response_list(
    *, survey: Survey | None = None, touchpoint: Touchpoint | str | None = None, stage: Stage | str | None = None,
    client: Client | None = None, contact: Contact | None = None, staff: Membership | str | None = None,
    journey: Journey | str | None = None, segment: Segment | str | None = None, search: str = "",
    channel: str | None = None, language: str | None = None, band: str | None = None, tag: Tag | None = None,
    has_comment: bool | None = None, date_from: datetime.date | None = None, date_to: datetime.date | None = None,
    include_bots: bool = False, answered: str | None = None, sentiment: str | None = None, comment_language: str | None = None,
    theme: Theme | str | None = None, transition: tuple | None = None, attribute: tuple[str, str] | None = None,
) -> QuerySet[Response]:
    """The tenant's responses, newest first, filtered, with what a list row shows (attribution and
    tags) loaded in a fixed number of queries. Bot-flagged responses are left out unless asked for
    (they are kept apart and never counted). Dates are days in the tenant's time zone, both inclusive.
    Journey and segment are the response's own (as attributed at submission, as the metrics count them); an
    attribution given as NOT_ATTRIBUTED keeps the responses without one;
    `search` is a full-text search of the comments (apps.surveys.responses.search); `answered` keeps the
    responses with an answer to that metric (ANSWERED); `sentiment` (SENTIMENT_BANDS) and `comment_language`
    are the comment's, as analysed (apps.surveys.responses.comments); `theme` keeps the comments with that theme
    (NOT_ATTRIBUTED: the comments with no theme at all); `transition` (journey, from-stage — a Stage, NOT_ATTRIBUTED or
    None for any) keeps the responses that end a move of that journey (apps.surveys.responses.sequences). Days are
    the responses' `local_day`, the day the metrics count them on, so a drill-down from a number lists exactly its
    n responses. `attribute` (key, value) keeps the responses whose hidden field `key` is `value` (apps/surveys/attributes.py;
    the key is one of `attribute_keys()`, checked by the callers)."""
    qs = response_list_base()
    if attribute is not None:
        qs = qs.filter(**{f"attributes__{attribute[0]}": attribute[1]})
    if not include_bots:
        qs = qs.filter(is_bot=False)
    for field, value in (("survey", survey), ("touchpoint", touchpoint), ("stage", stage), ("client", client),
                         ("contact", contact), ("staff", staff), ("journey", journey), ("segment", segment),
                         ("response_tags__tag", tag)):
        if value == NOT_ATTRIBUTED:  # without that attribution: a dashboard's "Not attributed" row
            qs = qs.filter(**{f"{field}__isnull": True})
        elif value is not None:
            qs = qs.filter(**{field: value})
    if channel:
        qs = qs.filter(channel=channel)
    if language:
        qs = qs.filter(language=language)
    if band:
        qs = qs.filter(SCORE_BANDS[band][1])
    if sentiment:
        qs = qs.filter(SENTIMENT_BANDS[sentiment][1])
    if comment_language:
        qs = qs.filter(comment_language=comment_language)
    if theme == NOT_ATTRIBUTED:
        qs = qs.filter(HAS_COMMENT).exclude(with_theme())
    elif theme is not None:
        qs = qs.filter(with_theme(theme))
    if has_comment is not None:
        qs = qs.filter(HAS_COMMENT) if has_comment else qs.exclude(HAS_COMMENT)
    if transition is not None:
        moved_in, moved_from = transition
        from_id = None if moved_from is None else 0 if moved_from == NOT_ATTRIBUTED else moved_from.pk
        qs = qs.filter(transition_q(moved_in.tenant_id, moved_in.pk, from_id))
    if answered:
        qs = qs.filter(**{f"{column}__isnull": False for column in _ANSWERED_COLUMNS.get(answered, (answered,))})
    if date_from is not None:
        qs = qs.filter(local_day__gte=date_from)
    if date_to is not None:
        qs = qs.filter(local_day__lte=date_to)
    return comment_search(qs, search)


def with_theme(theme: Theme | None = None) -> Exists:
    """The condition "the comment carries `theme`" (any theme when None); a person's removal is not on it."""
    links = ResponseTheme.objects.filter(response=OuterRef("pk"), present=True)
    return Exists(links.filter(theme=theme) if theme is not None else links)


def response_list_base() -> QuerySet[Response]:
    """All responses (bots included), newest first, with attribution and tags loaded."""
    return (Response.objects
            .select_related("survey", "version", "client", "contact", "touchpoint", "stage", "staff__user")
            .prefetch_related(_tags_prefetch(), _themes_prefetch())
            .order_by("-submitted_at", "-id"))


def response_get_detail(*, uuid) -> Response | None:
    """One response with everything its page shows: attribution, the triggering interaction (and
    who had it), the invitation, the kiosk, its tags. None if there is no such response here."""
    return (Response.objects
            .select_related("survey", "version", "client", "contact", "touchpoint", "stage", "staff__user", "segment",
                            "kiosk", "invitation", "interaction__staff__user", "interaction__touchpoint", "interaction__contact")
            .prefetch_related(_tags_prefetch(), _themes_prefetch())
            .filter(uuid=uuid).first())


@dataclasses.dataclass(frozen=True)
class AnswerRow:
    key: str
    type: str
    text: str
    value: object  # None when skipped
    display: str


def localised(texts: dict | None, language: str, fallback: str = "en") -> str:
    """A per-language text in `language`, else the fallback language, else any language there is."""
    texts = texts or {}
    if not isinstance(texts, dict):
        return str(texts)
    return texts.get(language) or texts.get(fallback) or next((v for v in texts.values() if v), "")


def _display(question: Question, value, language: str, fallback: str) -> str:
    if value is None or value == "" or value == []:
        return ""
    options = question.options if isinstance(question.options, list) else (question.options or {}).get("choices", [])
    labels = {str(o.get("value")): localised(o.get("label"), language, fallback) for o in options if isinstance(o, dict)}
    if isinstance(value, list):
        return ", ".join(labels.get(str(v), str(v)) for v in value)
    if question.type in ("single_choice",):
        return labels.get(str(value), str(value))
    if question.type == "smiley":
        return {1: "Sad", 2: "Neutral", 3: "Happy"}.get(value, str(value))
    if question.type in SCALE_MAXIMUM:
        return f"{value} / {SCALE_MAXIMUM[question.type]}"
    if question.type == "rating" and isinstance(question.options, dict) and question.options.get("max"):
        return f"{value} / {question.options['max']}"
    return str(value)


def response_answer_rows(*, response: Response) -> list[AnswerRow]:
    """Every question of the version the response answered, in question order, with its text in the
    response's language and the answer (or None where it was skipped). Two queries."""
    questions = list(Question.objects.filter(version_id=response.version_id).order_by("order", "id"))
    answers = {a.question_id: a.value for a in Answer.objects.filter(response=response)}
    fallback = response.survey.default_language
    rows = []
    for q in questions:
        value = answers.get(q.id)
        rows.append(AnswerRow(key=q.key, type=q.type, text=localised(q.text, response.language, fallback), value=value,
                              display=_display(q, value, response.language, fallback)))
    return rows


def response_answers_prefetch() -> Prefetch:
    return Prefetch("answers", queryset=Answer.objects.select_related("question").order_by("question__order"), to_attr="answer_list")


def tag_list() -> QuerySet[Tag]:
    return Tag.objects.order_by("name", "id")


def export_question_keys(responses: QuerySet[Response]) -> list[str]:
    """The question keys of every version of the surveys in `responses`, in survey-name then question
    order, each once: the export's answer columns. One query."""
    rows = (Question.objects.filter(version__survey__in=responses.order_by().values("survey_id"))
            .order_by("version__survey__name", "version__survey_id", "-version__number", "order")
            .values_list("key", flat=True))
    return list(dict.fromkeys(rows))
