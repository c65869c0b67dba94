"""The experience audit's form: the last day of the six months audited."""

from __future__ import annotations

from datetime import date

from django import forms


class EndForm(forms.Form):
    end = forms.DateField(required=False, label="Audit up to", widget=forms.DateInput(attrs={"type": "date"}),
                          help_text="The last day of the six months audited (default: today).")

    def __init__(self, *args, today: date, **kwargs):
        super().__init__(*args, **kwargs)
        self.today = today

    def clean_end(self):
        end = self.cleaned_data.get("end") or self.today
        if end > self.today:
            raise forms.ValidationError("The audit cannot end in the future.")
        if end.year < 1901:
            raise forms.ValidationError("Choose a day after 1900.")
        return end
