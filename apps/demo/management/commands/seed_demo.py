import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from apps.demo.world import DEFAULT_SIZE, DEMO_PASSWORD, SHARED_USER, seed_demo


class Command(BaseCommand):
    help = "Seed the two demo tenants (idempotent: a tenant that has its world is left alone) and print the demo logins."

    def add_arguments(self, parser):
        parser.add_argument("--force", action="store_true", help="Allow seeding with DEBUG off (never in production).")
        parser.add_argument("--clients", type=int, default=DEFAULT_SIZE, help=f"Clients per new demo tenant (default {DEFAULT_SIZE}).")

    def handle(self, *args, force=False, clients=DEFAULT_SIZE, **options):
        if not settings.DEBUG and not force:
            raise CommandError("Demo data is for the local demo (DEBUG=1). Use --force if you really mean it.")
        if clients < 1:
            raise CommandError("--clients must be at least 1.")
        started = time.monotonic()
        reports = seed_demo(size=clients)
        elapsed = time.monotonic() - started
        out = self.stdout
        out.write("")
        out.write(self.style.SUCCESS(f"CXM demo is ready: http://127.0.0.1:8000/   (seed step {elapsed:.1f} s)"))
        out.write(f"Every demo login uses the password: {DEMO_PASSWORD}")
        for report in reports:
            c = report.counts
            state = "seeded now" if report.created else "already seeded, left as is"
            out.write(f"\n  {report.name} ({report.time_zone}): {state}")
            out.write(f"    {c['clients']:,} clients, {c['contacts']:,} contacts, {c['touchpoints']} touchpoints, "
                      f"{c['journeys']} journeys ({c['stages']} stages, {c['placements']} placements), "
                      f"{c['interactions']:,} interactions, {c['members']} members")
            if "surveys" in c:
                out.write(f"    {c['surveys']} surveys, {c['invitations']:,} invitations, {c['responses']:,} responses")
            for word, email in report.logins:
                if not word.startswith("staff") or word == "staff":
                    out.write(f"    {word:<7} {email}")
            more = [email for word, email in report.logins if word.startswith("staff") and word != "staff"]
            if more:
                out.write(f"    more staff: {more[0]} … {more[-1]}")
        out.write(f"\n  In both workspaces: {SHARED_USER} (CX lead at Northwind Advisory, admin at Harbor Legal)")
        out.write("  API docs: http://127.0.0.1:8000/api/docs/   Health: http://127.0.0.1:8000/health/\n")
