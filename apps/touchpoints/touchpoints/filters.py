"""Touchpoint list filters, shared by the page (its GET form) and the API (query parameters).

Related filters take public uuids and look them up through the tenant-scoped manager: a uuid of
another tenant is invalid (400), never silently ignored.
"""

import django_filters
from django import forms
from django.db.models import Q

from apps.tenancy.models import Team
from apps.touchpoints.models import Channel, Touchpoint

YES_NO = [("", "Any"), ("true", "Yes"), ("false", "No")]


class TouchpointFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label="Name or description contains")
    channel = django_filters.ChoiceFilter(choices=Channel.choices, empty_label="All channels")
    team = django_filters.ModelChoiceFilter(field_name="team", to_field_name="uuid", queryset=Team.objects,
                                            empty_label="All teams")
    is_key = django_filters.BooleanFilter(label="Key touchpoint", widget=forms.Select(choices=YES_NO))
    is_active = django_filters.BooleanFilter(label="Active", widget=forms.Select(choices=YES_NO))

    class Meta:
        model = Touchpoint
        fields = ["q", "channel", "team", "is_key", "is_active"]

    def search(self, queryset, name, value):
        value = value.strip()
        return queryset.filter(Q(name__icontains=value) | Q(description__icontains=value)) if value else queryset
