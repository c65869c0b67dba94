"""Which of the five respondent languages a text is written in (py3langid, model inside its wheel)."""

from __future__ import annotations

import functools

LANGUAGES = ("en", "fr", "de", "nl", "es")
# Below this many letters a text says too little to identify ("ok", "👍", "10/10"): the fallback wins.
MIN_LETTERS = 4
# py3langid's probability (normalised over the five languages) below which the fallback wins: "Super"
# is French at 0.33, "ok" German at 0.20; "Goed" is Dutch at 0.82, "Très bien" French at 0.98.
MIN_PROBABILITY = 0.6


@functools.cache
def _identifier():
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    identifier.set_languages(list(LANGUAGES))
    return identifier


def detect_language(text: str, *, fallback: str) -> str:
    """The language of `text` among LANGUAGES; `fallback` (the language the respondent answered the
    survey in) when the text is too short or too ambiguous to tell, or the fallback itself when it is
    not one of the five and the text cannot be identified."""
    letters = sum(1 for ch in text if ch.isalpha())
    if letters < MIN_LETTERS:
        return fallback
    language, probability = _identifier().classify(text)
    if probability < MIN_PROBABILITY and fallback in LANGUAGES:
        return fallback
    return language
