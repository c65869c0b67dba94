"""Case forms: the list's filters (GET), a manual case, and the actions on one case. Related choices come
from the tenant-scoped managers and travel as public uuids (`to_field_name="uuid"`): another tenant's
uuid is an unknown choice, a form error."""

from __future__ import annotations

from django import forms
from django.db.models.functions import Lower

from apps.clients.models import Client, Contact
from apps.feedback.cases.selectors import STATUS_CHOICES, CaseFilters
from apps.feedback.models import AlertRule, Case, RootCause
from apps.tenancy.models import STAFF_AND_UP, Membership, Team


class MemberChoiceField(forms.ModelChoiceField):
    """Members shown by name and e-mail (two people may share a name)."""

    def label_from_instance(self, obj):
        user = obj.user
        label = f"{user.full_name} ({user.email})" if user.full_name else user.email
        return label if obj.is_active else f"{label} — left"


def workers(*, keep: Membership | None = None):
    """Who can receive a case: active admins, CX leads and staff (plus `keep`, a current assignee)."""
    from django.db.models import Q

    condition = Q(is_active=True, role__in=STAFF_AND_UP)
    if keep is not None:
        condition |= Q(pk=keep.pk)
    return Membership.objects.filter(condition).select_related("user").order_by(Lower("user__full_name"), "user__email")


class CaseFilterForm(forms.Form):
    """The case list's filters, all in the URL. `filters()` gives the selector's CaseFilters."""

    q = forms.CharField(required=False, max_length=100, label="Search",
                        help_text="Title, description, client or contact.",
                        widget=forms.TextInput(attrs={"type": "search", "autocomplete": "off"}))
    status = forms.ChoiceField(choices=STATUS_CHOICES, required=False, initial="active")
    assignee = MemberChoiceField(queryset=Membership.objects.none(), required=False, to_field_name="uuid", empty_label="Anyone")
    team = forms.ModelChoiceField(queryset=Team.objects.none(), required=False, to_field_name="uuid", empty_label="Any team")
    rule = forms.ModelChoiceField(queryset=AlertRule.objects.none(), required=False, to_field_name="uuid", empty_label="Any rule",
                                  label="Alert rule")
    root_cause = forms.ModelChoiceField(queryset=RootCause.objects.none(), required=False, to_field_name="uuid",
                                        empty_label="Any root cause")
    source = forms.ChoiceField(choices=[("", "Any source"), *Case.Source.choices], required=False)
    client = forms.ModelChoiceField(queryset=Client.objects.none(), required=False, to_field_name="uuid", widget=forms.HiddenInput)
    mine = forms.BooleanField(required=False, label="Only mine")
    overdue = forms.BooleanField(required=False, label="Only overdue")
    unassigned = forms.BooleanField(required=False, label="Only unassigned")
    no_root_cause = forms.BooleanField(required=False, widget=forms.HiddenInput)  # the recovery page's "No root cause" row

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = Membership.objects.select_related("user").order_by(
            "-is_active", Lower("user__full_name"), "user__email")
        self.fields["team"].queryset = Team.objects.order_by("name")
        self.fields["rule"].queryset = AlertRule.objects.order_by("name")
        self.fields["root_cause"].queryset = RootCause.objects.order_by("name")
        self.fields["client"].queryset = Client.objects.all()

    def filters(self) -> CaseFilters:
        d = self.cleaned_data
        return CaseFilters(status=d.get("status") or "active", mine=bool(d.get("mine")), assignee=d.get("assignee"),
                           unassigned=bool(d.get("unassigned")), team=d.get("team"), overdue=bool(d.get("overdue")),
                           rule=d.get("rule"), root_cause=d.get("root_cause"), source=d.get("source") or "",
                           client=d.get("client"), q=(d.get("q") or "").strip(), no_root_cause=bool(d.get("no_root_cause")))


