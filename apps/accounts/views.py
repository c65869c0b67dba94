"""Sign in/out, password reset, the tenant switcher, accepting an invitation, the account's sessions."""

from allauth.account import views as allauth_views
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse_lazy
from django.views.decorators.http import require_POST

from apps.accounts import limits
from apps.accounts.forms import EmailPasswordResetForm, InvitationAcceptForm
from apps.accounts.models import UserSession
from apps.accounts.services import (
    InvitationUnusable,
    invitation_accept,
    invitation_get_by_token_including_cross_tenant,
    password_reset_request,
)
from apps.accounts.sessions import device_label, key_hash, session_end, sessions_active, sessions_end_others
from apps.core.forms import add_service_errors
from apps.core.ratelimit import client_ip
from apps.tenancy.selectors import memberships_of_user_including_cross_tenant


class LoginView(allauth_views.LoginView):
    """allauth's sign-in (templates/account/login.html): password, then the second factor, or a passkey alone."""

    def post(self, request, *args, **kwargs):
        # django-axes pauses one account from one address; this pauses an address that tries many accounts.
        if limits.sign_in_paused(ip=client_ip(request)):
            response = render(request, "accounts/locked_out.html", {"whole_network": True}, status=429)
            response["Retry-After"] = str(limits.retry_after_seconds("sign-in"))
            return response
        return super().post(request, *args, **kwargs)


class PasswordResetView(auth_views.PasswordResetView):
    """The request does the same work whatever the address: rate limits, then a task queued on commit
    (apps/accounts/services.py, "password reset"); whether an account exists is never looked up here."""

    template_name = "accounts/password_reset.html"
    form_class = EmailPasswordResetForm
    success_url = reverse_lazy("accounts:password_reset_done")

    def post(self, request, *args, **kwargs):
        form = self.get_form()
        valid = form.is_valid()
        refusal = limits.password_reset_refusal(ip=client_ip(request), email=form.cleaned_data.get("email") if valid else None)
        if refusal is not None:
            form.add_error(None, refusal)
            response = self.render_to_response(self.get_context_data(form=form), status=429)
            response["Retry-After"] = str(limits.retry_after_seconds("reset"))
            return response
        if not valid:
            return self.form_invalid(form)
        password_reset_request(email=form.cleaned_data["email"])
        return HttpResponseRedirect(self.get_success_url())


class PasswordResetDoneView(auth_views.PasswordResetDoneView):
    template_name = "accounts/password_reset_done.html"


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "accounts/password_reset_confirm.html"
    success_url = reverse_lazy("accounts:password_reset_complete")


class PasswordResetCompleteView(auth_views.PasswordResetCompleteView):
    template_name = "accounts/password_reset_complete.html"


@login_required
def home(request):
    """Go to the workspace used last, the only one, or let the user pick."""
    memberships = memberships_of_user_including_cross_tenant(user=request.user)
    slugs = [m.tenant.slug for m in memberships]
    last = request.session.get("last_tenant")
    if last in slugs:
        return redirect("tenancy:home", tenant_slug=last)
    if len(slugs) == 1:
        return redirect("tenancy:home", tenant_slug=slugs[0])
    return redirect("accounts:tenant_switch")


@login_required
def tenant_switch(request):
    memberships = memberships_of_user_including_cross_tenant(user=request.user)
    return render(request, "accounts/tenant_switch.html", {"memberships": memberships})


def invitation_accept_view(request, token):
    try:
        invitation = invitation_get_by_token_including_cross_tenant(token)
    except InvitationUnusable:
        return render(request, "accounts/invitation_unusable.html", status=410)
    signed_in = request.user.is_authenticated
    form = None if signed_in else InvitationAcceptForm(request.POST or None)
    context = {"invitation": invitation, "form": form, "email_matches": signed_in and request.user.email == invitation.email}
    if request.method == "POST" and (signed_in or form.is_valid()):
        data = {} if signed_in else {"full_name": form.cleaned_data["full_name"], "password": form.cleaned_data["password1"]}
        try:
            membership = invitation_accept(raw_token=token, user=request.user if signed_in else None, **data)
        except InvitationUnusable:
            return render(request, "accounts/invitation_unusable.html", status=410)
        except ValidationError as exc:
            if form is not None:
                add_service_errors(form, _password_errors_to_field(exc))
            else:
                messages.error(request, " ".join(exc.messages))
        else:
            if not signed_in:
                login(request, membership.user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(request, f"Welcome to {invitation.tenant.name}.")
            return redirect("tenancy:home", tenant_slug=invitation.tenant.slug)
        status = 400
    else:
        status = 400 if form is not None and form.errors else 200
    response = render(request, "accounts/invitation_accept.html", context, status=status)
    response["Cache-Control"] = "no-store"
    return response


def _password_errors_to_field(exc: ValidationError) -> ValidationError:
    if hasattr(exc, "error_dict"):
        return exc
    messages_ = exc.messages
    if any("password" in m.lower() for m in messages_):
        return ValidationError({"password1": messages_})
    return exc


# --- the account's sessions (issue 21 item 4) --------------------------------------------------------

@login_required
def sessions_view(request):
    """Every browser signed in as you: device, address, signed in, last active; end any of them."""
    current = key_hash(request.session.session_key or "")
    rows = [(row, device_label(row.user_agent), row.key_hash == current) for row in sessions_active(request.user)]
    return render(request, "accounts/sessions.html", {"rows": rows, "others": sum(1 for _, _, here in rows if not here)})


@require_POST
@login_required
def session_end_view(request, uuid):
    session = get_object_or_404(UserSession, uuid=uuid, user=request.user)  # another user's session: 404
    if session.key_hash == key_hash(request.session.session_key or ""):
        messages.error(request, "This is the session you are using: sign out instead.")
    else:
        session_end(user=request.user, session=session)
        messages.success(request, f"Signed out {device_label(session.user_agent)}.")
    return redirect("accounts:sessions")


@require_POST
@login_required
def sessions_end_others_view(request):
    ended = sessions_end_others(user=request.user, current_key=request.session.session_key or "")
    messages.success(request, f"Signed out {ended} other session{'' if ended == 1 else 's'}." if ended else "No other session was active.")
    return redirect("accounts:sessions")
