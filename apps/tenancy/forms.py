import zoneinfo

from django import forms

from apps.tenancy.models import Role, Team, Tenant
from apps.tenancy.services import TENANT_SETTINGS_FIELDS

TIME_ZONE_CHOICES = [(tz, tz.replace("_", " ")) for tz in sorted(zoneinfo.available_timezones()) if "/" in tz or tz == "UTC"]


class TenantSettingsForm(forms.ModelForm):
    time_zone = forms.ChoiceField(choices=TIME_ZONE_CHOICES, help_text="Days and periods on dashboards are cut in this zone.")

    class Meta:
        model = Tenant
        fields = TENANT_SETTINGS_FIELDS
        labels = {"min_n_nps": "Minimum n for NPS", "min_n_other": "Minimum n for CSAT, CES, smiley",
                  "survey_fatigue_days": "Survey fatigue (days)", "sender_email": "Sender e-mail"}


class TeamChoiceMixin:
    def _scope_team_field(self):
        # Querysets are set per request, never at import: the default manager is tenant-scoped.
        self.fields["team"].queryset = Team.objects.order_by("name")


class MemberForm(TeamChoiceMixin, forms.Form):
    role = forms.ChoiceField(choices=Role.choices)
    team = forms.ModelChoiceField(queryset=Team.objects.none(), required=False, to_field_name="uuid")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._scope_team_field()


class TeamForm(forms.Form):
    name = forms.CharField(max_length=80)
    description = forms.CharField(max_length=240, required=False)


class ApiKeyForm(forms.Form):
    name = forms.CharField(max_length=80, help_text="What uses this key, e.g. “CRM sync”.")
    role = forms.ChoiceField(choices=Role.choices, initial=Role.VIEWER, help_text="The key acts with this role.")


class AuditFilterForm(forms.Form):
    action = forms.ChoiceField(required=False)
    actor = forms.CharField(required=False, label="Actor contains")

    def __init__(self, *args, actions=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["action"].choices = [("", "All actions"), *[(a, a) for a in actions]]
