"""Dashboard forms beyond the filter bar (filters.py): the churn page's rate interval."""

from django import forms

from apps.dashboards.pages.churn import INTERVALS


class ChurnIntervalForm(forms.Form):
    """`interval`: rates per calendar week, month, quarter or year; empty = the range's default."""

    interval = forms.ChoiceField(choices=[("", "Automatic"), *INTERVALS], required=False, label="Rates per",
                                 error_messages={"invalid_choice": "Rates per: choose week, month, quarter or year."})
