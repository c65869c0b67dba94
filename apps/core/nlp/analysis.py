"""One text's language and sentiment (the package docstring says how), and the sentiment bands."""

from __future__ import annotations

import dataclasses

from apps.core.nlp.language import LANGUAGES, detect_language
from apps.core.nlp.sentiment import sentiment

# Bump when what analyse_text returns changes (a lexicon, a rule, the detector): the rebuild command
# recomputes every stored result made by an older version.
ANALYSER_VERSION = 1
# VADER's authors' cut-offs for the compound score, used for every language.
SENTIMENT_POSITIVE, SENTIMENT_NEGATIVE = 0.05, -0.05
# A comment is analysed on its first 10,000 characters (a longer one says nothing more about its mood,
# and the cost stays bounded).
MAX_CHARS = 10_000


@dataclasses.dataclass(frozen=True)
class TextAnalysis:
    language: str
    sentiment: float


def analyse_text(text: str, *, fallback_language: str = "en") -> TextAnalysis | None:
    """Language and compound sentiment of `text`; None when it is empty or only whitespace (not a
    comment, METRICS.md). `fallback_language` is the language the author chose (the survey's), used
    when the text is too short or ambiguous to identify."""
    text = (text or "")[:MAX_CHARS]
    if not text.strip():
        return None
    language = detect_language(text, fallback=fallback_language)
    return TextAnalysis(language=language, sentiment=sentiment(text, language if language in LANGUAGES else "en"))


def sentiment_band(score: float | None) -> str | None:
    """"negative", "neutral" or "positive" for a compound score; None for no score."""
    if score is None:
        return None
    if score <= SENTIMENT_NEGATIVE:
        return "negative"
    if score >= SENTIMENT_POSITIVE:
        return "positive"
    return "neutral"
