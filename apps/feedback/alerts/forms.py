"""Configuration forms: alert rules and root causes (admins)."""

from __future__ import annotations

from django import forms
from django.db.models.functions import Lower

from apps.feedback.cases.forms import MemberChoiceField, workers
from apps.feedback.models import AlertRule, RootCause
from apps.surveys.models import Survey
from apps.tenancy.models import Membership, Team
from apps.touchpoints.models import Touchpoint

THRESHOLD_HELP = {
    AlertRule.Trigger.NPS_AT_MOST: "NPS: the highest answer that opens a case, 0–10 (6 = every detractor).",
    AlertRule.Trigger.CSAT_AT_MOST: "CSAT: the highest answer that opens a case, 1–5 (2 = dissatisfied).",
    AlertRule.Trigger.CES_AT_MOST: "CES: the highest answer that opens a case, 1–7 (3 = hard).",
    AlertRule.Trigger.NEGATIVE_COMMENT: "Sentiment: the highest comment score that opens a case, −1 to 1 (e.g. −0.5).",
    AlertRule.Trigger.CHURN_RISK_ABOVE: "Churn risk: the score (0–100) a client's risk must rise to.",
    AlertRule.Trigger.INTERACTION_FOLLOW_UP: "No threshold: every interaction flagged for follow-up opens a case.",
}


class AlertRuleForm(forms.ModelForm):
    """The rule's own rules (threshold per trigger, who receives) live in AlertRule.clean() and the service."""

    touchpoint = forms.ModelChoiceField(queryset=Touchpoint.objects.none(), required=False, to_field_name="uuid",
                                        empty_label="Every touchpoint", label="Only at touchpoint")
    survey = forms.ModelChoiceField(queryset=Survey.objects.none(), required=False, to_field_name="uuid",
                                    empty_label="Every survey", label="Only for survey")
    assignee = MemberChoiceField(queryset=Membership.objects.none(), required=False, to_field_name="uuid", empty_label="Nobody",
                                 help_text=AlertRule._meta.get_field("assignee").help_text)
    team = forms.ModelChoiceField(queryset=Team.objects.none(), required=False, to_field_name="uuid", empty_label="No team",
                                  help_text="The queue for “a team's queue”; otherwise the team the case is filed under.")
    recovery_survey = forms.ModelChoiceField(queryset=Survey.objects.none(), required=False, to_field_name="uuid",
                                             empty_label="No recovery survey",
                                             help_text=AlertRule._meta.get_field("recovery_survey").help_text)

    class Meta:
        model = AlertRule
        fields = ["name", "is_active", "trigger", "threshold", "touchpoint", "survey", "assign_to", "assignee", "team",
                  "sla_hours", "recovery_survey"]
        labels = {"is_active": "Active", "sla_hours": "SLA (hours)", "assign_to": "Assign cases to"}
        help_texts = {"sla_hours": "A case is due this many hours after it opens (1 to 2160); overdue cases escalate to the CX leads.",
                      "threshold": " ".join(THRESHOLD_HELP.values())}
        widgets = {"threshold": forms.NumberInput(attrs={"step": "0.01", "inputmode": "decimal"}),
                   "sla_hours": forms.NumberInput(attrs={"min": "1", "max": "2160"})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        instance = self.instance
        self.fields["touchpoint"].queryset = Touchpoint.objects.order_by(Lower("name"))
        surveys = Survey.objects.order_by(Lower("name"))
        self.fields["survey"].queryset = surveys
        self.fields["recovery_survey"].queryset = surveys
        self.fields["assignee"].queryset = workers(keep=instance.assignee if instance.pk and instance.assignee_id else None)
        self.fields["team"].queryset = Team.objects.order_by("name")
        self.fields["threshold"].required = False
        if instance.pk and not self.is_bound:
            self.initial.update(touchpoint=instance.touchpoint, survey=instance.survey, assignee=instance.assignee,
                                team=instance.team, recovery_survey=instance.recovery_survey,
                                threshold=f"{instance.threshold.normalize():f}" if instance.threshold is not None else None)

    def clean(self):
        data = super().clean()
        trigger = data.get("trigger")
        if trigger == AlertRule.Trigger.INTERACTION_FOLLOW_UP:
            data["threshold"] = 0
        elif trigger and data.get("threshold") is None and "threshold" not in self.errors:
            low, high = AlertRule.THRESHOLD_RANGE[trigger]
            self.add_error("threshold", f"{THRESHOLD_HELP[trigger]} Enter a number from {low} to {high}.")
        return data

    def _post_clean(self):
        # The service runs full_clean() with the error messages placed on the fields; skip the
        # ModelForm's own model validation (it would run clean() before the service's adjustments).
        pass

    def service_data(self) -> dict:
        return {name: self.cleaned_data[name] for name in self.Meta.fields}


class RootCauseForm(forms.ModelForm):
    class Meta:
        model = RootCause
        fields = ["name", "description"]
        help_texts = {"name": "A short name chosen when a case is resolved, e.g. “Slow response”.",
                      "description": "When to choose it (optional)."}

    def _post_clean(self):
        pass

    def service_data(self) -> dict:
        return {name: self.cleaned_data[name] for name in self.Meta.fields}
