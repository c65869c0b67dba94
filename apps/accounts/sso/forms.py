from django import forms

from apps.accounts.models import SsoConnection


class SsoStartForm(forms.Form):
    email = forms.EmailField(label="Work e-mail", widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"}))


class SsoConnectionForm(forms.ModelForm):
    client_secret = forms.CharField(
        required=False, strip=True, max_length=500, widget=forms.PasswordInput(attrs={"autocomplete": "off"}),
        help_text="Kept encrypted. Leave blank to keep the one stored.")

    class Meta:
        model = SsoConnection
        fields = ["issuer", "client_id", "email_domain", "default_role", "require_sso", "is_enabled"]
        labels = {"issuer": "Issuer URL", "client_id": "Client id", "email_domain": "E-mail domain", "is_enabled": "Enabled"}
        help_texts = {"is_enabled": "Off: nobody signs in through the provider (members use their passwords meanwhile)."}
