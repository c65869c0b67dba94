"""Sign-in on django-allauth (issue 21 item 1): its adapters, the two-factor audit trail, and whether a
workspace's requirement of two-factor sign-in is met.

- **Sign-in** is allauth's: e-mail and password (django-axes and apps/accounts/limits.py count wrong passwords),
  then the second factor of a user who has one — an authenticator app's code, a recovery code or a passkey — or
  a passkey alone. Nobody signs up: people join a workspace by invitation (`is_open_for_signup` is False).
- **Two-factor** is allauth's MFA (TOTP, recovery codes, WebAuthn passkeys), managed on /accounts/2fa/. Every
  authenticator added, removed or reset is audited in each workspace the user belongs to.
- **A workspace may require it** (`Tenant.require_two_factor`): a member without an authenticator is sent to
  set one up at their next page of that workspace, and their API calls there are refused
  (`apps.tenancy.selectors.two_factor_missing`, asked by the page and API chokepoints).
"""

from __future__ import annotations

from allauth.account.adapter import DefaultAccountAdapter
from allauth.mfa.adapter import DefaultMFAAdapter
from allauth.mfa.models import Authenticator
from allauth.mfa.signals import authenticator_added, authenticator_removed, authenticator_reset
from django.dispatch import receiver

from apps.core.ratelimit import client_ip

PASSWORD_MISMATCH = "That e-mail and password do not match an account. Both are case-sensitive except the e-mail."
KINDS = {Authenticator.Type.TOTP: "authenticator app", Authenticator.Type.RECOVERY_CODES: "recovery codes",
         Authenticator.Type.WEBAUTHN: "passkey"}


class AccountAdapter(DefaultAccountAdapter):
    error_messages = {**DefaultAccountAdapter.error_messages, "email_password_mismatch": PASSWORD_MISMATCH}

    def is_open_for_signup(self, request) -> bool:
        return False  # members join by invitation (apps/accounts/services.py)


class MFAAdapter(DefaultMFAAdapter):
    def _get_site_name(self) -> str:
        return "CXM"

    def get_totp_label(self, user) -> str:
        return user.email


def _audit(action: str, request, user, authenticator) -> None:
    from apps.accounts.services import audit_in_each_workspace

    kind = KINDS.get(authenticator.type, authenticator.type)
    name = authenticator.wrap().name if authenticator.type == Authenticator.Type.WEBAUTHN else ""
    audit_in_each_workspace(user=user, action=action, ip_address=client_ip(request) if request is not None else None,
                            changes={"authenticator": [None, f"{kind} “{name}”" if name else kind]})


@receiver(authenticator_added, dispatch_uid="accounts.audit_mfa_added")
def _added(sender, request, user, authenticator, **kwargs) -> None:
    _audit("mfa.added", request, user, authenticator)


@receiver(authenticator_removed, dispatch_uid="accounts.audit_mfa_removed")
def _removed(sender, request, user, authenticator, **kwargs) -> None:
    _audit("mfa.removed", request, user, authenticator)


@receiver(authenticator_reset, dispatch_uid="accounts.audit_mfa_reset")
def _reset(sender, request, user, authenticator, **kwargs) -> None:
    _audit("mfa.recovery_codes_regenerated", request, user, authenticator)
