"""Keyword rules: a theme's keywords and phrases, per language, matched on the lemmas of a comment in the
language detected in it (apps.core.nlp), accents and case folded: the keyword "invoice" matches "Invoices",
"invoiced"; "facture" matches "factures"; the phrase "call back" matches "called back"."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from apps.core.nlp import LANGUAGES
from apps.core.nlp.lemmas import lemmas

EVERY_LANGUAGE = "*"
KEYWORD_MAX = 60  # characters per keyword or phrase
KEYWORDS_PER_LANGUAGE = 100


@dataclasses.dataclass(frozen=True)
class CompiledTheme:
    id: int
    phrases: dict[str, tuple[str, ...]]  # language → " lemma lemma " strings, padded with spaces for whole-word matching


def compile_theme(theme_id: int, keywords: dict) -> CompiledTheme:
    """A theme's keywords as lemma phrases in each language (keywords under "*" in every language)."""
    phrases: dict[str, tuple[str, ...]] = {}
    shared = (keywords or {}).get(EVERY_LANGUAGE, [])
    for language in LANGUAGES:
        found = []
        for keyword in [*(keywords or {}).get(language, []), *shared]:
            words = lemmas(keyword, language)
            if words:
                found.append(f" {' '.join(words)} ")
        phrases[language] = tuple(dict.fromkeys(found))
    return CompiledTheme(theme_id, phrases)


def compile_themes(themes: Iterable) -> list[CompiledTheme]:
    """The active themes (objects with id, keywords, is_active) compiled, in order."""
    return [compile_theme(t.id, t.keywords) for t in themes if t.is_active]


def comment_text(comment: str, language: str) -> str:
    """The comment's lemmas as one padded string, what `matching` searches."""
    return f" {' '.join(lemmas(comment, language))} "


def matching(text: str, language: str, compiled: list[CompiledTheme]) -> set[int]:
    """Ids of the themes one of whose phrases occurs in `text` (comment_text of the comment)."""
    return {theme.id for theme in compiled if any(phrase in text for phrase in theme.phrases.get(language, ()))}
