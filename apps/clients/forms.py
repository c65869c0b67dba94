"""Client, contact and segment forms. Related choices come from the tenant-scoped managers, set per
request, and travel as public uuids (`to_field_name="uuid"`)."""

from __future__ import annotations

from django import forms
from django.conf import settings

from apps.clients import selectors
from apps.clients.models import AttributeDefinition, Client, Contact, Segment
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
    risk = forms.ChoiceField(choices=(), required=False, label="Churn risk")
    sort = forms.ChoiceField(choices=SORT_CHOICES, required=False, label="Sort by")
    # The clients behind a churn-page number (selectors.CHURN_SETS): hidden, shown as a notice.
    churn = forms.ChoiceField(choices=[("", ""), *((k, k) for k in selectors.CHURN_SETS)], required=False, widget=forms.HiddenInput)
    period_from = forms.DateField(required=False, widget=forms.HiddenInput)
    period_before = forms.DateField(required=False, widget=forms.HiddenInput)
    value = forms.ChoiceField(choices=[("", ""), ("known", "known"), ("unknown", "unknown")], required=False, widget=forms.HiddenInput)
    milestone = forms.IntegerField(required=False, min_value=1, max_value=120, widget=forms.HiddenInput)
    as_of = forms.DateField(required=False, widget=forms.HiddenInput)
    days = forms.IntegerField(required=False, min_value=0, max_value=100_000, widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["segment"].queryset = Segment.objects.order_by("name")
        self.fields["owner"].queryset = selectors.owner_filter_choices()
        self.fields["risk"].choices = selectors.risk_choices()

    def churn_set(self) -> selectors.ChurnSet | None:
        data = self.cleaned_data
        if not data.get("churn"):
            return None
        return selectors.ChurnSet(which=data["churn"], start=data.get("period_from"), before=data["period_before"],
                                  value=data.get("value") or "", milestone=data.get("milestone"), as_of=data.get("as_of"),
                                  days=data.get("days"))

    def selector_kwargs(self) -> dict:
        """Arguments for `selectors.client_list` (call after is_valid())."""
        data = self.cleaned_data
        return {"search": data.get("q") or None, "segment": data.get("segment"), "tier": data.get("tier") or None,
                "status": data.get("status") or None, "owner": data.get("owner"), "ordering": data.get("sort") or "name",
                "churn": self.churn_set(), "risk": data.get("risk") or None}

    def clean(self):
        data = super().clean()
        if not data.get("churn"):
            if any(data.get(name) not in (None, "") for name in ("period_from", "period_before", "value", "milestone", "as_of", "days")):
                raise forms.ValidationError("These churn figures' clients need the figure they belong to: open them from the churn page.")
            return data
        if not data.get("period_before") or (not data.get("period_from") and data["churn"] not in selectors.CHURN_SETS_BY):
            raise forms.ValidationError("A churn figure's clients need its period: its first day and the day after its last.")
        if data.get("period_from") and data["period_before"] <= data["period_from"]:
            raise forms.ValidationError("The churn period ends before it starts.")
        if bool(data.get("milestone")) != bool(data.get("as_of")) or (data.get("milestone") and data["churn"] != "cohort"):
            raise forms.ValidationError("A cohort's milestone needs its cohort and the day it is observed by.")
        if (data.get("days") is not None) != (data["churn"] in selectors.TENURE_SETS):
            raise forms.ValidationError("A point of the tenure curve needs its number of days, and only it has one.")
        return data


DATE_WIDGET = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class AttributeFieldsMixin:
    """One text field per custom attribute the workspace defines for clients (or contacts): `attr_<key>`."""

    APPLIES_TO = ""

    def add_attribute_fields(self) -> None:
        self.attribute_definitions = list(AttributeDefinition.objects.filter(applies_to=self.APPLIES_TO).order_by("label"))
        current = (self.instance.attributes or {}) if self.instance.pk else {}
        for definition in self.attribute_definitions:
            self.fields[f"attr_{definition.key}"] = forms.CharField(
                label=definition.label, required=False, max_length=200, initial=current.get(definition.key, ""),
                help_text=f"Survey texts may show it as {{{{{self.APPLIES_TO}.{definition.key}}}}}.")

    def attribute_fields(self):
        return [self[f"attr_{d.key}"] for d in self.attribute_definitions]

    def attribute_data(self) -> dict:
        return {d.key: self.cleaned_data.get(f"attr_{d.key}", "") for d in self.attribute_definitions}


class AttributeDefinitionForm(forms.ModelForm):
    class Meta:
        model = AttributeDefinition
        fields = ["applies_to", "label", "key"]
        labels = {"applies_to": "Recorded on"}
        help_texts = {"key": "Lowercase letters and digits, words joined by _: survey texts name it {{client.region}}."}

    def service_data(self) -> dict:
        return {name: self.cleaned_data[name] for name in self.Meta.fields}


class ClientForm(AttributeFieldsMixin, forms.ModelForm):
    """Create or edit a client. The rules themselves live in Client.clean() and the service."""

    APPLIES_TO = "client"

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
        self.add_attribute_fields()

    def service_data(self) -> dict:
        return {**{name: self.cleaned_data[name] for name in self.Meta.fields}, "attributes": self.attribute_data()}


class ContactForm(AttributeFieldsMixin, forms.ModelForm):
    APPLIES_TO = "contact"
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
        self.add_attribute_fields()

    def service_data(self) -> dict:
        return {**{name: self.cleaned_data[name] for name in self.Meta.fields}, "attributes": self.attribute_data()}


class SegmentForm(forms.ModelForm):
    class Meta:
        model = Segment
        fields = ["name", "description"]

    def service_data(self) -> dict:
        return {name: self.cleaned_data[name] for name in self.Meta.fields}
