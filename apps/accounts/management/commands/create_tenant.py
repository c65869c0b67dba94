"""Bootstrap a tenant in production: create it and invite its first admin by e-mail."""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from apps.accounts.services import invitation_url, member_invite
from apps.tenancy.context import tenant_context
from apps.tenancy.models import Role, Tenant


class Command(BaseCommand):
    help = "Create a tenant and e-mail its first admin a single-use invitation link."

    def add_arguments(self, parser):
        parser.add_argument("--name", required=True)
        parser.add_argument("--slug", required=True, help="Appears in URLs: /t/<slug>/")
        parser.add_argument("--admin-email", required=True)
        parser.add_argument("--time-zone", default="UTC")
        parser.add_argument("--locale", default="en")

    def handle(self, *args, name, slug, admin_email, time_zone, locale, **options):
        try:
            with transaction.atomic():
                tenant = Tenant(name=name, slug=slug, time_zone=time_zone, locale=locale)
                tenant.full_clean()
                tenant.save()
                with tenant_context(tenant):
                    _, raw_token = member_invite(tenant=tenant, acting_user=None, email=admin_email, role=Role.ADMIN)
        except ValidationError as exc:
            raise CommandError("; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())) from exc
        self.stdout.write(self.style.SUCCESS(f"Tenant “{tenant.name}” created at /t/{tenant.slug}/."))
        self.stdout.write(f"Invitation e-mailed to {admin_email}. Link (single use): {invitation_url(raw_token)}")
