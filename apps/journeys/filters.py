"""Journey list filters (page and API). The segment is a public uuid, looked up in the tenant."""

import django_filters

from apps.clients.models import Segment
from apps.journeys.models import Journey


class JourneyFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=Journey.Status.choices, empty_label="Any status")
    segment = django_filters.ModelChoiceFilter(field_name="segment", to_field_name="uuid", queryset=Segment.objects,
                                               empty_label="All segments")

    class Meta:
        model = Journey
        fields = ["status", "segment"]
