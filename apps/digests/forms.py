"""The digest preferences page's forms: a member's own opt-ins, and which digest to preview."""

from django import forms

from apps.digests.models import Frequency


class DigestPreferencesForm(forms.Form):
    daily = forms.BooleanField(required=False, label="Daily digest",
                               help_text="Every morning at 07:00 workspace time, about yesterday.")
    weekly = forms.BooleanField(required=False, label="Weekly digest",
                                help_text="Mondays at 07:00 workspace time, about the Monday–Sunday before.")


class DigestPreviewForm(forms.Form):
    preview = forms.ChoiceField(label="Digest to preview", choices=[(Frequency.DAILY, "Daily: yesterday"),
                                                                     (Frequency.WEEKLY, "Weekly: last Monday–Sunday")],
                                error_messages={"invalid_choice": "Choose the daily or the weekly digest to preview."})
