"""API list filters for responses (django-filter). Related rows by public uuid, through the tenant-scoped
managers: another tenant's uuid is an unknown choice, answered with 400. The conditions themselves
(score bands, day bounds in the tenant's time zone) are the selectors' (apps.surveys.responses.selectors)."""

from __future__ import annotations

import django_filters
from django.conf import settings
from django.forms import ModelChoiceField
from rest_framework.exceptions import ValidationError

from apps.clients.models import Client, Contact, Segment
from apps.journeys.models import Journey, Stage
from apps.surveys.attributes import attribute_keys, parse_attribute_filter
from apps.surveys.models import Response, Survey, Tag, Theme
from apps.surveys.responses.forms import OrNotAttributed
from apps.surveys.responses.search import MAX_QUERY, comment_search
from apps.surveys.responses.selectors import HAS_COMMENT, NOT_ATTRIBUTED, NPS_CATEGORIES, SCORE_BANDS, SENTIMENT_BANDS, with_theme
from apps.tenancy.models import Membership
from apps.touchpoints.models import Touchpoint


class _ChoiceOrNone(OrNotAttributed, ModelChoiceField):
    pass


class ModelChoiceOrNone(django_filters.ModelChoiceFilter):
    """A related filter by public uuid that also takes `none`: the responses without that attribution (what a
    dashboard's "Not attributed" row counts)."""

    field_class = _ChoiceOrNone

    def filter(self, qs, value):
        if value == NOT_ATTRIBUTED:
            return qs.filter(**{f"{self.field_name}__isnull": True})
        return super().filter(qs, value)


NONE = "; `none`: the responses without one"


class ResponseFilter(django_filters.FilterSet):
    survey = django_filters.ModelChoiceFilter(field_name="survey", to_field_name="uuid", queryset=Survey.objects, label="Survey id")
    touchpoint = ModelChoiceOrNone(field_name="touchpoint", to_field_name="uuid", queryset=Touchpoint.objects,
                                   label=f"Touchpoint id (as attributed at submission){NONE}")
    stage = ModelChoiceOrNone(field_name="stage", to_field_name="uuid", queryset=Stage.objects, label=f"Journey stage id{NONE}")
    journey = ModelChoiceOrNone(field_name="journey", to_field_name="uuid", queryset=Journey.objects,
                                label=f"Journey id (of the stage, as attributed at submission){NONE}")
    segment = ModelChoiceOrNone(field_name="segment", to_field_name="uuid", queryset=Segment.objects,
                                label=f"Client segment id (the client's segment at submission){NONE}")
    q = django_filters.CharFilter(method="filter_search", max_length=MAX_QUERY,
                                  label='Full-text search of the comments, each in its language: words, "phrases", or, -word')
    client = django_filters.ModelChoiceFilter(field_name="client", to_field_name="uuid", queryset=Client.objects, label="Client id")
    contact = django_filters.ModelChoiceFilter(field_name="contact", to_field_name="uuid", queryset=Contact.objects, label="Contact id")
    staff = ModelChoiceOrNone(field_name="staff", to_field_name="uuid", queryset=Membership.objects,
                              label=f"The staff member (membership id) of the interaction that triggered it{NONE}")
    tag = django_filters.ModelChoiceFilter(field_name="response_tags__tag", to_field_name="uuid", queryset=Tag.objects, label="Tag id")
    channel = django_filters.ChoiceFilter(choices=Response.Channel.choices)
    language = django_filters.ChoiceFilter(choices=settings.LANGUAGES, label="The language the survey was answered in")
    comment_language = django_filters.ChoiceFilter(choices=settings.LANGUAGES, label="The language the comment is written in (detected)")
    theme = django_filters.ModelChoiceFilter(to_field_name="uuid", queryset=Theme.objects, method="filter_theme",
                                             label="Comment theme id: the comments with that theme")
    sentiment = django_filters.ChoiceFilter(choices=[(k, k) for k in SENTIMENT_BANDS], method="filter_sentiment",
                                            label="The comment's sentiment band: negative (≤ −0.05), neutral, positive (≥ 0.05)")
    # `from` and `to` are Python keywords: declared through the class namespace.
    locals()["from"] = django_filters.DateFilter(method="filter_from", label="Submitted on or after this day (the tenant's time zone)")
    locals()["to"] = django_filters.DateFilter(method="filter_to", label="Submitted on or before this day (the tenant's time zone)")
    has_comment = django_filters.BooleanFilter(method="filter_has_comment", label="true: with a comment; false: without")
    nps_category = django_filters.ChoiceFilter(
        choices=[(k, k) for k in NPS_CATEGORIES], method="filter_nps_category",
        label="NPS answers only: promoter (9–10), passive (7–8) or detractor (0–6)")
    score_band = django_filters.ChoiceFilter(choices=[(k, label) for k, (label, _) in SCORE_BANDS.items()], method="filter_score_band",
                                             label="Any scale's band, e.g. csat_low (1–2), ces_high (5–7), smiley_sad")
    attribute = django_filters.CharFilter(method="filter_attribute", max_length=260,
                                          label="A hidden field's value, key:value (e.g. tier:Gold, client.region:EMEA): the client's "
                                                "and contact's attributes as the invitation carried them")
    include_bots = django_filters.BooleanFilter(method="filter_include_bots",
                                                label="true: include bot-flagged responses (left out by default)")

    class Meta:
        model = Response
        fields = ["survey", "touchpoint", "stage", "journey", "segment", "client", "contact", "staff", "tag", "channel", "language",
                  "comment_language"]

    def filter_queryset(self, queryset):
        # Bot-flagged responses are kept apart: left out unless include_bots=true.
        if not self.form.cleaned_data.get("include_bots"):
            queryset = queryset.filter(is_bot=False)
        return super().filter_queryset(queryset)

    # Days are the responses' local_day (the tenant-local day the metrics count them on, as the list page reads
    # them), so `from`/`to` give exactly the responses a metric's n counts over the same days.
    def filter_from(self, queryset, name, value):
        return queryset.filter(local_day__gte=value)

    def filter_to(self, queryset, name, value):
        return queryset.filter(local_day__lte=value)

    def filter_has_comment(self, queryset, name, value):
        return queryset.filter(HAS_COMMENT) if value else queryset.exclude(HAS_COMMENT)

    def filter_nps_category(self, queryset, name, value):
        return queryset.filter(SCORE_BANDS[NPS_CATEGORIES[value]][1])

    def filter_score_band(self, queryset, name, value):
        return queryset.filter(SCORE_BANDS[value][1])

    def filter_theme(self, queryset, name, value: Theme):
        return queryset.filter(with_theme(value))

    def filter_sentiment(self, queryset, name, value):
        return queryset.filter(SENTIMENT_BANDS[value][1])

    def filter_search(self, queryset, name, value):
        return comment_search(queryset, value)

    def filter_attribute(self, queryset, name, value):
        parsed, keys = parse_attribute_filter(value), [key for key, _ in attribute_keys()]
        if parsed is None or parsed[0] not in keys:
            raise ValidationError({"attribute": ["Give key:value, the key one of: " + ", ".join(keys) + "."]})
        return queryset.filter(**{f"attributes__{parsed[0]}": parsed[1]})

    def filter_include_bots(self, queryset, name, value):
        return queryset  # applied in filter_queryset (the default leaves bots out)
