"""Bootstrap a tenant in production: create it, invite its first admin by e-mail and/or make its first admin API key
(`--api-key NAME`: the secret is printed once, so a script can configure the workspace through the API)."""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from apps.accounts.services import invitation_url, member_invite
from apps.tenancy.context import tenant_context
from apps.tenancy.models import Role, Tenant
from apps.tenancy.services import api_key_create


class Command(BaseCommand):
    help = ("Create a tenant; e-mail its first admin a single-use invitation link (--admin-email) and/or create an admin API "
            "key printed once (--api-key NAME).")

    def add_arguments(self, parser):
        parser.add_argument("--name", required=True)
        parser.add_argument("--slug", required=True, help="Appears in URLs: /t/<slug>/")
        parser.add_argument("--admin-email", help="Invite this person as the first admin (a single-use link by e-mail).")
        parser.add_argument("--api-key", metavar="NAME", help="Also create an admin API key with this name; its secret is printed once.")
        parser.add_argument("--time-zone", default="UTC")
        parser.add_argument("--locale", default="en")

    def handle(self, *args, name, slug, admin_email, api_key, time_zone, locale, **options):
        if not admin_email and not api_key:
            raise CommandError("Give --admin-email, --api-key NAME, or both: a workspace needs a first admin.")
        raw_token = raw_key = None
        try:
            with transaction.atomic():  # all or nothing: the tenant, its invitation and its key
                tenant = Tenant(name=name, slug=slug, time_zone=time_zone, locale=locale)
                tenant.full_clean()
                tenant.save()
                with tenant_context(tenant):
                    if admin_email:
                        _, raw_token = member_invite(tenant=tenant, acting_user=None, email=admin_email, role=Role.ADMIN)
                    if api_key:
                        _, raw_key = api_key_create(tenant=tenant, acting_user=None, name=api_key, role=Role.ADMIN)
        except ValidationError as exc:
            raise CommandError("; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())) from exc
        self.stdout.write(self.style.SUCCESS(f"Tenant “{tenant.name}” created at /t/{tenant.slug}/."))
        if raw_token:
            self.stdout.write(f"Invitation e-mailed to {admin_email}. Link (single use): {invitation_url(raw_token)}")
        if raw_key:
            self.stdout.write(f"Admin API key “{api_key}” (shown once, keep it secret): {raw_key}")
            self.stdout.write(f"Use it as: Authorization: Bearer <key>, on /api/v1/t/{tenant.slug}/… (e.g. settings/).")
