"""`manage.py rebuild_rollups [--tenant SLUG ...]`: rebuild rollups (cells, dimension rollups,
volatility transitions and the invitation funnel) from the response and invitation rows, month by
month, with a progress bar per tenant. Safe while the site runs: each month is replaced in one
transaction under the tenant's rollup lock, so dashboards see either the old or the new month."""

from __future__ import annotations

import sys
import time

from django.core.management.base import BaseCommand, CommandError

from apps.metrics.funnel.services import funnel_rebuild
from apps.metrics.rollups import local_days_rewrite, rollups_rebuild
from apps.tenancy.models import Tenant


class Command(BaseCommand):
    help = "Rebuild metrics rollups from the response rows (all tenants, or --tenant SLUG, repeatable)."

    def add_arguments(self, parser):
        parser.add_argument("--tenant", action="append", metavar="SLUG", help="Only this tenant (repeat for several).")
        parser.add_argument("--redate", action="store_true",
                            help="First re-date every response in the tenant's current time zone (after a time-zone change).")

    def handle(self, *args, tenant=None, redate=False, **options):
        tenants = Tenant.objects.filter(is_active=True).order_by("slug")
        if tenant:
            tenants = tenants.filter(slug__in=tenant)
            missing = set(tenant) - set(tenants.values_list("slug", flat=True))
            if missing:
                raise CommandError(f"No active tenant with slug {', '.join(sorted(missing))}.")
        for t in tenants:
            started = time.monotonic()
            if redate:
                local_days_rewrite(t)
            run = rollups_rebuild(t, progress=lambda done, total, t=t: self._bar(t.slug, done, total))
            funnel_rebuild(t)
            self.stdout.write("")  # end the progress line
            self.stdout.write(f"  {t.slug}: {run.rows_checked} rollup rows in {time.monotonic() - started:.1f} s")

    def _bar(self, slug: str, done: int, total: int) -> None:
        width = 30
        filled = width * done // max(total, 1)
        line = f"\r{slug:<20} [{'#' * filled}{'.' * (width - filled)}] {done}/{total} months"
        stream = self.stdout._out if hasattr(self.stdout, "_out") else sys.stdout
        stream.write(line)
        stream.flush()
