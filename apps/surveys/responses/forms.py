"""Forms of the response pages: the list's filters (also the export's), adding and removing a tag.
Related choices come from the tenant-scoped managers and travel as public uuids: an unknown or
another tenant's uuid is a form error (the page answers 400 and shows it)."""

from __future__ import annotations

import uuid

from django import forms
from django.conf import settings
from django.forms.models import ModelChoiceIterator

from apps.clients.forms import MemberChoiceField
from apps.clients.models import Client, Segment
from apps.journeys.models import Journey, Stage
from apps.surveys.attributes import attribute_keys
from apps.surveys.models import Response, Survey, Tag, Theme
from apps.surveys.responses.search import MAX_QUERY
from apps.surveys.responses.selectors import ANSWERED, NOT_ATTRIBUTED, SCORE_BAND_GROUPS, SCORE_BANDS, SENTIMENT_BANDS, tag_list
from apps.tenancy.models import Membership
from apps.touchpoints.models import Touchpoint

DATE_WIDGET = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
UNKNOWN = "Not found in this workspace: choose from the list."


class _WithNotAttributed(ModelChoiceIterator):
    def __iter__(self):
        choices = super().__iter__()
        yield next(choices)  # the empty label ("All …")
        yield (NOT_ATTRIBUTED, "Not attributed")
        yield from choices

    def __len__(self):
        return super().__len__() + 1


class OrNotAttributed:
    """A ModelChoiceField that also takes "none": the responses without that attribution, which a dashboard's
    "Not attributed" row counts (the selector filters on the column being empty)."""

    iterator = _WithNotAttributed

    def to_python(self, value):
        return NOT_ATTRIBUTED if value == NOT_ATTRIBUTED else super().to_python(value)

    def validate(self, value):
        if value != NOT_ATTRIBUTED:
            super().validate(value)


class ChoiceOrNotAttributed(OrNotAttributed, forms.ModelChoiceField):
    pass


class StageChoiceField(OrNotAttributed, forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.journey.name} › {obj.name}"


class MemberOrNotAttributed(OrNotAttributed, MemberChoiceField):
    pass


