from django import forms

from apps.integrations.models import EVENT_TYPES, WebhookEndpoint

URL_HELP = ("An https:// address on the public internet. Private, loopback and link-local addresses are refused. "
            "For Slack, paste the incoming-webhook URL (https://hooks.slack.com/services/…).")
EVENTS_HELP = "The events this endpoint receives. Slack endpoints receive detractor alerts (NPS 0–6, CSAT 1–2) instead."


class EndpointForm(forms.Form):
    url = forms.URLField(label="Endpoint URL", max_length=500, assume_scheme="https", help_text=URL_HELP,
                         widget=forms.URLInput(attrs={"autocomplete": "url", "spellcheck": "false"}))
    kind = forms.ChoiceField(label="Kind", choices=WebhookEndpoint.Kind.choices, initial=WebhookEndpoint.Kind.STANDARD,
                             widget=forms.RadioSelect)
    events = forms.MultipleChoiceField(label="Events", choices=EVENT_TYPES, required=False, help_text=EVENTS_HELP,
                                       widget=forms.CheckboxSelectMultiple)
    description = forms.CharField(label="Description", max_length=200, required=False,
                                  help_text="What receives these events, for whoever reads this list later.")

    def __init__(self, *args, endpoint: WebhookEndpoint | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        if endpoint is not None:  # editing: the kind stays what it is
            del self.fields["kind"]
            if endpoint.kind == WebhookEndpoint.Kind.SLACK:
                del self.fields["events"]

    def clean(self):
        data = super().clean()
        if data.get("kind", WebhookEndpoint.Kind.STANDARD) == WebhookEndpoint.Kind.STANDARD and "events" in self.fields \
                and not data.get("events") and "events" not in self.errors:
            self.add_error("events", "Choose at least one event.")
        return data
