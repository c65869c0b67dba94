"""List filters of the interactions API (django-filter). Related rows by public uuid, through the
tenant-scoped managers: another tenant's uuid is an unknown choice, answered with 400."""

from __future__ import annotations

import zoneinfo
from datetime import datetime, time, timedelta

import django_filters
from django.db.models import Q
from django.utils import timezone

from apps.clients.models import Client, Contact
from apps.tenancy.models import Membership
from apps.touchpoints.models import Interaction, Touchpoint

OPEN_FOLLOW_UP = Q(follow_up=True, follow_up_done_at=None)


class InteractionFilter(django_filters.FilterSet):
    client = django_filters.ModelChoiceFilter(field_name="client", to_field_name="uuid", queryset=Client.objects)
    contact = django_filters.ModelChoiceFilter(field_name="contact", to_field_name="uuid", queryset=Contact.objects)
    touchpoint = django_filters.ModelChoiceFilter(field_name="touchpoint", to_field_name="uuid", queryset=Touchpoint.objects)
    staff = django_filters.ModelChoiceFilter(field_name="staff", to_field_name="uuid", queryset=Membership.objects,
                                             help_text="The staff member (membership id) who logged it.")
    outcome = django_filters.ChoiceFilter(choices=Interaction.Outcome.choices)
    # `from` and `to` are Python keywords: declared through the class namespace.
    locals()["from"] = django_filters.DateFilter(method="filter_from", help_text="Occurred on or after this day (the tenant's time zone).")
    locals()["to"] = django_filters.DateFilter(method="filter_to", help_text="Occurred on or before this day (the tenant's time zone).")
    follow_up_open = django_filters.BooleanFilter(method="filter_follow_up_open", help_text="true: an open follow-up; false: none open.")
    has_prediction = django_filters.BooleanFilter(field_name="predicted_score", lookup_expr="isnull", exclude=True,
                                                  help_text="true: the staff member predicted the client's score.")

    class Meta:
        model = Interaction
        fields = ["client", "contact", "touchpoint", "staff", "outcome"]

    def _day_start(self, day) -> datetime:
        tz = zoneinfo.ZoneInfo(self.request.tenant.time_zone)
        return timezone.make_aware(datetime.combine(day, time.min), tz)

    def filter_from(self, queryset, name, value):
        return queryset.filter(occurred_at__gte=self._day_start(value))

    def filter_to(self, queryset, name, value):
        return queryset.filter(occurred_at__lt=self._day_start(value + timedelta(days=1)))

    def filter_follow_up_open(self, queryset, name, value):
        return queryset.filter(OPEN_FOLLOW_UP) if value else queryset.exclude(OPEN_FOLLOW_UP)
