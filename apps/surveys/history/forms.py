"""The upload form (file, layout, zone, touchpoint) and the review's choices (which column holds what)."""

from __future__ import annotations

import zoneinfo

from django import forms

from apps.imports.forms import UploadForm
from apps.surveys.history.layouts import ROLE_LABELS, ROLES
from apps.surveys.history.planning import mapping_problem
from apps.surveys.models import ResponseImport
from apps.touchpoints.models import Touchpoint

NOT_IN_FILE = ""


def zone_choices() -> list[tuple[str, str]]:
    return [(name, name.replace("_", " ")) for name in sorted(zoneinfo.available_timezones()) if "/" in name or name == "UTC"]


class AttributionFields(forms.Form):
    time_zone = forms.ChoiceField(label="Time zone of the file's times", choices=zone_choices,
                                  help_text="Times written with an offset (e.g. +02:00) keep it; the others are read in this zone.")
    touchpoint = forms.ModelChoiceField(queryset=Touchpoint.objects.none(), required=False, empty_label="The survey's touchpoint",
                                        help_text="Where the responses are attributed, unless a row names a touchpoint.")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["touchpoint"].queryset = Touchpoint.objects.order_by("name")


class HistoryUploadForm(UploadForm, AttributionFields):
    layout = forms.ChoiceField(label="Layout", choices=ResponseImport.Layout.choices, initial=ResponseImport.Layout.AUTO,
                               help_text="Detected from the header unless you choose one.")

    field_order = ["file", "layout", "time_zone", "touchpoint"]


class MappingForm(AttributionFields):
    """One select per role (`col_<role>`) and per question of the version (`q_<key>`): the file's column, or not in the file."""

    def __init__(self, *args, columns: list[str], questions, mapping: dict[str, int], **kwargs):
        super().__init__(*args, **kwargs)
        self.questions = questions
        self.width = len(columns)
        choices = [(NOT_IN_FILE, "— not in the file —")] + [(str(i), label) for i, label in enumerate(columns)]
        for role in ROLES:
            self.fields[f"col_{role}"] = forms.ChoiceField(label=ROLE_LABELS[role], choices=choices, required=False,
                                                  initial=str(mapping[role]) if role in mapping else NOT_IN_FILE)
        for question in questions:
            name = f"q_{question.key}"
            text = next(iter((question.text or {}).values()), "")
            self.fields[name] = forms.ChoiceField(label=f"{question.key} — {text}"[:120], choices=choices, required=False,
                                                  initial=str(mapping[f"q:{question.key}"]) if f"q:{question.key}" in mapping else NOT_IN_FILE)

    def role_fields(self):
        return [self[f"col_{role}"] for role in ROLES]

    def question_fields(self):
        return [self[f"q_{q.key}"] for q in self.questions]

    def clean(self):
        data = super().clean()
        mapping = {role: int(data[f"col_{role}"]) for role in ROLES if data.get(f"col_{role}")}
        mapping |= {f"q:{q.key}": int(data[f"q_{q.key}"]) for q in self.questions if data.get(f"q_{q.key}")}
        problem = mapping_problem(mapping, self.questions, self.width)
        if problem:
            raise forms.ValidationError(problem)
        data["mapping"] = mapping
        return data
