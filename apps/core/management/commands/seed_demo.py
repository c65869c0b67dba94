from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from apps.core.demo import DEMO_PASSWORD, SHARED_USER, seed_demo


class Command(BaseCommand):
    help = "Seed the two demo tenants (idempotent) and print the demo logins."

    def add_arguments(self, parser):
        parser.add_argument("--force", action="store_true", help="Allow seeding with DEBUG off (never in production).")

    def handle(self, *args, force=False, **options):
        if not settings.DEBUG and not force:
            raise CommandError("Demo data is for the local demo (DEBUG=1). Use --force if you really mean it.")
        logins = seed_demo()
        out = self.stdout
        out.write("")
        out.write(self.style.SUCCESS("CXM demo is ready: http://127.0.0.1:8000/"))
        out.write(f"Every demo login uses the password: {DEMO_PASSWORD}")
        for tenant, rows in logins:
            out.write(f"\n  {tenant}")
            for role, email in rows:
                out.write(f"    {role:<7} {email}")
        out.write(f"\n  In both workspaces: {SHARED_USER} (CX lead at Northwind Advisory, admin at Harbor Legal)")
        out.write("  API docs: http://127.0.0.1:8000/api/docs/   Health: http://127.0.0.1:8000/health/\n")
