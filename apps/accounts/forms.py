from allauth.account.forms import LoginForm
from django import forms
from django.contrib.auth import password_validation
from django.contrib.auth.forms import PasswordResetForm

from apps.accounts.models import normalize_email
from apps.tenancy.forms import TeamChoiceMixin
from apps.tenancy.models import Role, Team
from apps.tenancy.selectors import memberships_of_user_including_cross_tenant


class EmailLoginForm(LoginForm):
    """allauth's sign-in form, labelled for people, the e-mail compared as every login path compares it."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["login"].label = "E-mail"
        self.fields["login"].widget.attrs.update({"autofocus": True, "autocomplete": "email"})
        self.fields["login"].widget.attrs.pop("placeholder", None)
        self.fields["password"].help_text = ""
        self.fields["password"].widget.attrs.pop("placeholder", None)

    def clean(self):
        cleaned = super().clean()
        if self.user is not None:
            requiring = [m.tenant.name for m in memberships_of_user_including_cross_tenant(user=self.user) if m.tenant.require_sso]
            if requiring:
                raise forms.ValidationError(f"{', '.join(requiring)} signs you in through single sign-on: use “Sign in with "
                                            "single sign-on” below.", code="sso_required")
        return cleaned

    def clean_login(self):
        # django-axes counts failures per account as authenticate() receives it: one spelling per
        # account, or changing the case of the address would buy five more attempts each time.
        return normalize_email(super().clean_login())


class EmailPasswordResetForm(PasswordResetForm):
    email = forms.EmailField(label="E-mail", max_length=254, widget=forms.EmailInput(attrs={"autocomplete": "email"}))


class InvitationAcceptForm(forms.Form):
    """For someone who has no account yet: name and a password."""

    full_name = forms.CharField(max_length=150, label="Your name", widget=forms.TextInput(attrs={"autocomplete": "name"}))
    password1 = forms.CharField(label="Password", strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
                                help_text=password_validation.password_validators_help_text_html())
    password2 = forms.CharField(label="Password again", strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))

    def clean(self):
        data = super().clean()
        if data.get("password1") and data.get("password1") != data.get("password2"):
            self.add_error("password2", "The two passwords differ.")
        return data


class InviteForm(TeamChoiceMixin, forms.Form):
    email = forms.EmailField(widget=forms.EmailInput(attrs={"autocomplete": "off"}))
    role = forms.ChoiceField(choices=Role.choices, initial=Role.STAFF)
    team = forms.ModelChoiceField(queryset=Team.objects.none(), required=False, to_field_name="uuid")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._scope_team_field()