class CaseCreateForm(forms.Form):
    """A case opened by hand for a client (no rule: the SLA is chosen here)."""

    client = forms.ModelChoiceField(queryset=Client.objects.none(), to_field_name="uuid", empty_label="Choose a client")
    contact = forms.ModelChoiceField(queryset=Contact.objects.none(), to_field_name="uuid", required=False, empty_label="No contact",
                                     help_text="The person to follow up with, if any (a contact of this client).")
    title = forms.CharField(max_length=200, help_text="What needs following up, in a line.")
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 4}), help_text="What happened.")
    assignee = MemberChoiceField(queryset=Membership.objects.none(), required=False, to_field_name="uuid",
                                 empty_label="Nobody yet (the team's queue)", label="Assign to")
    team = forms.ModelChoiceField(queryset=Team.objects.none(), required=False, to_field_name="uuid", empty_label="No team")
    sla_hours = forms.IntegerField(min_value=1, max_value=24 * 90, initial=48, label="SLA (hours)",
                                   help_text="The case is due this many hours from now.")

    def __init__(self, *args, client: Client | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["client"].queryset = Client.objects.order_by(Lower("name"), "pk")
        contacts = Contact.objects.select_related("client").order_by(Lower("name"), "pk")
        self.fields["contact"].queryset = contacts.filter(client=client) if client is not None else contacts
        if client is not None and not self.is_bound:
            self.initial["client"] = client
        self.fields["assignee"].queryset = workers()
        self.fields["team"].queryset = Team.objects.order_by("name")

    def clean(self):
        data = super().clean()
        client, contact = data.get("client"), data.get("contact")
        if client is not None and contact is not None and contact.client_id != client.pk:
            self.add_error("contact", "Choose a contact of this client.")
        return data


class NoteForm(forms.Form):
    body = forms.CharField(label="Add a note", max_length=5000, widget=forms.Textarea(attrs={"rows": 3}),
                           help_text="Visible to everyone who can see this case.")


class AssignForm(forms.Form):
    assignee = MemberChoiceField(queryset=Membership.objects.none(), required=False, to_field_name="uuid",
                                 empty_label="Nobody (the team's queue)", label="Assignee")
    team = forms.ModelChoiceField(queryset=Team.objects.none(), required=False, to_field_name="uuid", empty_label="No team")

    def __init__(self, *args, case: Case | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = workers(keep=case.assignee if case is not None and case.assignee_id else None)
        self.fields["team"].queryset = Team.objects.order_by("name")
        if case is not None and not self.is_bound:
            self.initial.update(assignee=case.assignee, team=case.team)


class ResolveForm(forms.Form):
    """Resolving requires a root cause of the tenant's taxonomy (an active one) and the action taken."""

    root_cause = forms.ModelChoiceField(queryset=RootCause.objects.none(), to_field_name="uuid", empty_label="Choose a root cause",
                                        error_messages={"required": "Choose the root cause: a case is resolved only with one.",
                                                        "invalid_choice": "Choose one of the active root causes."})
    action_taken = forms.CharField(label="Action taken", max_length=5000, widget=forms.Textarea(attrs={"rows": 3}),
                                   error_messages={"required": "Say what was done: a case is resolved only with its action."})
    send_recovery_survey = forms.BooleanField(required=False, label="Send the recovery survey")

    def __init__(self, *args, recovery_possible: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["root_cause"].queryset = RootCause.objects.filter(is_active=True).order_by("name")
        if not recovery_possible:
            del self.fields["send_recovery_survey"]
        elif not self.is_bound:
            self.initial["send_recovery_survey"] = True

    def clean_action_taken(self):
        value = self.cleaned_data["action_taken"].strip()
        if not value:
            raise forms.ValidationError("Say what was done: a case is resolved only with its action.")
        return value


class WontFixForm(forms.Form):
    reason = forms.CharField(label="Why it will not be fixed", max_length=2000, widget=forms.Textarea(attrs={"rows": 2}),
                             error_messages={"required": "Give the reason: it goes into the case's thread."})