class ResponseFilterForm(forms.Form):
    q = forms.CharField(required=False, label="Search comments", max_length=MAX_QUERY,
                        help_text='Words match any form ("bill" finds "billing"); "quoted phrase", or, -word.',
                        widget=forms.TextInput(attrs={"type": "search", "autocomplete": "off"}))
    survey = forms.ModelChoiceField(queryset=Survey.objects.none(), required=False, to_field_name="uuid", empty_label="All surveys",
                                    error_messages={"invalid_choice": UNKNOWN})
    touchpoint = ChoiceOrNotAttributed(queryset=Touchpoint.objects.none(), required=False, to_field_name="uuid",
                                       empty_label="All touchpoints", error_messages={"invalid_choice": UNKNOWN})
    stage = StageChoiceField(queryset=Stage.objects.none(), required=False, to_field_name="uuid", empty_label="All stages",
                             label="Journey stage", error_messages={"invalid_choice": UNKNOWN})
    journey = ChoiceOrNotAttributed(queryset=Journey.objects.none(), required=False, to_field_name="uuid", empty_label="All journeys",
                                    error_messages={"invalid_choice": UNKNOWN})
    # One client's responses (Client 360's monthly counts open the list with it): a hidden field, shown as a notice.
    client = forms.ModelChoiceField(queryset=Client.objects.none(), required=False, to_field_name="uuid", widget=forms.HiddenInput,
                                    error_messages={"invalid_choice": UNKNOWN})
    segment = ChoiceOrNotAttributed(queryset=Segment.objects.none(), required=False, to_field_name="uuid", empty_label="All segments",
                                    label="Client segment", error_messages={"invalid_choice": UNKNOWN})
    staff = MemberOrNotAttributed(queryset=Membership.objects.none(), required=False, to_field_name="uuid", empty_label="Anyone",
                                  label="Staff member", help_text="Who had the interaction that asked for the response.",
                                  error_messages={"invalid_choice": UNKNOWN})
    band = forms.ChoiceField(required=False, label="Score band",
                             choices=[("", "Any score"), *[(group, [(k, SCORE_BANDS[k][0]) for k in keys]) for group, keys in SCORE_BAND_GROUPS]])
    answered = forms.ChoiceField(required=False, label="Answered", choices=[("", "Any question"), *ANSWERED.items()],
                                 help_text="Only responses with an answer to this score (what its n counts).")
    date_from = forms.DateField(required=False, label="From", widget=DATE_WIDGET, help_text="Submitted on or after (your workspace's time zone).")
    date_to = forms.DateField(required=False, label="To", widget=DATE_WIDGET, help_text="Submitted on or before.")
    language = forms.ChoiceField(required=False, choices=[("", "Any language"), *settings.LANGUAGES], label="Survey language",
                                 help_text="The language the survey was answered in.")
    theme = ChoiceOrNotAttributed(queryset=Theme.objects.none(), required=False, to_field_name="uuid", empty_label="Any theme",
                                  label="Comment theme", error_messages={"invalid_choice": UNKNOWN},
                                  help_text="“Not attributed”: comments no theme covers.")
    sentiment = forms.ChoiceField(required=False, label="Comment sentiment",
                                  choices=[("", "Any sentiment"), *[(k, label) for k, (label, _) in SENTIMENT_BANDS.items()]],
                                  help_text="As scored in the comment's own language (−1 … 1; neutral between −0.05 and 0.05).")
    comment_language = forms.ChoiceField(required=False, label="Comment language", choices=[("", "Any language"), *settings.LANGUAGES],
                                         help_text="The language the comment is written in (detected).")
    has_comment = forms.ChoiceField(required=False, label="Comment", choices=[("", "With or without"), ("yes", "With a comment"),
                                                                             ("no", "Without a comment")])
    tag = forms.ModelChoiceField(queryset=Tag.objects.none(), required=False, to_field_name="uuid", empty_label="Any tag",
                                 error_messages={"invalid_choice": UNKNOWN})
    channel = forms.ChoiceField(required=False, choices=[("", "Any channel"), *Response.Channel.choices])
    attribute = forms.ChoiceField(required=False, label="Hidden field", choices=[("", "Any")],
                                  help_text="An attribute of the client or contact, as the invitation carried it.")
    attribute_value = forms.CharField(required=False, max_length=200, label="Hidden field is", help_text="Its value, e.g. Gold.")
    # The responses that end a move of the journey from this stage ("none": from no stage, "any": from any) — what
    # a volatility number counts (the journey view opens them): hidden, shown as a notice.
    transition_from = forms.CharField(required=False, max_length=40, widget=forms.HiddenInput)
    show_bots = forms.BooleanField(required=False, label="Show bot-flagged responses",
                                   help_text="They are kept apart and never counted in scores.")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["survey"].queryset = Survey.objects.order_by("name")
        self.fields["touchpoint"].queryset = Touchpoint.objects.order_by("name")
        self.fields["stage"].queryset = Stage.objects.select_related("journey").order_by("journey__name", "order")
        self.fields["journey"].queryset = Journey.objects.order_by("name")
        self.fields["segment"].queryset = Segment.objects.order_by("name")
        self.fields["client"].queryset = Client.objects.all()
        self.fields["staff"].queryset = Membership.objects.select_related("user").order_by("-is_active", "user__full_name", "user__email")
        self.fields["tag"].queryset = tag_list()
        self.fields["theme"].queryset = Theme.objects.order_by("-is_active", "name")
        self.fields["attribute"].choices = [("", "Any"), *attribute_keys()]

    def clean(self):
        data = super().clean()
        if data.get("date_from") and data.get("date_to") and data["date_to"] < data["date_from"]:
            self.add_error("date_to", "The end date is before the start date.")
        if bool(data.get("attribute")) != bool((data.get("attribute_value") or "").strip()):
            self.add_error("attribute_value" if data.get("attribute") else "attribute", "Choose the hidden field and give its value.")
        data["transition"] = self._transition(data)
        return data

    def _transition(self, data) -> tuple | None:
        """(journey, the stage its moves start from: a Stage, NOT_ATTRIBUTED, or None for any) or None."""
        raw = (data.get("transition_from") or "").strip()
        if not raw:
            return None
        journey = data.get("journey")
        if journey is None or journey == NOT_ATTRIBUTED:
            self.add_error("transition_from", "A journey's moves between stages need that journey: open them from the journey view.")
            return None
        if raw in ("any", NOT_ATTRIBUTED):
            return journey, None if raw == "any" else NOT_ATTRIBUTED
        stage = Stage.objects.filter(uuid=raw if _is_uuid(raw) else None, journey=journey).first()
        if stage is None:
            self.add_error("transition_from", UNKNOWN)
            return None
        return journey, stage

    def selector_kwargs(self) -> dict:
        """Arguments of `selectors.responses.response_list` (call after is_valid())."""
        data = self.cleaned_data
        has_comment = {"yes": True, "no": False}.get(data.get("has_comment") or "")
        return {"survey": data.get("survey"), "touchpoint": data.get("touchpoint"), "stage": data.get("stage"),
                "journey": data.get("journey"), "segment": data.get("segment"), "staff": data.get("staff"), "search": data.get("q") or "",
                "band": data.get("band") or None, "date_from": data.get("date_from"), "date_to": data.get("date_to"),
                "language": data.get("language") or None, "has_comment": has_comment, "tag": data.get("tag"),
                "channel": data.get("channel") or None, "include_bots": bool(data.get("show_bots")),
                "answered": data.get("answered") or None, "sentiment": data.get("sentiment") or None,
                "comment_language": data.get("comment_language") or None, "theme": data.get("theme"), "client": data.get("client"),
                "transition": data.get("transition"),
                "attribute": (data["attribute"], data["attribute_value"].strip()) if data.get("attribute") and data.get("attribute_value") else None}


class TagAddForm(forms.Form):
    name = forms.CharField(max_length=Tag._meta.get_field("name").max_length, label="Add a tag",
                           help_text="An existing tag or a new one (same name in any case is the same tag).",
                           widget=forms.TextInput(attrs={"autocomplete": "off", "list": "tag-suggestions"}))


class TagRemoveForm(forms.Form):
    tag = forms.ModelChoiceField(queryset=Tag.objects.none(), to_field_name="uuid", error_messages={"invalid_choice": UNKNOWN})

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["tag"].queryset = Tag.objects.all()


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True
