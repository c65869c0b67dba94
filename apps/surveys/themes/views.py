"""Theme pages: the taxonomy (leads), suggestions (accept, rename, merge, reject), the starter themes, and a
person's correction of a comment's themes (staff and up, from the response page)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from apps.core.forms import add_service_errors
from apps.surveys.models import Response, Theme, ThemeSuggestion
from apps.surveys.themes import selectors, services, suggestions
from apps.surveys.themes.forms import ResponseThemesForm, SuggestionAcceptForm, SuggestionMergeForm, ThemeForm
from apps.tenancy.models import LEADS, STAFF_AND_UP
from apps.tenancy.permissions import tenant_role_required


@tenant_role_required(LEADS)
def theme_list_view(request, tenant_slug):
    themes = list(selectors.theme_list())
    for theme in themes:
        theme.needed = selectors.examples_needed(theme)
    context = {"themes": themes, "suggestions": selectors.open_suggestions(), "classifier": selectors.classifier_state(),
               "merge_form": SuggestionMergeForm()}
    return render(request, "surveys/themes/list.html", context)


def _theme_form_view(request, tenant_slug, theme: Theme | None):
    form = ThemeForm(request.POST or None, theme=theme)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            if theme is None:
                theme = services.theme_create(tenant=request.tenant, name=data["name"], description=data["description"],
                                              keywords=form.keywords())
                if not data["is_active"]:
                    services.theme_update(theme=theme, is_active=False)
                messages.success(request, f"Theme “{theme.name}” added: its comments are being found.")
            else:
                services.theme_update(theme=theme, name=data["name"], description=data["description"], keywords=form.keywords(),
                                      is_active=data["is_active"])
                messages.success(request, f"Theme “{theme.name}” saved.")
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            return redirect("themes:list", tenant_slug=tenant_slug)
    return render(request, "surveys/themes/form.html", {"form": form, "theme": theme}, status=400 if form.errors else 200)


@tenant_role_required(LEADS)
def theme_create_view(request, tenant_slug):
    return _theme_form_view(request, tenant_slug, None)


@tenant_role_required(LEADS)
def theme_edit_view(request, tenant_slug, uuid):
    return _theme_form_view(request, tenant_slug, get_object_or_404(Theme, uuid=uuid))


@require_POST
@tenant_role_required(LEADS)
def theme_delete_view(request, tenant_slug, uuid):
    theme = get_object_or_404(Theme, uuid=uuid)
    services.theme_delete(theme=theme)
    messages.success(request, f"Theme “{theme.name}” deleted, with its assignments.")
    return redirect("themes:list", tenant_slug=tenant_slug)


@require_POST
@tenant_role_required(LEADS)
def themes_starter_view(request, tenant_slug):
    made = services.themes_seed_starter(tenant=request.tenant)
    messages.success(request, f"{len(made)} starter theme{'s' if len(made) != 1 else ''} added." if made else
                     "The starter themes are already there.")
    return redirect("themes:list", tenant_slug=tenant_slug)


@require_POST
@tenant_role_required(LEADS)
def themes_suggest_view(request, tenant_slug):
    from apps.surveys.tasks import suggest_themes
    from apps.tenancy.tasks import enqueue_on_commit

    enqueue_on_commit(suggest_themes, request.tenant.pk)
    messages.info(request, "Looking for themes in the comments no theme covers: the suggestions appear here in a minute.")
    return redirect("themes:list", tenant_slug=tenant_slug)


def _suggestion(uuid) -> ThemeSuggestion:
    found = ThemeSuggestion.objects.filter(uuid=uuid, status=ThemeSuggestion.Status.OPEN).first()
    if found is None:
        raise Http404("No such open suggestion.")
    return found


@require_POST
@tenant_role_required(LEADS)
def suggestion_decide_view(request, tenant_slug, uuid):
    suggestion = _suggestion(uuid)
    decision = request.POST.get("decision")
    try:
        if decision == "accept":
            form = SuggestionAcceptForm(request.POST)
            if not form.is_valid():
                raise ValidationError(form.errors["name"])
            theme = suggestions.suggestion_accept(suggestion=suggestion, name=form.cleaned_data["name"])
            messages.success(request, f"Theme “{theme.name}” added from the suggestion.")
        elif decision == "merge":
            form = SuggestionMergeForm(request.POST)
            if not form.is_valid():
                raise ValidationError(form.errors["theme"])
            theme = suggestions.suggestion_merge(suggestion=suggestion, theme=form.cleaned_data["theme"])
            messages.success(request, f"The suggestion's words were added to “{theme.name}”.")
        elif decision == "reject":
            suggestions.suggestion_reject(suggestion=suggestion)
            messages.success(request, f"Suggestion “{suggestion.label}” rejected: it will not be suggested again.")
        else:
            raise ValidationError("Choose accept, merge or reject.")
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect("themes:list", tenant_slug=tenant_slug)


@require_POST
@tenant_role_required(STAFF_AND_UP)
def response_themes_view(request, tenant_slug, uuid):
    response = get_object_or_404(Response, uuid=uuid)
    form = ResponseThemesForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(e for errors in form.errors.values() for e in errors))
    else:
        try:
            services.response_themes_set(tenant=request.tenant, response=response, themes=form.cleaned_data["themes"],
                                         by=request.tenant_access.membership)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, "Themes saved. They stay as you set them, and teach the classifier.")
    return redirect("responses:detail", tenant_slug=tenant_slug, uuid=response.uuid)
