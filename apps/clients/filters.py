"""API list filters for clients and contacts. Related filters take public uuids, looked up through the
tenant-scoped managers: another tenant's uuid is an unknown choice (400), never a silent empty list."""

import django_filters
from django.db.models import Q

from apps.clients.models import Client, Contact, Segment
from apps.clients.selectors import CLIENT_ORDERINGS, client_search_q
from apps.tenancy.models import Membership


class ClientFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="filter_q", label="Search: client name, contact name or e-mail contains")
    segment = django_filters.ModelChoiceFilter(field_name="segment", to_field_name="uuid", queryset=Segment.objects,
                                               label="Segment id")
    tier = django_filters.ChoiceFilter(choices=Client.Tier.choices)
    status = django_filters.ChoiceFilter(choices=Client.Status.choices)
    owner = django_filters.ModelChoiceFilter(field_name="owner", to_field_name="uuid", queryset=Membership.objects,
                                             label="Owner: a member id")
    active_on = django_filters.DateFilter(method="filter_active_on",
                                          label="Clients active on this date (became active on or before it, not churned by then)")
    ordering = django_filters.ChoiceFilter(choices=[(key, key) for key in CLIENT_ORDERINGS], method="filter_ordering",
                                           label="Sort order (default: name)")

    class Meta:
        model = Client
        fields = ["q", "segment", "tier", "status", "owner", "active_on", "ordering"]

    def filter_q(self, queryset, name, value):
        value = value.strip()
        return queryset.filter(client_search_q(value)) if value else queryset

    def filter_active_on(self, queryset, name, value):
        return queryset.filter(active_from__lte=value).filter(Q(churned_on__isnull=True) | Q(churned_on__gt=value))

    def filter_ordering(self, queryset, name, value):
        return queryset.order_by(*CLIENT_ORDERINGS[value])


class ContactFilter(django_filters.FilterSet):
    client = django_filters.ModelChoiceFilter(field_name="client", to_field_name="uuid", queryset=Client.objects, label="Client id")
    email = django_filters.CharFilter(field_name="email", lookup_expr="iexact", label="E-mail (exact, any case)")
    opted_out = django_filters.BooleanFilter()
    q = django_filters.CharFilter(method="filter_q", label="Search: contact name, e-mail or client name contains")

    class Meta:
        model = Contact
        fields = ["client", "email", "opted_out", "q"]

    def filter_q(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(name__icontains=value) | Q(email__icontains=value) | Q(client__name__icontains=value))
