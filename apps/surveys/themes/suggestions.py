"""Suggested new themes from the comments no theme covers (issue 19 item 4): non-negative matrix
factorisation (scikit-learn's MiniBatchNMF) over TF-IDF of the comments' lemmas.

Each component becomes a suggestion when enough uncovered comments load mostly on it: its label is its
strongest words, its keywords those words (under the language most of its comments are written in), with
a few example comments. An admin accepts it (a new theme, possibly renamed), merges it into an existing
theme (its keywords added), or rejects it; a rejected suggestion's words are not suggested again. Each run
replaces the suggestions still open; decided ones stay as a record.
"""

from __future__ import annotations

from collections import Counter

from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from apps.core.nlp.lemmas import lemmas
from apps.surveys.models import Response, ResponseTheme, Theme, ThemeSuggestion
from apps.surveys.themes import services
from apps.tenancy.context import tenant_context
from apps.tenancy.models import Tenant

MAX_COMMENTS = 20_000  # the newest uncovered comments read per run
MIN_COMMENTS = 30  # fewer uncovered comments than this: nothing to suggest
MIN_GROUP = 5  # comments a suggestion must group
MAX_SUGGESTIONS = 8
TOP_WORDS = 5
EXAMPLES = 5
# Words that say nothing about a topic, in any of the five languages (NMF would group them otherwise).
STOP = set("""the a an and or but to of in on at for with was were is are be been it this that we our us i you they he she
my me very so not no too just also all there their them have has had do did can could would will from by as about
than what which who when how more less some any few overall still again get got much many one two three take make
le la les un une des et ou mais de du en au aux pour avec est sont été il elle nous vous ils je j ne pas très tout
der die das ein eine und oder aber zu von im in am für mit war waren ist sind sein es wir ich sie er nicht sehr auch
de het een en of maar te van in op voor met was waren is zijn wij we ik zij niet heel ook
el la los las un una y o pero de del en a por para con fue era es son ser lo nos yo no muy también""".split())


def _uncovered(limit: int) -> list[tuple[int, str, str]]:
    """(response id, comment, language) of the newest counted comments with no theme on them."""
    themed = ResponseTheme.objects.filter(response=OuterRef("pk"), present=True)
    rows = (Response.objects.filter(is_bot=False).exclude(comment="").filter(~Exists(themed))
            .order_by("-submitted_at").values_list("pk", "comment", "comment_language", "language")[:limit])
    return [(pk, comment, detected or language) for pk, comment, detected, language in rows]


def _rejected_words() -> set[frozenset]:
    return {frozenset(words for values in s.keywords.values() for words in values)
            for s in ThemeSuggestion.objects.filter(status=ThemeSuggestion.Status.REJECTED)}


def suggest(tenant: Tenant, *, limit: int = MAX_COMMENTS) -> list[ThemeSuggestion]:
    """Replace the tenant's open suggestions with new ones from its uncovered comments."""
    import numpy as np
    from sklearn.decomposition import MiniBatchNMF
    from sklearn.feature_extraction.text import TfidfVectorizer

    with tenant_context(tenant):
        comments = _uncovered(limit)
        rejected = _rejected_words()
    documents = [[w for w in lemmas(text, language) if w not in STOP and len(w) > 2] for _, text, language in comments]
    found: list[dict] = []
    if len(comments) >= MIN_COMMENTS:
        vectorizer = TfidfVectorizer(analyzer=lambda words: words, min_df=3, max_df=0.5, sublinear_tf=True)
        try:
            matrix = vectorizer.fit_transform(documents)
        except ValueError:  # no word left after the document-frequency cuts
            matrix = None
        if matrix is not None and matrix.shape[1] >= TOP_WORDS:
            components = max(2, min(MAX_SUGGESTIONS, len(comments) // 40, matrix.shape[1] // TOP_WORDS))
            model = MiniBatchNMF(n_components=components, random_state=0, init="nndsvda", max_iter=200)
            weights = model.fit_transform(matrix)
            words = np.array(vectorizer.get_feature_names_out())
            strongest = weights.argmax(axis=1)
            loaded = weights.max(axis=1) > 0
            for k in range(components):
                members = [i for i in range(len(comments)) if loaded[i] and strongest[i] == k]
                if len(members) < MIN_GROUP:
                    continue
                top = [str(w) for w in words[np.argsort(model.components_[k])[::-1][:TOP_WORDS]]]
                if frozenset(top) in rejected:
                    continue
                language = Counter(comments[i][2] for i in members).most_common(1)[0][0]
                members.sort(key=lambda i: -weights[i, k])
                found.append({"label": " / ".join(top[:3])[:80], "keywords": {language: top}, "comments": len(members),
                              "examples": [comments[i][0] for i in members[:EXAMPLES]]})
    with tenant_context(tenant), transaction.atomic():
        ThemeSuggestion.objects.filter(status=ThemeSuggestion.Status.OPEN).delete()
        return [ThemeSuggestion.objects.create(tenant=tenant, **item) for item in found]


@transaction.atomic
def suggestion_accept(*, suggestion: ThemeSuggestion, name: str | None = None) -> Theme:
    """A new theme from the suggestion (its label, or `name`), with its words as keywords."""
    theme = services.theme_create(tenant=suggestion.tenant, name=name or suggestion.label, keywords=suggestion.keywords,
                                  origin=Theme.Origin.SUGGESTED)
    _decide(suggestion, ThemeSuggestion.Status.ACCEPTED, theme)
    return theme


@transaction.atomic
def suggestion_merge(*, suggestion: ThemeSuggestion, theme: Theme) -> Theme:
    """Add the suggestion's words to an existing theme's keywords."""
    keywords = {lang: list(words) for lang, words in theme.keywords.items()}
    for lang, words in suggestion.keywords.items():
        keywords[lang] = [*keywords.get(lang, []), *words]
    services.theme_update(theme=theme, keywords=keywords)
    _decide(suggestion, ThemeSuggestion.Status.MERGED, theme)
    return theme


@transaction.atomic
def suggestion_reject(*, suggestion: ThemeSuggestion) -> None:
    _decide(suggestion, ThemeSuggestion.Status.REJECTED, None)


def _decide(suggestion: ThemeSuggestion, status: str, theme: Theme | None) -> None:
    if suggestion.status != ThemeSuggestion.Status.OPEN:
        from django.core.exceptions import ValidationError

        raise ValidationError("This suggestion was already decided.")
    suggestion.status, suggestion.theme, suggestion.decided_at = status, theme, timezone.now()
    suggestion.save(update_fields=["status", "theme", "decided_at"])
