"""Action plan forms: create/edit (the owner among active members), link and unlink cases, the list filter."""

from __future__ import annotations

from django import forms

from apps.clients.models import Segment
from apps.feedback.models import ActionPlan, ActionPlanCase, Case
from apps.feedback.plans import selectors
from apps.journeys.models import Journey, Stage
from apps.surveys.models import Survey
from apps.tenancy.models import Membership
from apps.touchpoints.models import Touchpoint

LINKABLE_CASES = 200


def _members():
    return Membership.objects.filter(is_active=True).select_related("user").order_by("user__full_name", "user__email")


class PlanEditForm(forms.Form):
    title = forms.CharField(max_length=160, help_text="What the plan sets out to do, e.g. “Faster first answer on the help line”.")
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}), help_text="The actions planned.")
    target_value = forms.FloatField(label="Target", help_text="The value to reach by the due date: NPS −100 to 100, CSAT % 0 to 100, "
                                                                "CES 1 to 7 (higher is better for all three).")
    due_on = forms.DateField(label="Due date", widget=forms.DateInput(attrs={"type": "date"}))
    owner = forms.ModelChoiceField(queryset=Membership.objects.none(), required=False, to_field_name="uuid", empty_label="No owner",
                                   help_text="Who answers for the plan.")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = _members()
        self.fields["owner"].label_from_instance = lambda m: m.user.full_name or m.user.email


class PlanCreateForm(PlanEditForm):
    BASELINE_CHOICES = [(str(d), f"The {d} days before today") for d in selectors.BASELINE_WINDOWS]

    metric = forms.ChoiceField(choices=ActionPlan.Metric.choices, help_text="The metric the target is set on.")
    touchpoint = forms.ModelChoiceField(queryset=Touchpoint.objects.none(), required=False, to_field_name="uuid", empty_label="Any touchpoint")
    stage = forms.ModelChoiceField(queryset=Stage.objects.none(), required=False, to_field_name="uuid", empty_label="Any journey stage",
                                   label="Journey stage")
    journey = forms.ModelChoiceField(queryset=Journey.objects.none(), required=False, to_field_name="uuid", empty_label="Any journey")
    segment = forms.ModelChoiceField(queryset=Segment.objects.none(), required=False, to_field_name="uuid", empty_label="All clients")
    survey = forms.ModelChoiceField(queryset=Survey.objects.none(), required=False, to_field_name="uuid", empty_label="Any survey")
    baseline_days = forms.TypedChoiceField(choices=BASELINE_CHOICES, coerce=int, initial=str(selectors.DEFAULT_BASELINE_DAYS),
                                           label="Baseline window",
                                           help_text="The baseline is measured over this window when the plan is saved, and never changes.")

    field_order = ["title", "description", "metric", "touchpoint", "stage", "journey", "segment", "survey", "baseline_days",
                   "target_value", "due_on", "owner"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["touchpoint"].queryset = Touchpoint.objects.filter(is_active=True).order_by("name")
        self.fields["stage"].queryset = Stage.objects.select_related("journey").order_by("journey__name", "order")
        self.fields["stage"].label_from_instance = lambda s: f"{s.journey.name} · {s.order}. {s.name}"
        self.fields["journey"].queryset = Journey.objects.order_by("name")
        self.fields["segment"].queryset = Segment.objects.order_by("name")
        self.fields["survey"].queryset = Survey.objects.order_by("name")
        self.order_fields(self.field_order)

    def scope(self) -> dict:
        return {name: self.cleaned_data.get(name) for name in selectors.SCOPES}


class LinkCaseForm(forms.Form):
    case = forms.ModelChoiceField(queryset=Case.objects.none(), to_field_name="uuid", empty_label="Choose a case…",
                                  label="Case to link")

    def __init__(self, *args, plan=None, **kwargs):
        super().__init__(*args, **kwargs)
        linked = ActionPlanCase.objects.filter(plan=plan).values("case_id") if plan is not None else []
        queryset = Case.objects.order_by("-opened_at", "-id")
        if plan is not None:
            queryset = queryset.exclude(pk__in=linked)
        self.fields["case"].queryset = queryset
        self.fields["case"].label_from_instance = lambda c: f"{c.title} ({c.get_status_display().lower()}, {c.opened_at:%Y-%m-%d})"

    def choices_limited(self):
        """The select lists the most recent cases only (one query, bounded)."""
        field = self.fields["case"]
        field.widget.choices = [("", field.empty_label), *[(str(c.uuid), field.label_from_instance(c))
                                                          for c in field.queryset[:LINKABLE_CASES]]]
        return self


class UnlinkCaseForm(forms.Form):
    case = forms.ModelChoiceField(queryset=Case.objects.none(), to_field_name="uuid")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["case"].queryset = Case.objects.all()


class ListFilterForm(forms.Form):
    status = forms.ChoiceField(choices=[("", "Any status"), *ActionPlan.Status.choices], required=False)
    metric = forms.ChoiceField(choices=[("", "Any metric"), *ActionPlan.Metric.choices], required=False)
