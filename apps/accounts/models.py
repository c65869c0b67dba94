"""Users sign in with their e-mail address; invitations bring them into a tenant with a role."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.crypto import salted_hmac

from apps.core.models import PublicIdModel
from apps.tenancy.keys import TenantForeignKey
from apps.tenancy.models import Role, Team, TenantScopedModel


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create_user(self, email, password, **extra):
        if not email:
            raise ValueError("Users need an e-mail address.")
        user = self.model(email=normalize_email(email), **extra)
        user.set_password(password)
        user.full_clean(exclude=["password"])
        user.save(using=self._db)
        return user

    def create_user(self, email, password=None, **extra):
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email, password=None, **extra):
        extra.update(is_staff=True, is_superuser=True)
        return self._create_user(email, password, **extra)

    def get_by_natural_key(self, username):
        return self.get(email__iexact=username)


def normalize_email(email: str) -> str:
    """E-mail addresses are compared case-insensitively; we store them lower-cased and trimmed."""
    return (email or "").strip().lower()


class User(PublicIdModel, AbstractBaseUser, PermissionsMixin):
    """A person. Global: one login may belong to several tenants (see Membership)."""

    email = models.EmailField(unique=True)
    full_name = models.CharField(max_length=150, blank=True)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False, help_text="May use the Django admin (operators only).")
    date_joined = models.DateTimeField(default=timezone.now)
    # Bumped to end every session of this user at once (deactivation, "sign out everywhere").
    session_generation = models.PositiveIntegerField(default=0, editable=False)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        ordering = ["email"]
        constraints = [models.UniqueConstraint(Lower("email"), name="accounts_user_email_ci_unique")]

    def __str__(self) -> str:
        return self.full_name or self.email

    def clean(self):
        super().clean()
        self.email = normalize_email(self.email)

    def get_full_name(self) -> str:
        return self.full_name or self.email

    def get_short_name(self) -> str:
        return (self.full_name or self.email).split(" ")[0]

    def get_session_auth_hash(self) -> str:
        """Django checks this on every request; including the generation ends old sessions."""
        return salted_hmac(
            "apps.accounts.User.get_session_auth_hash",
            f"{self.password}:{self.session_generation}",
            algorithm="sha256",
        ).hexdigest()


class MembershipInvitation(TenantScopedModel):
    """A single-use, expiring invitation to join a tenant with a role. Only the token's hash is kept."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        ACCEPTED = "accepted", "Accepted"
        REVOKED = "revoked", "Revoked"
        EXPIRED = "expired", "Expired"

    email = models.EmailField()
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.STAFF)
    team = TenantForeignKey(Team, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    token_hash = models.CharField(max_length=64, editable=False, db_index=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    invited_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            *TenantScopedModel.Meta.constraints,
            models.UniqueConstraint(fields=["tenant", "token_hash"], name="accounts_invitation_tenant_token"),
            # At most one open invitation per address per tenant; a re-invite replaces it.
            models.UniqueConstraint(
                fields=["tenant", "email"],
                condition=models.Q(status="pending"),
                name="accounts_invitation_one_pending_per_email",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.email} as {self.get_role_display()}"

    def clean(self):
        self.email = normalize_email(self.email)
        self.validate_same_tenant("team")

    @property
    def is_usable(self) -> bool:
        return self.status == self.Status.PENDING and self.expires_at > timezone.now()


class UserSession(PublicIdModel):
    """A browser signed in as a user (issue 21 item 4): listed on the account's Sessions page, where any of them can
    be ended. The session key is kept only as its SHA-256; an ended session is signed out at its next request
    (apps/accounts/sessions.py). Global like the user: a session belongs to no workspace."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="sessions")
    key_hash = models.CharField(max_length=64, unique=True)
    user_agent = models.CharField(max_length=300, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True, help_text="The address of the latest request seen.")
    created_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(default=timezone.now)
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-last_seen_at", "-id"]
        indexes = [models.Index(fields=["user", "-last_seen_at"], name="accounts_session_user_seen")]

    def __str__(self) -> str:
        return f"{self.user} · {self.user_agent[:40]}"


class SsoConnection(TenantScopedModel):
    """A workspace's single sign-on through an OpenID Connect provider (issue 21 item 2; apps/accounts/sso/): people
    whose e-mail is at `email_domain` sign in there (authorization code with PKCE), matched to a member by e-mail or
    joined with `default_role`. The client secret is kept encrypted (apps/core/crypto.py); revealing it is audited.
    An e-mail domain signs in to one workspace only: the domain finds its row before any tenant is known."""

    issuer = models.URLField(max_length=300, help_text="The provider's issuer URL, e.g. https://login.example.com/realms/acme.")
    client_id = models.CharField(max_length=200)
    client_secret_encrypted = models.TextField(editable=False)
    email_domain = models.CharField(max_length=253, help_text="People whose e-mail ends in @this-domain sign in here.")
    default_role = models.CharField(max_length=16, choices=Role.choices, default=Role.STAFF,
                                    help_text="The role of someone who signs in for the first time.")
    require_sso = models.BooleanField(default=False, verbose_name="Require single sign-on",
                                      help_text="Members sign in only through the provider: password sign-in is refused.")
    is_enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            *TenantScopedModel.Meta.constraints,
            models.UniqueConstraint(fields=["tenant"], name="accounts_sso_one_per_tenant"),
        ]

    def __str__(self) -> str:
        return f"Single sign-on for @{self.email_domain}"
