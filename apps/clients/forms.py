"""Client, contact and segment forms. Related choices come from the tenant-scoped managers, set per
request, and travel as public uuids (`to_field_name="uuid"`)."""

from __future__ import annotations

from django import forms
from django.conf import settings

from apps.clients import selectors
from apps.clients.models import Client, Contact, Segment
from apps.tenancy.models import Membership

SORT_CHOICES = [
    ("name", "Name (A–Z)"),
    ("-name", "Name (Z–A)"),
    ("-annual_value", "Annual value (highest first)"),
    ("annual_value", "Annual value (lowest first)"),
    ("-active_from", "Active since (newest first)"),
    ("active_from", "Active since (oldest first)"),
]


class MemberChoiceField(forms.ModelChoiceField):
    """Members shown by name and e-mail (two people may share a name)."""

    def label_from_instance(self, obj):
        user = obj.user
        label = f"{user.full_name} ({user.email})" if user.full_name else user.email
        return label if obj.is_active else f"{label} — left"


class ClientFilterForm(forms.Form):
    """The client list's filters (GET). An unknown uuid, or another tenant's, is a form error.

    Also used by the client export: `selector_kwargs()` are the arguments of `selectors.client_list`.
    """

    q = forms.CharField(required=False, max_length=100, label="Search",
                        help_text="Client name, contact name or e-mail.",
                        widget=forms.TextInput(attrs={"type": "search", "autocomplete": "off"}))
    segment = forms.ModelChoiceField(queryset=Segment.objects.none(), required=False, to_field_name="uuid", empty_label="All segments")
    tier = forms.ChoiceField(choices=[("", "All tiers"), *Client.Tier.choices], required=False)
    status = forms.ChoiceField(choices=[("", "All statuses"), *Client.Status.choices], required=False)
    owner = MemberChoiceField(queryset=Membership.objects.none(), required=False, to_field_name="uuid", empty_label="Anyone")
    sort = forms.ChoiceField(choices=SORT_CHOICES, required=False, label="Sort by")
    # The clients a churn period lost (the churn page's "Lost" opens them): hidden, shown as a notice.
    lost_from = forms.DateField(required=False, widget=forms.HiddenInput)
    lost_before = forms.DateField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["segment"].queryset = Segment.objects.order_by("name")
        self.fields["owner"].queryset = selectors.owner_filter_choices()

    def selector_kwargs(self) -> dict:
        """Arguments for `selectors.client_list` (call after is_valid())."""
        data = self.cleaned_data
        return {"search": data.get("q") or None, "segment": data.get("segment"), "tier": data.get("tier") or None,
                "status": data.get("status") or None, "owner": data.get("owner"), "ordering": data.get("sort") or "name",
                "lost_from": data.get("lost_from"), "lost_before": data.get("lost_before")}

    def clean(self):
        data = super().clean()
        if bool(data.get("lost_from")) != bool(data.get("lost_before")):
            raise forms.ValidationError("A churn period needs both its first day and the day after its last.")
        if data.get("lost_from") and data.get("lost_before") and data["lost_before"] <= data["lost_from"]:
            raise forms.ValidationError("The churn period ends before it starts.")
        return data


DATE_WIDGET = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class ClientForm(forms.ModelForm):
    """Create or edit a client. The rules themselves live in Client.clean() and the service."""

    segment = forms.ModelChoiceField(queryset=Segment.objects.none(), required=False, to_field_name="uuid", empty_label="No segment")
    owner = MemberChoiceField(queryset=Membership.objects.none(), required=False, to_field_name="uuid", empty_label="Nobody yet",
                              help_text="The staff member who owns the relationship.")

    class Meta:
        model = Client
        fields = ["name", "segment", "industry", "tier", "owner", "annual_value", "active_from", "status", "churned_on"]
        labels = {"annual_value": "Annual value", "active_from": "Active since", "churned_on": "Churned on"}
        help_texts = {
            "annual_value": "What the account is worth per year, in your currency. Leave empty if unknown.",
            "churned_on": "Only for churned clients: the day the relationship ended.",
        }
        widgets = {
            "active_from": DATE_WIDGET,
            "churned_on": DATE_WIDGET,
            "annual_value": forms.NumberInput(attrs={"min": "0", "step": "0.01", "inputmode": "decimal"}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["segment"].queryset = Segment.objects.order_by("name")
        current_owner = self.instance.owner if self.instance.pk and self.instance.owner_id else None
        self.fields["owner"].queryset = selectors.owner_choices(keep=current_owner)
        if self.instance.pk and not self.is_bound:
            # model_to_dict() gives integer pks; these fields choose by uuid, so start from the objects.
            self.initial.update(segment=self.instance.segment, owner=current_owner)

    def service_data(self) -> dict:
        return {name: self.cleaned_data[name] for name in self.Meta.fields}


class ContactForm(forms.ModelForm):
    locale = forms.ChoiceField(choices=settings.LANGUAGES, initial="en", label="Language",
                               help_text="Surveys and messages go out in this language.")

    class Meta:
        model = Contact
        fields = ["name", "email", "phone", "role", "locale", "opted_out"]
        labels = {"email": "E-mail", "opted_out": "Opted out"}
        widgets = {"email": forms.EmailInput(attrs={"autocomplete": "off"}),
                   "phone": forms.TextInput(attrs={"type": "tel", "autocomplete": "off"})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        locale = self.instance.locale if self.instance.pk else None
        if locale and locale not in dict(settings.LANGUAGES):
            self.fields["locale"].choices = [*settings.LANGUAGES, (locale, locale)]

    def service_data(self) -> dict:
        return {name: self.cleaned_data[name] for name in self.Meta.fields}


class SegmentForm(forms.ModelForm):
    class Meta:
        model = Segment
        fields = ["name", "description"]

    def service_data(self) -> dict:
        return {name: self.cleaned_data[name] for name in self.Meta.fields}
