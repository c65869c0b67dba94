"""Forms of the theme pages: a theme (name, description, keywords per language), a suggestion's decision,
and a comment's themes (a person's correction)."""

from __future__ import annotations

from django import forms
from django.conf import settings

from apps.surveys.models import Theme
from apps.surveys.themes.rules import EVERY_LANGUAGE, KEYWORD_MAX

LANGUAGE_NAMES = dict(settings.LANGUAGES)
KEYWORD_HELP = f"Words or phrases separated by commas or new lines (each up to {KEYWORD_MAX} characters), matched on their " \
               "dictionary form: “invoice” also finds “invoices” and “invoiced”."


class ThemeForm(forms.Form):
    name = forms.CharField(max_length=Theme._meta.get_field("name").max_length)
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}),
                                  help_text="What the theme covers, for the people who correct themes.")
    is_active = forms.BooleanField(required=False, initial=True, label="Active",
                                   help_text="An inactive theme is not assigned and not shown on dashboards.")

    def __init__(self, *args, theme: Theme | None = None, **kwargs):
        if theme is not None:
            kwargs.setdefault("initial", {"name": theme.name, "description": theme.description, "is_active": theme.is_active,
                                          **{self.field_name(lang): ", ".join(words) for lang, words in theme.keywords.items()}})
        super().__init__(*args, **kwargs)
        for code in (*LANGUAGE_NAMES, EVERY_LANGUAGE):
            label = f"Keywords in {LANGUAGE_NAMES[code]}" if code in LANGUAGE_NAMES else "Keywords in every language"
            self.fields[self.field_name(code)] = forms.CharField(
                required=False, label=label, widget=forms.Textarea(attrs={"rows": 2}),
                help_text=KEYWORD_HELP if code == "en" else ("Names and words that are the same in every language, e.g. a product "
                                                               "name." if code == EVERY_LANGUAGE else ""))

    @staticmethod
    def field_name(code: str) -> str:
        return "keywords_all" if code == EVERY_LANGUAGE else f"keywords_{code}"

    def keyword_fields(self):
        return [self[self.field_name(code)] for code in (*LANGUAGE_NAMES, EVERY_LANGUAGE)]

    def keywords(self) -> dict[str, list[str]]:
        out = {}
        for code in (*LANGUAGE_NAMES, EVERY_LANGUAGE):
            raw = self.cleaned_data.get(self.field_name(code)) or ""
            words = [w for line in raw.splitlines() for w in line.split(",")]
            if any(w.strip() for w in words):
                out[code] = words
        return out


class SuggestionAcceptForm(forms.Form):
    name = forms.CharField(max_length=Theme._meta.get_field("name").max_length, label="Theme name")


class SuggestionMergeForm(forms.Form):
    theme = forms.ModelChoiceField(queryset=Theme.objects.none(), to_field_name="uuid", label="Merge into",
                                   error_messages={"invalid_choice": "Not a theme of this workspace: choose from the list."})

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["theme"].queryset = Theme.objects.order_by("name")


class ResponseThemesForm(forms.Form):
    themes = forms.ModelMultipleChoiceField(queryset=Theme.objects.none(), to_field_name="uuid", required=False,
                                            widget=forms.CheckboxSelectMultiple, label="Themes of this comment",
                                            error_messages={"invalid_choice": "Not a theme of this workspace.",
                                                            "invalid_pk_value": "Not a theme of this workspace."})

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["themes"].queryset = Theme.objects.filter(is_active=True).order_by("name")
