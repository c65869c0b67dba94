"""Reads of the theme pages: the taxonomy with each theme's comment count, open suggestions with their
example comments, a comment's themes. A fixed number of queries whatever the number of themes."""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet

from apps.surveys.models import Response, ResponseTheme, Theme, ThemeClassifier, ThemeSuggestion
from apps.surveys.themes.classifier import MIN_NEGATIVES, MIN_POSITIVES


def theme_list() -> QuerySet[Theme]:
    """Every theme, by name, with `comment_count` (comments it is on) and `corrected_count` (people's decisions)."""
    return (Theme.objects.annotate(comment_count=Count("response_links", filter=Q(response_links__present=True)),
                                   corrected_count=Count("response_links", filter=Q(response_links__source=ResponseTheme.Source.PERSON)))
            .order_by("-is_active", "name"))


def classifier_state() -> ThemeClassifier | None:
    return ThemeClassifier.objects.only("trained_at", "examples").first()


def examples_needed(theme: Theme) -> tuple[int, int]:
    """(confirmed comments with the theme, reviewed comments without it) still needed before it is learned."""
    return max(0, MIN_POSITIVES - theme.model_positives), max(0, MIN_NEGATIVES - theme.model_negatives)


def open_suggestions() -> list[ThemeSuggestion]:
    """Open suggestions, largest first, each with `example_comments` (its example responses' comments). Two queries."""
    suggestions = list(ThemeSuggestion.objects.filter(status=ThemeSuggestion.Status.OPEN).order_by("-comments", "id"))
    ids = {pk for s in suggestions for pk in s.examples}
    comments = dict(Response.objects.filter(pk__in=ids).values_list("pk", "comment"))
    for s in suggestions:
        s.example_comments = [comments[pk] for pk in s.examples if pk in comments]
    return suggestions


def response_theme_links(response: Response) -> list[ResponseTheme]:
    """The themes on a response's comment (people's removals left out), by name."""
    return list(ResponseTheme.objects.filter(response=response, present=True).select_related("theme").order_by("theme__name"))
