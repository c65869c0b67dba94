"""Sentiment of a text in its language: a compound score in [−1, 1] on VADER's scale.

English is VADER itself. French, German, Dutch and Spanish go through one lexicon scorer that follows
VADER's rules (Hutto & Gilbert 2014) with each language's closed word classes:

- a word's valence is the lexicon's (lexicons.py), looked up as written, then as its lemma
  (simplemma); phrases of up to three words are matched first (the Spanish list has "no me gustó");
- an intensifier just before a word ("très", "sehr", "zeer", "muy") pushes it 0.293 further from zero;
- a negation among the three words before it, within the clause ("n'est pas bon", "nicht gut", "niet
  goed", "no es bueno"), multiplies it by −0.74;
- a contrast ("mais", "aber", "maar", "pero") halves what comes before it and weighs what follows 1.5×;
- each exclamation mark (at most four) adds 0.292 in the direction of the sum;
- emoji count alike in every language (lexicons.emoji_valences: the Emoji Sentiment Ranking);
- service-feedback words the general lexicons miss (a delay, an error, having to chase) come from
  domain.py, in every language, English included;
- the sum s is normalised as s / √(s² + 15), VADER's compound.
"""

from __future__ import annotations

import functools
import math
import re

from apps.core.nlp.lexicons import emoji_valences, lexicon, vader

# VADER's constants (vaderSentiment.vaderSentiment: B_INCR, N_SCALAR, the "!" amplifier, alpha).
BOOST = 0.293
NEGATE = -0.74
EXCLAMATION = 0.292
MAX_EXCLAMATIONS = 4
ALPHA = 15
NEGATION_WINDOW = 3
LONGEST_PHRASE = 3

NEGATORS = {
    "fr": {"ne", "n", "pas", "jamais", "aucun", "aucune", "rien", "sans", "ni", "guère", "personne"},
    "de": {"nicht", "kein", "keine", "keinen", "keinem", "keiner", "keines", "nie", "niemals", "nichts", "ohne", "weder",
           "nirgends"},
    "nl": {"niet", "geen", "nooit", "niets", "zonder", "noch", "nergens"},
    "es": {"no", "nunca", "jamás", "jamas", "sin", "ni", "tampoco", "nada", "ningún", "ninguna", "ninguno"},
}
INTENSIFIERS = {
    "fr": {"très", "trop", "vraiment", "extrêmement", "tellement", "absolument", "totalement", "particulièrement", "hyper",
           "vachement", "si"},
    "de": {"sehr", "wirklich", "extrem", "total", "äußerst", "besonders", "echt", "absolut", "höchst", "überaus", "völlig",
           "so", "zu"},
    "nl": {"zeer", "heel", "erg", "echt", "enorm", "ontzettend", "bijzonder", "extreem", "totaal", "hartstikke", "uiterst",
           "zo", "te"},
    "es": {"muy", "realmente", "extremadamente", "totalmente", "sumamente", "tan", "demasiado", "increíblemente",
           "absolutamente", "bastante"},
}
CONTRASTS = {"fr": {"mais"}, "de": {"aber"}, "nl": {"maar"}, "es": {"pero"}}
CLAUSE_BREAKS = set(".,;:!?()")
TOKEN = re.compile(r"[^\W\d_]+|[^\w\s]")


def normalise(score: float) -> float:
    """VADER's compound: s / √(s² + α), in (−1, 1)."""
    return max(-1.0, min(1.0, score / math.sqrt(score * score + ALPHA)))


@functools.lru_cache(maxsize=65536)
def _lemma(token: str, language: str) -> str:
    import simplemma  # its dictionaries ship in the wheel

    return simplemma.lemmatize(token, lang=language).lower()


def _negated(words: list[str], index: int, negators: set[str]) -> bool:
    """A negation among the NEGATION_WINDOW words before `index`, not across a clause break."""
    seen = 0
    for word in reversed(words[:index]):
        if word in CLAUSE_BREAKS:
            return False
        if not word[0].isalpha():
            continue
        if word in negators:
            return True
        seen += 1
        if seen == NEGATION_WINDOW:
            return False
    return False


def _match(words: list[str], index: int, valences: dict[str, float], language: str) -> tuple[int, float] | None:
    """(words consumed, valence) of the phrase or word starting at `index`, or None."""
    for size in range(LONGEST_PHRASE, 1, -1):
        if index + size <= len(words):
            value = valences.get(" ".join(words[index:index + size]))
            if value is not None:
                return size, value
    word = words[index]
    if word in NEGATORS.get(language, ()) or word in INTENSIFIERS.get(language, ()):
        return None
    value = valences.get(word)
    if value is None:
        lemma = _lemma(word, language)
        value = valences.get(lemma) if lemma != word else None
    return None if value is None else (1, value)


def lexicon_sentiment(text: str, language: str) -> float:
    """The compound score of `text` in `language` (fr, de, nl, es; for English only its emoji) by the
    rules above."""
    words = TOKEN.findall(text.lower())
    valences = lexicon(language) if language != "en" else {}  # English words are VADER's; emoji only here
    emojis = emoji_valences()
    negators, intensifiers, contrasts = NEGATORS.get(language, set()), INTENSIFIERS.get(language, set()), CONTRASTS.get(language, set())
    scored: list[tuple[int, float]] = []
    index = 0
    while index < len(words):
        word = words[index]
        if word in emojis:
            scored.append((index, emojis[word]))
            index += 1
            continue
        found = _match(words, index, valences, language) if word[0].isalpha() else None
        if found is None:
            index += 1
            continue
        size, value = found
        if index and words[index - 1] in intensifiers:
            value += math.copysign(BOOST, value)
        if _negated(words, index, negators):
            value *= NEGATE
        scored.append((index, value))
        index += size
    contrast = next((i for i, word in enumerate(words) if word in contrasts), None)
    if contrast is not None:
        scored = [(i, value * (0.5 if i < contrast else 1.5)) for i, value in scored]
    total = sum(value for _, value in scored)
    if total:
        total += math.copysign(min(words.count("!"), MAX_EXCLAMATIONS) * EXCLAMATION, total)
    return round(normalise(total), 4)


def sentiment(text: str, language: str) -> float:
    """The compound sentiment of `text` written in `language` (one of the five), in [−1, 1]. A text
    without a letter (emoji only) is scored by its emoji alone, whatever the language (VADER reads
    "👍" as "thumbs up", which its lexicon does not rate)."""
    if not any(ch.isalpha() for ch in text):
        return lexicon_sentiment(text, language)
    if language == "en":
        return round(vader().polarity_scores(text)["compound"], 4)
    return lexicon_sentiment(text, language)
