"""The admin's form for a new kiosk device."""

from django import forms

from apps.touchpoints.models import Touchpoint


class KioskForm(forms.Form):
    name = forms.CharField(max_length=80, help_text="Where the device stands, e.g. “Brussels front desk”.")
    touchpoint = forms.ModelChoiceField(queryset=Touchpoint.objects.none(), to_field_name="uuid", required=False,
                                        empty_label="The survey's touchpoint",
                                        help_text="Answers on this device are attributed to this touchpoint.")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["touchpoint"].queryset = Touchpoint.objects.filter(is_active=True).order_by("name")
