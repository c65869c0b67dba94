"""Forms of the front-line pages: logging an interaction, and the log page's query string."""

from __future__ import annotations

import uuid
from datetime import timedelta

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone

from apps.clients.models import Client
from apps.touchpoints.interactions.selectors import contact_choices, touchpoint_choices, touchpoint_remembered
from apps.touchpoints.models import Channel, Interaction

UNKNOWN_CLIENT = "No such client in this workspace: search for the client again."
# A clock a little ahead of the server's is not "the future".
CLOCK_SKEW = timedelta(minutes=5)
SCORE_QUESTION = "What would this client answer today if asked how likely they are to recommend us?"


def tiles():
    """Radio buttons drawn as tiles (interactions.css): quick with arrow keys, large enough to tap."""
    return forms.RadioSelect(attrs={"class": "tile-input"})


class LogQueryForm(forms.Form):
    """The log page's query string: `?client=<uuid>` pre-fills the client (e.g. from a client's
    page); `?q=` is the search step used when JavaScript is off."""

    client = forms.ModelChoiceField(queryset=Client.objects.none(), required=False, to_field_name="uuid",
                                    error_messages={"invalid_choice": UNKNOWN_CLIENT})
    q = forms.CharField(required=False, max_length=100, strip=True)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["client"].queryset = Client.objects.all()


class ClientSearchForm(forms.Form):
    q = forms.CharField(required=False, max_length=100, strip=True)


def log_form_initial(*, staff, client: Client | None = None) -> dict:
    """A fresh log form's initial values: the client (if known), the staff member's last touchpoint, and a
    new idempotency key per rendered form (posting it twice — double click, back + resubmit — logs once)."""
    return {"client": client, "touchpoint": touchpoint_remembered(staff=staff), "idempotency_key": str(uuid.uuid4())}


class InteractionLogForm(forms.Form):
    """Fields in the order staff think of them. Related rows are chosen by public uuid through
    tenant-scoped querysets; the contact must be one of the chosen client's."""

    client = forms.ModelChoiceField(
        queryset=Client.objects.none(), to_field_name="uuid", widget=forms.HiddenInput,
        error_messages={"required": "Choose a client: type part of their name and pick one.", "invalid_choice": UNKNOWN_CLIENT},
    )
    contact = forms.ModelChoiceField(
        queryset=Client.objects.none(), to_field_name="uuid", required=False, label="Contact", empty_label="No one in particular",
        error_messages={"invalid_choice": "Choose one of this client's contacts."},
    )
    touchpoint = forms.ModelChoiceField(
        queryset=Client.objects.none(), to_field_name="uuid", empty_label=None,
        error_messages={"invalid_choice": "No such active touchpoint in this workspace.", "required": "Choose a touchpoint."},
    )
    outcome = forms.ChoiceField(choices=Interaction.Outcome.choices, widget=tiles(), initial=Interaction.Outcome.RESOLVED)
    summary = forms.CharField(
        max_length=280, label="One-line summary",
        widget=forms.TextInput(attrs={"autocomplete": "off", "enterkeyhint": "send", "spellcheck": "true"}),
        help_text="At most 280 characters. Enter saves.",
    )
    staff_sentiment = forms.TypedChoiceField(
        choices=[("", "Not rated"), *[(value, label) for value, label in reversed(Interaction.Sentiment.choices)]],
        coerce=int, empty_value=None, required=False, widget=tiles(), initial="", label="How did the client feel?",
    )
    predicted_score = forms.TypedChoiceField(
        choices=[("", "Skip"), *[(n, str(n)) for n in range(11)]], coerce=int, empty_value=None, required=False,
        widget=tiles(), initial="", label=SCORE_QUESTION,
        help_text="0 = not at all likely, 10 = extremely likely. Optional.",
    )
    follow_up = forms.BooleanField(required=False, label="I need to follow up")
    follow_up_due = forms.DateField(required=False, label="Follow-up due", widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    occurred_at = forms.DateTimeField(
        required=False, label="When", help_text="Leave empty for now; set it for a call earlier today or before.",
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    channel = forms.ChoiceField(choices=[("", "The touchpoint's channel"), *Channel.choices], required=False)
    idempotency_key = forms.CharField(required=False, max_length=64, widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Querysets per request, never at import: the default managers are tenant-scoped.
        self.fields["client"].queryset = Client.objects.all()
        self.fields["touchpoint"].queryset = touchpoint_choices()
        self.chosen_client = self._chosen_client()
        self.fields["contact"].queryset = contact_choices(client=self.chosen_client)
        if self.chosen_client is None:
            self.fields["contact"].widget.attrs["disabled"] = True
            self.fields["contact"].empty_label = "Choose a client first"

    def _chosen_client(self) -> Client | None:
        if not self.is_bound:
            return self.initial.get("client")
        try:
            return self.fields["client"].clean(self.data.get("client"))
        except ValidationError:
            return None

    def clean_occurred_at(self):
        value = self.cleaned_data.get("occurred_at")
        if value is not None and value > timezone.now() + CLOCK_SKEW:
            raise ValidationError("That time is in the future: log an interaction once it has happened.")
        return value

    def clean(self):
        data = super().clean()
        if data.get("follow_up"):
            if not data.get("follow_up_due") and "follow_up_due" not in self.errors:
                self.add_error("follow_up_due", "Give the follow-up a due date.")
        else:
            data["follow_up_due"] = None  # a date left behind by an unticked box means nothing
        return data
