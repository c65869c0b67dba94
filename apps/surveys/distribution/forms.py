"""Distribution forms: the manual send (segment and/or contacts, with the batch id that makes a
re-post harmless) and the send log's filters. Related choices are tenant-scoped and travel as uuids."""

from __future__ import annotations

import uuid

from django import forms

from apps.clients.models import Contact, Segment
from apps.surveys.distribution.selectors import FUNNEL_STEPS, send_contact_choices
from apps.surveys.models import Invitation, Survey


class ContactChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.name} — {obj.client.name} ({obj.email})"


class SendForm(forms.Form):
    segment = forms.ModelChoiceField(queryset=Segment.objects.none(), required=False, to_field_name="uuid",
                                     empty_label="No segment", help_text="Every contact of the segment's clients.")
    contacts = ContactChoiceField(queryset=Contact.objects.none(), required=False, to_field_name="uuid",
                                  widget=forms.CheckboxSelectMultiple,
                                  help_text="Find them by name, e-mail or client; opted-out contacts and contacts without an "
                                            "e-mail address are not listed.")
    # The contact picker's search (the page's "Find" button; never sent to the service).
    find = forms.CharField(required=False, max_length=100, label="Find contacts",
                           help_text="A name, an e-mail address or a client.", widget=forms.TextInput(attrs={"type": "search"}))
    find_segment = forms.ModelChoiceField(queryset=Segment.objects.none(), required=False, to_field_name="uuid",
                                          empty_label="Any segment", label="In segment")
    when = forms.ChoiceField(choices=[("now", "Now"), ("later", "At a date and time")], initial="now", widget=forms.RadioSelect,
                             label="When", required=False)
    scheduled_for = forms.DateTimeField(required=False, label="Send at", input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
                                        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
                                        help_text="In the workspace's time zone; you can cancel it until then.")
    # A fresh id per rendered form: posting it twice (double click, back + resubmit) sends once.
    batch = forms.UUIDField(widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("initial", {}).setdefault("batch", uuid.uuid4())
        super().__init__(*args, **kwargs)
        self.fields["segment"].queryset = Segment.objects.order_by("name")
        self.fields["find_segment"].queryset = Segment.objects.order_by("name")
        self.fields["contacts"].queryset = send_contact_choices()

    def clean(self):
        data = super().clean()
        if not self.errors and data.get("segment") is None and not data.get("contacts"):
            raise forms.ValidationError("Choose a segment or at least one contact.")
        if data.get("when") == "later" and data.get("scheduled_for") is None and "scheduled_for" not in self.errors:
            self.add_error("scheduled_for", "Give the date and time to send at.")
        if data.get("when") != "later":
            data["scheduled_for"] = None
        return data


class LogFilterForm(forms.Form):
    status = forms.ChoiceField(choices=[("", "All statuses"), *Invitation.Status.choices], required=False)
    skip_reason = forms.ChoiceField(choices=[("", "Any reason"), *Invitation.SkipReason.choices], required=False,
                                    label="Why not sent")
    batch = forms.UUIDField(required=False, widget=forms.HiddenInput)  # one manual send's invitations (its progress page links here)


class InvitationFilterForm(LogFilterForm):
    """Every survey's invitations (the funnel's numbers open here): the days they were made (this workspace's time
    zone, as the funnel counts them), survey, channel and funnel step, with the send log's status and reason."""

    date_from = forms.DateField(required=False, label="Made from", widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(required=False, label="Made until", widget=forms.DateInput(attrs={"type": "date"}))
    survey = forms.ModelChoiceField(queryset=Survey.objects.none(), required=False, to_field_name="uuid", empty_label="Every survey")
    channel = forms.ChoiceField(choices=[("", "Every channel"), *Invitation.Channel.choices], required=False)
    step = forms.ChoiceField(choices=[("", "Any funnel step"), *((k, label) for k, (label, _q) in FUNNEL_STEPS.items())],
                             required=False, label="Funnel step")

    field_order = ("date_from", "date_to", "survey", "channel", "step", "status", "skip_reason")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["survey"].queryset = Survey.objects.order_by("name")

    def clean(self):
        data = super().clean()
        for name in ("date_from", "date_to"):
            if data.get(name) and not 1900 <= data[name].year <= 2999:
                self.add_error(name, "Choose a day between the years 1900 and 2999.")
        if not self.errors and data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            self.add_error("date_to", "The last day is before the first.")
        return data


EMAIL_PART_LABELS = {"subject": "Subject", "intro": "Introduction", "button": "Button label",
                     "reminder_subject": "Reminder subject", "reminder_intro": "Reminder introduction"}


class EmailTextsForm(forms.Form):
    """The invitation e-mail's own words per language (fields `<part>_<lang>`); an empty field keeps the default,
    shown as the placeholder."""

    def __init__(self, *args, languages, defaults: dict, **kwargs):
        super().__init__(*args, **kwargs)
        self.languages = list(languages)
        from apps.surveys.distribution.emails import EMAIL_PARTS, HTML_PARTS

        for lang in self.languages:
            for part, limit in EMAIL_PARTS.items():
                html = part in HTML_PARTS
                widget = forms.Textarea(attrs={"rows": 4, "placeholder": defaults[lang][part]}) if html else \
                    forms.TextInput(attrs={"placeholder": defaults[lang][part]})
                self.fields[f"{part}_{lang}"] = forms.CharField(
                    label=EMAIL_PART_LABELS[part], required=False, max_length=limit, widget=widget,
                    help_text="Basic HTML: <p>, <b>, <i>, <a href>, lists; anything else is removed." if html else "")

    @classmethod
    def initial_for(cls, email_texts: dict, languages) -> dict:
        return {f"{part}_{lang}": value for lang in languages for part, value in ((email_texts or {}).get(lang) or {}).items()}

    def by_language(self):
        from apps.surveys.distribution.emails import EMAIL_PARTS
        from apps.surveys.kinds import LANGUAGE_NAMES

        return [(lang, LANGUAGE_NAMES.get(lang, lang), [self[f"{part}_{lang}"] for part in EMAIL_PARTS]) for lang in self.languages]

    def texts(self) -> dict:
        from apps.surveys.distribution.emails import EMAIL_PARTS

        return {lang: {part: self.cleaned_data[f"{part}_{lang}"] for part in EMAIL_PARTS} for lang in self.languages}
