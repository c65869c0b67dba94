from django import forms

from apps.tenancy.models import Team
from apps.touchpoints.models import Channel


class TouchpointForm(forms.Form):
    name = forms.CharField(max_length=120)
    channel = forms.ChoiceField(choices=Channel.choices)
    team = forms.ModelChoiceField(queryset=Team.objects.none(), required=False, to_field_name="uuid", empty_label="No team",
                                  help_text="The team that owns this touchpoint.")
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))
    is_key = forms.BooleanField(required=False, label="Key touchpoint",
                                help_text="One that shapes the whole relationship.")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Per request, never at import: the default manager is tenant-scoped.
        self.fields["team"].queryset = Team.objects.order_by("name")
