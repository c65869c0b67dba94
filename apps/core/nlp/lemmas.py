"""Lemmas of a text in its language (simplemma: dictionaries inside its wheel), for keyword rules and the
theme classifier: "invoices", "invoiced" and "invoice" are one word; "factures" and "facture" too."""

from __future__ import annotations

import functools
import re
import unicodedata

WORD = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)*")


def fold(text: str) -> str:
    """Lower case without accents ("Équipe" → "equipe"), so a keyword typed without them still matches."""
    return "".join(ch for ch in unicodedata.normalize("NFKD", text.lower()) if not unicodedata.combining(ch))


@functools.lru_cache(maxsize=200_000)
def lemma(word: str, language: str) -> str:
    import simplemma

    try:
        return fold(simplemma.lemmatize(word, lang=language))
    except ValueError:  # a language simplemma does not know
        return fold(word)


def lemmas(text: str, language: str) -> list[str]:
    """The text's words as folded lemmas, in order (a word with an apostrophe or hyphen is split: "l'équipe")."""
    out = []
    for token in WORD.findall(text.lower()):
        for word in re.split(r"['’-]", token):
            if word:
                out.append(lemma(word, language))
    return out
